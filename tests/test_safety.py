"""The safety kernel (jpkikit.harness.safety): costs, what a unit allows, not exercised, the plan and the
order of a run; and the pre-flight (jpkikit.harness.preflight) before anything is spent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jpkikit.harness.safety import REVERSIBLE, Cost, Effect, cost_of, policy
from jpkikit.harness.verdict import NOT_EXERCISED_PREFIX

from .cli_runner import jpkikit, no_traceback
from .conformance_runner import REPO


class Unit:
    def __init__(self, sacrificial: bool = False, allows: tuple[str, ...] = ()) -> None:
        self.sacrificial, self.allows = sacrificial, allows


def test_an_ordinary_unit_allows_what_the_tests_undo() -> None:
    p = policy(None, renewable=False)
    assert p.allowed == REVERSIBLE
    assert p.decide(cost_of(("pin-tries", "pin-change"))) is None
    why = p.decide(cost_of(("pin-block",), renewable=True))
    assert why is not None and "blocks a PIN" in why and "sacrificial" in why


def test_a_sacrificial_unit_allows_everything_or_what_it_lists() -> None:
    assert policy(Unit(sacrificial=True), renewable=False).decide(cost_of(("terminate",))) is None
    narrow = policy(Unit(sacrificial=True, allows=("pin-tries",)), renewable=False)
    why = narrow.decide(cost_of(("card-lock",)))
    assert why is not None and "add card-lock to ixit.unit.allows" in why


def test_a_renewable_test_runs_where_the_kit_can_renew_the_card() -> None:
    assert policy(None, renewable=True).decide(cost_of(("pin-block",), renewable=True)) is None
    assert policy(None, renewable=True).decide(cost_of(("card-lock",))) is not None


def test_unknown_effects_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown effect 'pin-blok'"):
        cost_of(("pin-blok",))


def test_irreversible_tests_run_last_in_the_kernels_order() -> None:
    ranks = [
        cost_of((e,)).rank() for e in ("pin-tries", "credentials", "card-lock", "pin-block", "terminate")
    ]
    assert ranks == sorted(ranks) and ranks[0] == Cost().rank()


def test_the_schema_offers_every_effect() -> None:
    schema = json.loads((REPO / "jpkikit" / "harness" / "profile.schema.json").read_text())
    assert set(
        schema["properties"]["ixit"]["properties"]["unit"]["properties"]["allows"]["items"]["enum"]
    ) == {e.value for e in Effect}


def _ordinary(tmp_path: Path, **unit: object) -> Path:
    """The in-process GP-SE emulator profile, but an ordinary unit (or what ``unit`` says)."""
    doc = yaml.safe_load((REPO / "profiles" / "emulator-gpse.yaml").read_text())
    doc["ixit"]["unit"] = {"sacrificial": False, **unit}
    doc["extends"] = None
    del doc["extends"]
    for section in ("gp",):
        doc["ixit"][section]["test_package"]["load_file"] = (
            "package:jpkikit.reference.emulator.gp/test-package.lf"
        )
    path = tmp_path / "ordinary.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_plan_lists_costs_and_touches_nothing(tmp_path: Path) -> None:
    proc = jpkikit(
        "certify", "--plan", "--profile", str(_ordinary(tmp_path)), "--results", str(tmp_path / "r")
    )
    no_traceback(proc)
    out = proc.stdout
    assert "jpkikit plan (nothing was sent to the unit)" in out
    assert "test_card_locked\n    cost: locks the card\n    " + NOT_EXERCISED_PREFIX in out
    assert "test_exhausted_counter" in out and "exhausts an SCP03 key set's sequence counter" in out
    assert "test_select_absent_application\n    cost: reads only\n    runs" in out
    assert not list((tmp_path / "r" / "traces").glob("*.json")), "the plan sent APDUs"


def test_not_exercised_is_its_own_verdict_and_the_run_still_passes(tmp_path: Path) -> None:
    results = tmp_path / "r"
    proc = jpkikit("certify", "--profile", str(_ordinary(tmp_path)), "--results", str(results))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 fail, 0 inconclusive" in proc.stdout and "2 not exercised" in proc.stdout
    report = jpkikit("report", str(results), "--profile", str(_ordinary(tmp_path)))
    assert "2 left for another unit (not exercised here): GP-LC-02, GP-LC-03" in report.stdout


def test_preflight_stops_a_wrong_pin_after_one_try(tmp_path: Path) -> None:
    profile = _ordinary(tmp_path)
    text = profile.read_text().replace("test:1234", "test:1235")
    profile.write_text(text)
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / "r"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the profile's auth PIN (ixit.secrets.auth_pin) is wrong: 1 try spent, 2 left" in proc.stdout
    assert "requirement coverage" not in proc.stdout and "no verdicts: the run stopped" in proc.stdout
    assert "1235" not in proc.stdout + proc.stderr
    probe = jpkikit("check-profile", "--probe", str(profile))
    assert probe.returncode == 2 and "is wrong: 1 try spent" in probe.stdout


def test_a_declared_identity_refuses_another_unit(tmp_path: Path) -> None:
    profile = _ordinary(tmp_path, identity={"atr": "3B00"})
    proc = jpkikit("check-profile", "--probe", str(profile))
    assert proc.returncode == 2
    assert "this is not the declared unit: ixit.unit.identity.atr is 3B00, the unit gives 3B8C" in proc.stdout


def test_a_factory_that_does_not_import_is_one_clear_error(tmp_path: Path) -> None:
    doc = yaml.safe_load(_ordinary(tmp_path).read_text())
    doc["ixit"]["transport"]["factory"] = "tests.no_such_module:card"
    path = tmp_path / "bad-factory.yaml"
    path.write_text(yaml.safe_dump(doc))
    proc = jpkikit("certify", "--profile", str(path), "--results", str(tmp_path / "r"))
    assert proc.returncode == 2 and proc.stdout.count("kit error") == 0
    assert "factory 'tests.no_such_module:card': cannot import 'tests.no_such_module'" in proc.stderr
    no_traceback(proc)
