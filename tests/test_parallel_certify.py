"""``jpkikit certify --profile A --profile B``: several units at once, one worker process per unit
(jpkikit/cli/parallel.py), each with its own results, unit state and ledger; xdist refused; Ctrl-C stops
every worker."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jpkikit.cli.main import main
from jpkikit.cli.parallel import XDIST_MESSAGE, plan_units, refuse_xdist, summary
from jpkikit.errors import KitError
from jpkikit.harness import ledger

ROOT = Path(__file__).resolve().parents[1]
TWO_UNITS = ["--profile", "emulator-gpse", "--profile", "emulator-sim"]
KEYWORD = "test_select"  # a few ISO 7816 SELECT tests: the parallel machinery, not the suite, is under test
DOTS = re.compile(r"^[.sFEx]{3,}", re.M)  # pytest's progress: the worker's tests are running


def certify(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jpkikit", "certify", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def faulty_profile(tmp_path: Path) -> Path:
    """The GP-SE emulator with one fault of the catalogue (tests/faults/iso7816.yaml)."""
    path = tmp_path / "faulty-gpse.yaml"
    path.write_text(
        f"extends: {ROOT / 'profiles' / 'emulator-gpse.yaml'}\n"
        "ixit:\n"
        "  transport:\n"
        "    kind: emulator\n"
        "    personality: gp-se\n"
        "    factory: tests.faulty_iso:failed_select_clears_other_channels\n",
        encoding="utf-8",
    )
    return path


def test_two_units_in_parallel_each_with_results_unit_state_and_ledger(tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = certify(
        "--profile", "emulator-gpse", "--profile", "emulator-sim", "-k", KEYWORD, "--results", str(out)
    )
    text = proc.stdout
    assert proc.returncode == 0, text + proc.stderr
    assert "certifying 2 units, 2 at a time: emulator-gpse, emulator-sim" in text
    assert "[1/2]" in text and "[2/2]" in text
    for name, implementation in (
        ("emulator-gpse", "jpkikit reference emulator (gp-se)"),
        ("emulator-sim", "jpkikit reference emulator (SIM) (sim)"),
    ):
        unit = out / name
        assert (unit / "junit.xml").is_file()
        assert (unit / "allure-results" / "environment.properties").is_file()
        state = json.loads((unit / "unit-state.json").read_text())
        assert state["differences"] == []
        runs = json.loads((unit / "ledger.json").read_text())["runs"]
        assert runs[-1]["ended"] is True  # the run's last entry, written before the copy
        assert (out / f"{name}.certify.log").is_file()
        # the unit's own summary, as the one-unit run prints it
        assert f"{name} | implementation: {implementation}" in text
        assert f"{name} | requirement" in text  # coverage: the -k run leaves most untested
        assert f"{name} | the unit was left as found" in text
    assert "every unit passed" in text


def test_one_failing_unit_fails_the_run_and_the_other_still_passes(tmp_path: Path) -> None:
    out = tmp_path / "r"
    faulty = faulty_profile(tmp_path)
    proc = certify(
        "--profile",
        "emulator-sim",
        "--profile",
        str(faulty),
        "-k",
        "test_selection_is_per_channel",
        "--results",
        str(out),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "faulty-gpse: exit 1" in proc.stdout
    assert "emulator-sim: exit 0" in proc.stdout
    assert "1 did not pass" in proc.stdout
    assert "1 fail" in proc.stdout


def test_the_single_profile_command_is_unchanged(tmp_path: Path) -> None:
    proc = certify("--profile", "emulator-sim", "-k", KEYWORD, "--results", str(tmp_path / "one"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("jpkikit 0.1.0: certifying jpkikit reference emulator (SIM) with ")
    assert "jpkikit verdicts" in proc.stdout
    assert "certifying 1 units" not in proc.stdout
    assert not (tmp_path / "one" / "ledger.json").exists()  # only parallel workers copy the ledger


@pytest.mark.parametrize("args", [["-n", "2"], ["-n2"], ["--numprocesses=auto"], ["--dist", "load"]])
def test_xdist_inside_one_unit_is_a_clear_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certify", "--profile", "emulator-sim", "--", *args]) == 2
    err = capsys.readouterr().err
    assert XDIST_MESSAGE in err
    assert "Traceback" not in err


def test_xdist_refused_in_parallel_mode_too() -> None:
    with pytest.raises(KitError, match="xdist inside one unit would open the unit twice"):
        refuse_xdist(["-q", "-n", "4"])
    refuse_xdist(["-q", "-x", "--tb=short"])  # ordinary pytest options pass


def test_two_profiles_of_one_name_or_one_reader_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KitError, match="a second unit named emulator-gpse"):
        plan_units(["emulator-gpse", "emulator-gpse"], tmp_path)
    # both profiles reach the PC/SC reader "Virtual PCD 00 01": two workers would open one unit
    with pytest.raises(KitError, match="two workers would open one unit"):
        plan_units(["served-unit", "served-sacrificial"], tmp_path)


def test_a_bad_profile_stops_before_any_worker_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: jpkikit-profile/1\n", encoding="utf-8")
    code = main(
        ["certify", "--profile", "emulator-sim", "--profile", str(bad), "--results", str(tmp_path / "r")]
    )
    assert code == 2
    assert "jpkikit: error:" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _two_units_running(out: Path, **output: Any) -> tuple[subprocess.Popen[str], list[Path]]:
    """``jpkikit certify`` of TWO_UNITS into ``out``, once both workers run tests (their logs show progress
    dots, or 60 s have passed); the runner and the two workers' logs."""
    runner = subprocess.Popen(
        [sys.executable, "-m", "jpkikit", "certify", *TWO_UNITS, "--results", str(out)],
        cwd=ROOT,
        text=True,
        **output,
    )
    logs = [out / "emulator-gpse.certify.log", out / "emulator-sim.certify.log"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(p.is_file() and DOTS.search(p.read_text()) for p in logs):
        time.sleep(0.05)
    return runner, logs


def test_ctrl_c_stops_every_worker(tmp_path: Path) -> None:
    runner, logs = _two_units_running(tmp_path / "r", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        runner.send_signal(signal.SIGINT)  # Ctrl-C while both workers run tests
        text, _ = runner.communicate(timeout=40)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130, text
    assert "interrupted: stopping every worker" in text
    assert "emulator-gpse: stopped" in text and "emulator-sim: stopped" in text
    assert "Traceback" not in text
    # the workers ended their runs as pytest does on Ctrl-C: gone, and their results written
    for log in logs:
        assert "KeyboardInterrupt" in log.read_text()
        assert (log.with_suffix("").with_suffix("") / "junit.xml").is_file()


def test_summary_takes_the_verdict_section_and_the_last_line(tmp_path: Path) -> None:
    log = tmp_path / "u.log"
    log.write_text(
        "jpkikit 0.1.0: certifying x with y\n....s [100%]\n"
        "=============================== jpkikit verdicts ===============================\n"
        "implementation: x (gp-se)\n"
        "4 pass, 0 fail, 0 inconclusive, 1 not applicable, 0 not exercised, 0 kit error\n"
        "requirement coverage: every applicable requirement has a test\n"
        "4 passed, 1 skipped in 1.20s\n"
        "jpkikit: results in r/ (allure-results/, junit.xml, traces/)\n",
        encoding="utf-8",
    )
    assert summary(log) == [
        "implementation: x (gp-se)",
        "4 pass, 0 fail, 0 inconclusive, 1 not applicable, 0 not exercised, 0 kit error",
        "requirement coverage: every applicable requirement has a test",
        "4 passed, 1 skipped in 1.20s",
    ]


def _record_many(path: str, worker: int) -> None:
    for index in range(25):
        ledger.record(Path(path), {"atr": "3B00"}, {"worker": worker, "index": index})


def test_workers_sharing_a_ledger_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "ledger" / "unit.json"
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    workers = [context.Process(target=_record_many, args=(str(path), w)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    runs = json.loads(path.read_text())["runs"]
    assert sorted((r["worker"], r["index"]) for r in runs) == [(w, i) for w in range(2) for i in range(25)]


def test_workers_stop_when_the_runner_is_killed(tmp_path: Path) -> None:
    """A runner killed hard (SIGKILL: a CI job cancelled) takes its workers with it (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    runner, logs = _two_units_running(tmp_path / "r", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children = [
        int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent_of(int(pid)) == runner.pid
    ]
    assert len(children) == 2
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)
    for log in logs:  # interrupted by the runner's death, not ended by running to the end
        assert "KeyboardInterrupt" in log.read_text()


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
