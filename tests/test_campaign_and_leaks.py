"""Campaigns over units of one model (jpkikit.report.campaign), and no secret in any artefact of a failing
run: terminal, JUnit XML, Allure results, traces, the unit state, the report and the bundle."""

from __future__ import annotations

from pathlib import Path

import yaml

from jpkikit.harness.verdict import Verdict
from jpkikit.report.verdicts import TestOutcome, combine
from jpkikit.secrets import find_leaks

from .cli_runner import jpkikit
from .conformance_runner import REPO
from .faulty_jpki import LAB_PINS

NE, P, F, NA = Verdict.NOT_EXERCISED, Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE


def outcome(nodeid: str, verdict: Verdict) -> TestOutcome:
    return TestOutcome(nodeid, verdict, ("R-1",))


def test_combine_takes_what_one_run_did_not_exercise_from_another() -> None:
    normal = [outcome("a", P), outcome("b", NE), outcome("c", NE), outcome("d", NA)]
    sacrificial = [outcome("a", P), outcome("b", P), outcome("c", F), outcome("d", NA)]
    got = {o.nodeid: o.verdict for o in combine([normal, sacrificial])}
    assert got == {"a": P, "b": P, "c": F, "d": NA}
    assert {o.nodeid: o.verdict for o in combine([normal, normal])}["b"] is NE


def _profile(tmp_path: Path, name: str, **ixit: object) -> Path:
    doc = yaml.safe_load((REPO / "profiles" / "emulator-gpse.yaml").read_text())
    doc["ixit"].update(ixit)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_campaign_of_a_normal_and_a_sacrificial_unit_passes_every_requirement(tmp_path: Path) -> None:
    normal = _profile(tmp_path, "normal", unit={"sacrificial": False})
    sacrificial = _profile(tmp_path, "sacrificial", unit={"sacrificial": True})
    for profile, results in ((normal, "ra"), (sacrificial, "rb")):
        proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / results))
        assert proc.returncode == 0, proc.stdout
    alone = jpkikit("report", str(tmp_path / "ra"), "--profile", str(normal))
    assert "left for another unit" in alone.stdout
    proc = jpkikit("campaign", str(tmp_path / "ra"), str(tmp_path / "rb"), "-o", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Certification verdict: PASS" in proc.stdout and "left for another unit" not in proc.stdout
    assert (tmp_path / "c" / "campaign.json").is_file()


def test_a_campaign_refuses_runs_of_another_model(tmp_path: Path) -> None:
    other = _profile(tmp_path, "other")
    text = other.read_text().replace("name: jpkikit reference emulator", "name: another phone")
    other.write_text(text)
    for profile, results in ((_profile(tmp_path, "one"), "ra"), (other, "rb")):
        jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / results), "-k", "ISO")
    proc = jpkikit("campaign", str(tmp_path / "ra"), str(tmp_path / "rb"))
    assert proc.returncode == 2 and "a campaign combines units of one model" in proc.stderr


SECRETS = {f"{k}_pin": v for k, v in LAB_PINS.items()}


def test_a_failing_run_leaks_no_secret_anywhere(tmp_path: Path) -> None:
    """Lab secrets from a file (not test: values), a faulty applet that fails the PIN tests, pytest's -l
    locals on, and every artefact searched for every form of the secrets and of the wrong PINs the tests
    derive from them."""
    from conformance.jpki.support import other_value, rule_breakers
    from jpkikit.harness.profile import load_profile

    (tmp_path / "lab-secrets.yaml").write_text(yaml.safe_dump(SECRETS))
    doc = yaml.safe_load((REPO / "profiles" / "emulator-gpse.yaml").read_text())
    doc["ixit"]["transport"] = {"kind": "emulator", "factory": "tests.faulty_jpki:no_decrement_lab_pins"}
    for name in SECRETS:
        doc["ixit"]["secrets"][name] = f"file:lab-secrets.yaml#{name}"
    profile = tmp_path / "lab.yaml"
    profile.write_text(yaml.safe_dump(doc, sort_keys=False))
    results = tmp_path / "r"
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(results), "-k", "jpki", "--", "-l")
    assert proc.returncode == 1 and " fail," in proc.stdout and "0 kit error" in proc.stdout, proc.stdout
    loaded = load_profile(profile)
    values = {}
    for pair in ("auth", "sign"):
        right = loaded.secret(f"{pair}_pin")
        rules = getattr(loaded.ics.jpki, f"{pair}_pin")
        derived = [other_value(right, rules, step) for step in (1, 2, 3)]
        derived += [
            right.derive("lowercase", str.lower),
            *(v for v, _ in rule_breakers(right, rules).values()),
        ]
        values[right.reveal()] = f"{pair}_pin"
        for d in derived:
            values.setdefault(d.reveal(), d.name)
    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in results.rglob("*"):
        if path.is_file():
            texts[str(path.relative_to(results))] = path.read_text(encoding="utf-8", errors="replace")
    leaks = {where: find_leaks(text, values) for where, text in texts.items()}
    assert not {where: found for where, found in leaks.items() if found}
    lab = tmp_path / "lab"
    assert jpkikit("keygen", "-o", str(lab)).returncode == 0
    bundle = jpkikit("bundle", str(results), "--key", f"{lab}.key", "-o", str(tmp_path / "c.tar"))
    assert bundle.returncode == 0, bundle.stderr
