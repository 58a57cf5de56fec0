"""Several units at once on one host: ``jpkikit certify --profile A --profile B [--jobs N] --results DIR``.

One worker process per unit, each an ordinary one-unit ``jpkikit certify`` (so each unit has the single
run's verdicts, coverage check, pre-flight, unit state and ledger, exactly as alone; on POSIX the workers
are forked from the runner, which has imported pytest and the kit and read the catalogue once), writing
``DIR/<profile name>/``; its console output goes to ``DIR/<profile name>.certify.log``. The console shows
one line per unit as it finishes and the unit's verdict summary. The exit status is the worst of the
units' (0 only when every unit's run passed). Ctrl-C (or SIGTERM) stops every worker: each gets SIGINT,
ends its run as pytest does (results and ledger written), and is killed after :data:`STOP_WITHIN` seconds.

Two profiles that reach one device (the same PC/SC reader, the same emulator state file) are refused:
two workers would open one unit. pytest-xdist inside one unit is refused for the same reason
(:func:`refuse_xdist`).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from jpkikit.errors import KitError

#: Seconds a worker has to end its run after SIGINT before it is killed.
STOP_WITHIN = 15.0
#: The pytest plugin each worker loads: it copies the unit's ledger into its results.
LEDGER_PLUGIN = "jpkikit.cli.unit_ledger"
#: The ``jpkikit`` command's main function (jpkikit.cli.main.main): arguments -> exit status.
Entry = Callable[[list[str]], int]
#: Fork the workers from the runner (POSIX), rather than start a new interpreter for each.
FORK = hasattr(os, "fork")
#: Items of an indented list (requirements without a test, ...) a unit's console summary shows.
LIST_LINES = 5
XDIST_MESSAGE = (
    "use --profile A --profile B for parallel units; xdist inside one unit would open the unit twice "
    "(and its workers' verdicts, coverage check and unit state would be lost)"
)
_XDIST = re.compile(r"^(-n\S*|--numprocesses(=.*)?|--dist(=.*)?|-d|--tx(=.*)?|--maxprocesses(=.*)?)$")


def refuse_xdist(pytest_args: Sequence[str]) -> None:
    """A pytest-xdist option among the extra pytest arguments of a certification is a usage error."""
    for arg in pytest_args:
        if _XDIST.match(arg) or arg in ("xdist", "xdist.plugin"):
            raise KitError(f"certify -- {arg}: {XDIST_MESSAGE}")


class Worker:
    """A worker forked from the runner, which has imported the kit and pytest once for every unit (a
    worker then starts its run at once). It runs ``jpkikit certify`` for its unit in a session of its own,
    its output in the unit's log, and ends with that command's exit status. The same calls as Popen's."""

    def __init__(self, argv: list[str], log: Path, entry: Entry) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            os._exit(_work(argv, log, entry))
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode


