"""The wheel ships every package of the kit: jpkikit's own, and the conformance suite, the profiles and the
vectors mapped in from the top of the checkout (pyproject.toml). A package missing from the list would be
absent from an installed kit, which tox -e installed (a wheel in a fresh venv) would show too late."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAPPED = {"jpkikit": "jpkikit", "jpkikit.conformance": "conformance", "jpkikit.profiles": "profiles"}
MAPPED["jpkikit.vectors"] = "vectors"


def _packages_on_disk() -> set[str]:
    found = set()
    for name, folder in MAPPED.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            found.add(".".join([name, *relative.parts]))
    return found


def test_every_package_is_in_the_wheel() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(setuptools["packages"]) == _packages_on_disk()
    assert {k: v for k, v in setuptools["package-dir"].items()} == {
        k: v for k, v in MAPPED.items() if k != "jpkikit"
    }


def test_no_data_folder_without_a_package() -> None:
    """A folder of data files inside a package needs a package-data pattern; the requirement catalogue's
    folder is the one such folder today."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "requirements/*.yaml" in setuptools["package-data"]["jpkikit.harness"]
