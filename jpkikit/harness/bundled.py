"""Where the kit's bundled parts are, in a checkout or an installed kit alike: the conformance suite, the
profiles and the known-answer vectors ship as the packages ``jpkikit.conformance``, ``jpkikit.profiles`` and
``jpkikit.vectors`` (pyproject.toml maps them to the checkout's top-level folders)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from jpkikit.errors import KitError

DEFAULT_PROFILE_NAME = "emulator-gpse"


def _folder(package: str) -> Path:
    path = Path(str(files(package)))
    if not path.is_dir():
        raise KitError(f"the kit's {package} is missing ({path}); reinstall jpkikit")
    return path


def suite_dir() -> Path:
    """The conformance tests (pytest), by area."""
    return _folder("jpkikit.conformance")


def profiles_dir() -> Path:
    return _folder("jpkikit.profiles")


def vectors_dir() -> Path:
    return _folder("jpkikit.vectors")


def bundled_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.yaml"))


def profile_path(value: str | None) -> Path:
    """A profile file: ``value`` as a path when that file exists, else the bundled profile of that name
    (``emulator-gpse`` or ``emulator-gpse.yaml``); no value: the bundled GP-SE emulator profile."""
    if not value:
        return profiles_dir() / f"{DEFAULT_PROFILE_NAME}.yaml"
    given = Path(value)
    if given.exists() or given.parent != Path("."):
        return given
    bundled = profiles_dir() / f"{given.stem}.yaml"
    return bundled if bundled.is_file() else given
