"""The jpkikit command as a user runs it: exit codes, outputs, and one clear message for user errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .cli_runner import jpkikit, no_traceback
from .conformance_runner import REPO, faulty_profile


def test_certify_default_profile_passes_and_writes_results(tmp_path: Path) -> None:
    proc = jpkikit("certify", "--results", str(tmp_path), "-k", "iso7816")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "certifying jpkikit reference emulator with" in proc.stdout
    assert "0 fail, 0 inconclusive" in proc.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert 'name="requirements" value="ISO-SEL-01"' in junit
    results = list((tmp_path / "allure-results").glob("*-result.json"))
    assert results and all(json.loads(p.read_text())["status"] in ("passed", "skipped") for p in results)
    assert (tmp_path / "allure-results" / "environment.properties").exists()
    assert len(list((tmp_path / "traces").glob("*.json"))) >= 10


def test_certify_fails_on_a_faulty_implementation(tmp_path: Path) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.faulty_iso:select_anything")
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / "r"), "-k", "iso7816")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # it breaks two iso7816 tests: the absent application and the per-channel selection
    assert "2 fail" in proc.stdout and "test_select_absent_application" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["certify", "--profile", "no/such/profile.yaml"], "jpkikit: error: no/such/profile.yaml: "),
        (["check-profile", "README.md"], "jpkikit: error: README.md: "),
        (["emulate", "--personality", "nokia"], "jpkikit: error: unknown personality 'nokia'"),
        (["replay", "README.md"], "jpkikit: error: README.md: cannot read trace"),
    ],
)
def test_user_errors_give_one_message_and_exit_2(args: list[str], message: str) -> None:
    proc = jpkikit(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    no_traceback(proc)


def test_emulate_refuses_a_corrupt_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"format": "jpkikit-emulator-state/1", "personality": "gp-se", "regis')
    proc = jpkikit("emulate", "--state", str(state))
    assert proc.returncode == 2
    assert "state.json: emulator state is corrupt" in proc.stderr
    no_traceback(proc)


def test_check_profile_accepts_every_bundled_profile() -> None:
    for path in sorted((REPO / "profiles").glob("emulator-*.yaml")):
        proc = jpkikit("check-profile", str(path))
        assert proc.returncode == 0 and "valid profile" in proc.stdout, proc.stderr


def test_replay_a_saved_trace(tmp_path: Path) -> None:
    proc = jpkikit("certify", "--results", str(tmp_path), "-k", "test_select_absent")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (trace,) = (tmp_path / "traces").glob("*.json")
    same = jpkikit("replay", str(trace))
    matched = re.search(r"(\d+) of (\d+) exchanges matched", same.stdout)
    assert same.returncode == 0 and matched and matched[1] == matched[2], same.stdout + same.stderr
    faulty = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.faulty_iso:select_anything")
    differs = jpkikit("replay", str(trace), "--profile", str(faulty))
    assert (
        differs.returncode == 1 and "DIFF" in differs.stdout and "expected 6A82, got 9000" in differs.stdout
    )


def test_emulate_gives_up_clearly_on_an_unreachable_vpcd_port() -> None:
    proc = jpkikit("emulate", "--port", "1", "--wait", "0.5", timeout=30)
    assert proc.returncode == 2
    assert "jpkikit: error: cannot connect to the vpcd driver at 127.0.0.1:1" in proc.stderr
    no_traceback(proc)
