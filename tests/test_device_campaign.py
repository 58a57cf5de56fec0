"""A campaign as a vendor runs one, on devices the kit did not build: the emulator served through pcscd by
``jpkikit emulate`` without ``--testbed`` (an ordinary card in a reader, which the kit cannot renew).

* an ordinary unit (profiles/served-unit.yaml): PASS with the irreversible requirements not exercised,
  every PIN counter at its maximum at the end, and the unit's persisted state as before the run apart
  from what the specifications say moves (SCP03 sequence counters, the ARA-M refresh tag);
* a sacrificial unit of the same model (profiles/served-sacrificial.yaml): every requirement exercised;
* the campaign of both: PASS on every requirement but GP-LC-04, whose second transition to TERMINATED
  needs another sacrificial unit (a unit is terminated once);
* a wrong PIN in the profile: the run stops after one spent try, and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from jpkikit.host.vpcd import wait_for_card, wait_for_card_removed

from . import pcsc_support
from .cli_runner import jpkikit
from .conformance_runner import REPO

pytestmark = pytest.mark.pcsc

#: What the specifications say moves in a run that leaves a unit as found.
MOVES = ("counter", "refresh")


@contextmanager
def unit(state: Path) -> Iterator[None]:
    """A unit in the vpcd reader: `jpkikit emulate` as a vendor's device would be, not the test bed."""
    pcsc_support.require_free_slot()
    cmd = [sys.executable, "-m", "jpkikit", "emulate", "--personality", "gp-se", "--state", str(state)]
    proc = subprocess.Popen([*cmd, "--port", str(pcsc_support.PORT)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for_card(pcsc_support.READER, timeout=10)
        yield
    finally:
        proc.terminate()
        proc.wait(5)
        wait_for_card_removed(pcsc_support.READER, timeout=5)


def profile(tmp_path: Path, name: str, **secrets: str) -> Path:
    """``profiles/<name>.yaml`` with what it extends and its secrets file copied into ``tmp_path``, naming
    the vpcd reader these tests use; ``secrets`` replace values of the secrets file."""
    for file in ("emulator-gpse.yaml", "served-unit.yaml", "served-sacrificial.yaml"):
        doc = yaml.safe_load((REPO / "profiles" / file).read_text())
        if "transport" in doc.get("ixit", {}) and doc["ixit"]["transport"]["kind"] == "pcsc":
            doc["ixit"]["transport"]["reader"] = pcsc_support.READER
        (tmp_path / file).write_text(yaml.safe_dump(doc, sort_keys=False))
    values = yaml.safe_load((REPO / "profiles" / "secrets" / "served-unit.yaml").read_text())
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "secrets" / "served-unit.yaml").write_text(yaml.safe_dump({**values, **secrets}))
    return tmp_path / f"{name}.yaml"


def differences(before: object, after: object, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            d
            for k in sorted(set(before) | set(after))
            for d in differences(before.get(k), after.get(k), f"{path}.{k}")
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for d in differences(b, a, f"{path}[{i}]")
        ]
    return [] if before == after or path.rsplit(".", 1)[-1] in MOVES else [path]


def verdicts(results: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for case in json.loads(jpkikit("report", str(results), "--format", "json").stdout)["requirements"]:
        out[case["verdict"]] = out.get(case["verdict"], 0) + 1
    return out


def test_a_normal_unit_a_sacrificial_unit_and_their_campaign(tmp_path: Path) -> None:
    state_a = tmp_path / "unit-a.json"
    with unit(state_a):
        before = json.loads(state_a.read_text())
        proc = jpkikit(
            "certify", "--profile", str(profile(tmp_path, "served-unit")), "--results", str(tmp_path / "ra")
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(proc.stdout.splitlines()[-4])
    assert "0 fail, 0 inconclusive" in proc.stdout and "0 kit error" in proc.stdout
    assert " not exercised, " in proc.stdout and "the unit was left as found" in proc.stdout
    state = json.loads((tmp_path / "ra" / "unit-state.json").read_text())
    assert state["differences"] == []
    assert (
        state["after"]["JPKI auth PIN tries left"] == "3"
        and state["after"]["JPKI sign PIN tries left"] == "5"
    )
    assert differences(before, json.loads(state_a.read_text())) == []
    report = jpkikit("report", str(tmp_path / "ra")).stdout
    assert "Certification verdict: PASS" in report and "left for another unit" in report

    with unit(tmp_path / "unit-b.json"):
        proc = jpkikit(
            "certify",
            "--profile",
            str(profile(tmp_path, "served-sacrificial")),
            "--results",
            str(tmp_path / "rb"),
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # everything runs but TERMINATED from CARD_LOCKED: a unit is terminated once (GP-LC-04 from SECURED ran)
    counts = "0 fail, 0 inconclusive" in proc.stdout and "1 not exercised, 0 kit error" in proc.stdout
    assert counts, proc.stdout[-3000:]

    campaign = jpkikit("campaign", str(tmp_path / "ra"), str(tmp_path / "rb"), "--format", "json")
    combined = json.loads(campaign.stdout)
    assert campaign.returncode == 0, campaign.stderr
    assert combined["certification"]["verdict"] == "PASS"
    left = {r["id"] for r in combined["requirements"] if r["verdict"] not in ("pass", "not applicable")}
    assert left == {"GP-LC-04"}, left  # its CARD_LOCKED transition waits for another sacrificial unit
    print(f"campaign: {combined['certification']['rule']}")


def test_a_wrong_pin_stops_after_one_try(tmp_path: Path) -> None:
    (tmp_path / "wrong").mkdir()
    (tmp_path / "right").mkdir()
    state = tmp_path / "unit-c.json"
    with unit(state):
        started = time.monotonic()
        proc = jpkikit(
            "certify",
            "--profile",
            str(profile(tmp_path / "wrong", "served-unit", auth_pin="1235")),
            "--results",
            str(tmp_path / "rc"),
        )
        assert time.monotonic() - started < 60
        good = profile(tmp_path / "right", "served-unit")
        probe = jpkikit("check-profile", "--probe", "--accept-spent-tries", str(good))
    assert proc.returncode == 2
    assert "the profile's auth PIN (ixit.secrets.auth_pin) is wrong: 1 try spent, 2 left" in proc.stdout
    assert "1235" not in proc.stdout + proc.stderr
    assert "auth PIN: 2 of 3 tries left" in probe.stdout and probe.returncode == 0  # one try, no more