def _work(argv: list[str], log: Path, entry: Entry) -> int:
    """In the forked worker: a session of its own (Ctrl-C reaches the runner, which stops each worker),
    default signal handling, stdin from /dev/null, stdout and stderr to the log; then the one-unit run."""
    try:
        os.setsid()
        _stop_with_runner()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.close(null)
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(line_buffering=True)  # the log follows the run, for tail -f
        code = entry(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    return code


def _stop_with_runner() -> None:
    """Linux: SIGINT to this worker when the runner dies, even by SIGKILL (a CI job cancelled hard), so no
    worker goes on alone with the unit (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGINT))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _preload() -> None:
    """What every worker needs, imported once by the runner before it forks them."""
    import pytest  # noqa: F401

    import jpkikit.harness.plugin
    import jpkikit.harness.preflight
    import jpkikit.harness.unit_state
    import jpkikit.host.card_session  # noqa: F401
    from jpkikit.harness.catalogue import load_catalogue

    load_catalogue()  # read once a process while its files are unchanged: every worker finds it read


@dataclass
class Unit:
    name: str
    profile: Path
    results: Path
    log: Path
    code: int | None = None
    seconds: float = 0.0
    started: float = 0.0
    process: Worker | subprocess.Popen[bytes] | None = field(default=None, repr=False)


def _device(profile: Any) -> tuple[str, str] | None:
    """What a worker opens that another must not: a PC/SC reader, an emulator's state file."""
    transport = profile.ixit.transport
    if transport.kind == "pcsc":
        return ("PC/SC reader", str(transport.reader))
    if transport.state is not None:
        return ("emulator state file", str(Path(transport.state).resolve()))
    return None  # an in-process emulator of its own: nothing shared


def plan_units(profiles: Sequence[str], results_root: Path) -> list[Unit]:
    """Load and check every profile (one clear error before any worker starts)."""
    from jpkikit.harness.bundled import profile_path
    from jpkikit.harness.profile import load_profile
    from jpkikit.harness.seam import check_factories

    units: list[Unit] = []
    devices: dict[tuple[str, str], str] = {}
    for value in profiles:
        path = profile_path(value)
        profile = load_profile(path)
        check_factories(profile)
        name = path.stem
        if any(u.name == name for u in units):
            raise KitError(f"--profile {value}: a second unit named {name}; each unit needs its own results")
        device = _device(profile)
        if device is not None:
            if device in devices:
                raise KitError(
                    f"--profile {value}: the {device[0]} {device[1]} is also the unit of {devices[device]}; "
                    "two workers would open one unit"
                )
            devices[device] = name
        units.append(Unit(name, path.resolve(), results_root / name, results_root / f"{name}.certify.log"))
    return units


def worker_argv(unit: Unit, args: argparse.Namespace) -> list[str]:
    """The ``jpkikit`` arguments of one unit's run."""
    command = ["certify", "--profile", str(unit.profile), "--results", str(unit.results)]
    if args.keyword:
        command += ["-k", args.keyword]
    if args.plan:
        command.append("--plan")
    if args.accept_spent_tries:
        command.append("--accept-spent-tries")
    if getattr(args, "lang", None):
        command += ["--lang", args.lang]
    return [*command, "--", "-p", LEDGER_PLUGIN, *args.pytest_args]


def summary(log: Path) -> list[str]:
    """The unit's verdict summary from its console output: the ``jpkikit verdicts`` section, and pytest's
    last line (the counts and the time)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out: list[str] = []
    inside = False
    last = ""
    for line in lines:
        if re.match(r"^=+ jpkikit verdicts =+$", line):
            inside = True
            continue
        if re.search(r" in \d+(\.\d+)?s\b", line):  # pytest's last line: counts and time
            last, inside = line.strip("= "), False
        elif inside and (line.startswith("=") or line.startswith("jpkikit: ")):
            inside = False
        elif inside and line.strip():
            out.append(line)
    if last:
        out.append(last)
    if not out:  # stopped before the tests (a pre-flight, an unreachable unit): its last words
        return [line for line in lines if line.strip()][-4:]
    return _shorten(out, log)


def _shorten(lines: list[str], log: Path, keep: int = LIST_LINES) -> list[str]:
    """Indented lists (requirements without a test, unit-state differences) cut to ``keep`` items."""
    out: list[str] = []
    run = 0
    for line in lines:
        run = run + 1 if line.startswith("  ") else 0
        if run <= keep:
            out.append(line)
        elif run == keep + 1:
            out.append(f"  ... (the rest in {log})")
    return out


def _counts(lines: list[str]) -> str:
    return next((line for line in lines if re.match(r"^\d+ pass, ", line)), "")


class Runner:
    def __init__(
        self, units: list[Unit], jobs: int, args: argparse.Namespace, out: IO[str], entry: Entry
    ) -> None:
        self.entry = entry
        self.units = units
        self.jobs = max(1, jobs)
        self.args = args
        self.out = out
        self.done = 0

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def start(self, unit: Unit) -> None:
        unit.results.parent.mkdir(parents=True, exist_ok=True)
        unit.started = time.monotonic()
        if FORK:
            unit.process = Worker(worker_argv(unit, self.args), unit.log, self.entry)
            return
        with unit.log.open("wb") as log:  # the child keeps its own handle
            unit.process = subprocess.Popen(
                [sys.executable, "-m", "jpkikit", *worker_argv(unit, self.args)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # the log follows the run, for tail -f
                start_new_session=True,  # Ctrl-C reaches the runner only; it stops each worker itself
            )

    def finish(self, unit: Unit, code: int) -> None:
        unit.code = code
        unit.seconds = time.monotonic() - unit.started
        self.done += 1
        lines = summary(unit.log)
        counts = _counts(lines) or "no verdicts"
        self.say(
            f"jpkikit: [{self.done}/{len(self.units)}] {unit.name}: exit {code} in {unit.seconds:.1f} s: "
            f"{counts} -> {unit.results}/"
        )
        for line in lines:
            if line != counts:
                self.say(f"    {unit.name} | {line}")

    def run(self) -> int:
        pending = list(self.units)
        running: list[Unit] = []
        while pending or running:
            while pending and len(running) < self.jobs:
                unit = pending.pop(0)
                self.start(unit)
                running.append(unit)
            time.sleep(0.02)
            for unit in list(running):
                assert unit.process is not None
                code = unit.process.poll()
                if code is not None:
                    running.remove(unit)
                    self.finish(unit, code)
        return 0

    def stop(self) -> None:
        """Ctrl-C: SIGINT to every running worker, then kill what has not ended in STOP_WITHIN seconds."""
        running = [u for u in self.units if u.process is not None and u.code is None]
        for unit in running:
            assert unit.process is not None
            try:
                os.killpg(unit.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_WITHIN
        for unit in running:
            assert unit.process is not None
            try:
                unit.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(unit.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                unit.process.wait()
            unit.code = unit.process.returncode
        for unit in self.units:
            what = "not started" if unit.process is None else f"stopped (exit {unit.code})"
            self.say(f"jpkikit: {unit.name}: {what}")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_parallel(args: argparse.Namespace, entry: Entry, out: IO[str] | None = None) -> int:
    """``jpkikit certify`` with several ``--profile``: every unit in its own worker process. ``entry`` is
    the ``jpkikit`` command's main function, which a forked worker calls with its unit's arguments."""
    from jpkikit import __version__

    out = out or sys.stdout
    refuse_xdist(args.pytest_args)
    root = Path(args.results) if args.results else Path("results")
    units = plan_units(args.profile, root)
    jobs = args.jobs or len(units)
    if FORK:
        _preload()
    runner = Runner(units, jobs, args, out, entry)
    runner.say(
        f"jpkikit {__version__}: certifying {len(units)} units, {min(jobs, len(units))} at a time: "
        + ", ".join(u.name for u in units)
    )
    started = time.monotonic()
    previous: Callable[..., Any] | int | None = None
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread (a test): Ctrl-C handling stays the caller's
        previous = None
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.say("jpkikit: interrupted: stopping every worker")
        runner.stop()
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    seconds = time.monotonic() - started
    failed = [u for u in units if u.code]
    runner.say(
        f"jpkikit: {len(units)} units in {seconds:.1f} s: "
        + ", ".join(f"{u.name} exit {u.code}" for u in units)
        + (f"; {len(failed)} did not pass" if failed else "; every unit passed")
    )
    runner.say(f"jpkikit: results in {root}/<unit>/, console output in {root}/<unit>.certify.log")
    return max((abs(u.code or 0) for u in units), default=0)
