"""The reference handset behaves as each Android release the ICS may state (ics.handset.android_api), and the
handset suite expects what that release does: the whole suite passes on every bundled handset profile at the
older API levels the kit distinguishes (docs/android-behaviours.md). An SE issued for Android 9 holds SHA-1
rules only (API 28 cannot parse a SHA-256 Hash-REF-DO), so the API 28 profiles declare those."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conformance_runner import REPO, outcome, run_conformance

pytest_plugins = ["pytester"]
PROFILES = ("reference-handset", "reference-handset-sim", "reference-handset-sim-aram")


def _rules(name: str) -> list[dict[str, object]]:
    while True:
        doc = yaml.safe_load((REPO / "profiles" / f"{name}.yaml").read_text())
        rules = (doc.get("ics", {}).get("aram") or {}).get("rules")
        if rules is not None:
            return list(rules)
        name = str(doc["extends"]).removesuffix(".yaml")


@pytest.mark.parametrize("api", [28, 29, 30])
@pytest.mark.parametrize("name", PROFILES)
def test_suite_passes_at_older_api_levels(
    pytester: pytest.Pytester, tmp_path: Path, name: str, api: int
) -> None:
    ics: dict[str, object] = {"handset": {"android_api": api}}
    if api < 29:
        ics["aram"] = {"rules": [r for r in _rules(name) if len(str(r.get("hash", ""))) != 64]}
    doc = {
        "schema": "jpkikit-profile/1",
        "extends": str(REPO / "profiles" / f"{name}.yaml"),
        "ics": ics,
        "ixit": {"transport": {"kind": "emulator"}},
    }
    path = tmp_path / f"{name}-{api}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    counts = outcome(run_conformance(pytester, path, "conformance/handset"))
    assert set(counts) <= {"passed", "skipped"} and counts.get("passed", 0) >= 55, counts
