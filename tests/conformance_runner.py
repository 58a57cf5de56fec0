"""Run conformance tests against a (faulty) implementation from inside the kit's unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Imported here once, so that pytester's in-process runs (which drop modules imported during a run) do
# not import and assertion-rewrite them again for every run.
import hypothesis  # noqa: F401  (its pytest plugin imports it at the end of each run)
import pytest
import yaml

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
    return pytester.runpytest_inprocess(str(REPO / node), f"--profile={profile}", *QUIET)


# jpkikit is imported before pytester's run marks it for assertion rewriting (an editable install makes
# pytest warn about that); the conformance tests themselves are still rewritten.
QUIET = (
    "-p",
    "no:cacheprovider",
    f"--rootdir={REPO}",
    "-q",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)


def outcome(result: pytest.RunResult) -> dict[str, int]:
    """Test outcomes of a run (passed, failed, skipped, errors), without the warnings count."""
    counts = result.parseoutcomes()
    counts.pop("warnings", None)
    return counts


def assert_fails_on_variant(
    pytester: pytest.Pytester, tmp_path: Path, node: str, base: str, factory: str
) -> None:
    """``node`` passes on the reference emulator (profile ``base``) and fails on the ``factory`` variant."""
    good = run_conformance(pytester, REPO / "profiles" / base, node)
    assert outcome(good) == {"passed": 1}, f"{node} must pass on the reference emulator ({base})"
    bad = run_conformance(pytester, faulty_profile(tmp_path, base, factory), node)
    assert outcome(bad) == {"failed": 1}, f"{node} did not fail on the faulty variant {factory}"


def conformance_test_names(folder: str) -> set[str]:
    """Every ``folder/test_x.py::test_y`` function in a conformance folder (relative to the repo)."""
    import ast

    return {
        f"{folder}/{path.name}::{node.name}"
        for path in (REPO / folder).glob("test_*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
