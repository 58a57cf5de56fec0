"""Run conformance tests against a (faulty) implementation from inside the kit's unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

# Imported here once, so that pytester's in-process runs (which drop modules imported during a run) do
# not import and assertion-rewrite them again for every run.
import hypothesis  # noqa: F401  (its pytest plugin imports it at the end of each run)
import jpkikit.connect  # noqa: F401
import jpkikit.session  # noqa: F401
import jpkikit.spec.catalogue  # noqa: F401
import jpkikit.spec.profile  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


def faulty_profile(tmp_path: Path, base: str, factory: str, **ics_changes: Any) -> Path:
    """A copy of ``profiles/<base>`` whose in-process card comes from ``factory``."""
    doc = yaml.safe_load((REPO / "profiles" / base).read_text())
    transport = doc["ixit"]["transport"]
    transport.clear()
    transport.update(kind="emulator", factory=factory, personality=doc["ics"]["personality"])
    doc["implementation"]["name"] = f"faulty variant {factory}"
    for dotted, value in ics_changes.items():
        node = doc["ics"]
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    path = tmp_path / f"faulty-{factory.rpartition(':')[2]}-{base}"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_conformance(pytester: pytest.Pytester, profile: Path, node: str) -> pytest.RunResult:
    """Run one conformance test node (``conformance/...::test``) against ``profile``."""
    return pytester.runpytest_inprocess(
        str(REPO / node), f"--profile={profile}", "-p", "no:cacheprovider", f"--rootdir={REPO}", "-q"
    )


def outcome(result: pytest.RunResult) -> dict[str, int]:
    return result.parseoutcomes()
