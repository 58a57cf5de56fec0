"""Profiles that extend another: merge rules, identity, and errors naming the right file."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import load_profile

from .conformance_runner import REPO

GPSE = REPO / "profiles" / "emulator-gpse.yaml"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_extending_profile_takes_the_base_and_overrides(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", GPSE.read_text())
    child = write(
        tmp_path / "child.yaml",
        """
schema: jpkikit-profile/1
extends: base.yaml
implementation: {name: derived}
ics:
  iso7816: {logical_channels: 2}
ixit:
  transport: {kind: emulator, personality: sim}
""",
    )
    parent, derived = load_profile(base), load_profile(child)
    assert derived.implementation.name == "derived"
    assert derived.implementation.vendor == parent.implementation.vendor, "unchanged fields are inherited"
    assert derived.ics.iso7816.logical_channels == 2
    assert derived.ics.iso7816.extended_length == parent.ics.iso7816.extended_length, "mappings merge"
    assert derived.ics.jpki == parent.ics.jpki
    assert derived.ixit.transport.personality == "sim"
    assert derived.identity()["sha256"] != parent.identity()["sha256"]
    write(base, GPSE.read_text().replace('version: "0.1.0"', 'version: "0.1.1"'))
    assert load_profile(child).identity()["sha256"] != derived.identity()["sha256"], "base changes count"


def test_transport_is_replaced_whole(tmp_path: Path) -> None:
    write(
        tmp_path / "base.yaml", GPSE.read_text().replace("kind: emulator", "kind: emulator\n    factory: a:b")
    )
    child = write(
        tmp_path / "child.yaml",
        """
schema: jpkikit-profile/1
extends: base.yaml
ixit:
  transport: {kind: emulator, personality: gp-se}
""",
    )
    assert load_profile(child).ixit.transport.factory is None, "no field of the base's transport leaks in"


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({"a.yaml": "extends: a.yaml\n"}, "a.yaml: extends: profiles extend each other in a loop"),
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}, "extend each other in a loop"),
        ({"a.yaml": "extends: missing.yaml\n"}, "missing.yaml: <document>: file not found"),
        ({"a.yaml": "extends: 3\n"}, "a.yaml: extends: must be the path of another profile"),
        ({"a.yaml": "extends: b.yaml\n", "b.yaml": "- a list\n"}, "b.yaml: <document>: a profile must be"),
    ],
)
def test_extends_errors_name_the_file(tmp_path: Path, files: dict[str, str], needle: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(ProfileError) as info:
        load_profile(tmp_path / "a.yaml")
    assert needle in str(info.value)


def test_merged_profile_is_validated(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", GPSE.read_text())
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nics:\n  iso7816: {logical_channels: 0}\n")
    with pytest.raises(ProfileError, match=r"child\.yaml: ics\.iso7816\.logical_channels: must be between 1"):
        load_profile(child)
