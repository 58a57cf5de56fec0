"""``jpkikit mutate``: black-box mutation of a unit on the wire (docs/mutation.md).

* ``mutate list``: the mutant library.
* ``mutate serve``: one mutant of the unit in a vpcd reader, for any PC/SC client.
* ``mutate run``: the suite against every mutant of the unit, the kill rate, and a report
  (``mutation.md``, ``mutation.json``).

A run is a series of certification runs against the unit (one per mutant, each ``jpkikit certify`` with a
copy of the profile that names the proxy's reader), so the profile's ``ixit.unit`` decides what is exercised
exactly as in a certification. Between two mutants the unit is read back through the unmutated link and
the campaign stops when it is not as it was found. A unit that is the kit's in-process emulator needs no
PC/SC: the copy of its profile names the factory :func:`mutated_emulator` (the emulator behind the proxy)
and the mutant travels in :data:`MUTANT_ENV`. ``register(sub)`` adds the command to the main parser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jpkikit import __version__
from jpkikit.errors import KitError

#: The vpcd slots of the default driver configuration (docs: jpkikit/host/vpcd.py).
VPCD_PORTS = (35963, 35964)
#: Seconds allowed to the identity run, and the least any mutant gets (the default deadline of a mutant is
#: three times the identity run, at least this).
IDENTITY_DEADLINE = 1800.0
MIN_DEADLINE = 30.0
REPORT_STEM = "mutation"
_LOG = logging.getLogger("jpkikit.mutation")
#: The environment variable that names the mutant of an in-process certification run (JSON: id, params,
#: the unit profile's own factory, the bound of its link (the unit profile's ``ixit.transport.timeout``, or
#: null), the file the proxies' counts are appended to); read by :func:`mutated_emulator`.
MUTANT_ENV = "JPKI_MUTANT"
#: The factory (``ixit.transport.factory``) of the derived profile of an in-process run.
MUTATED_FACTORY = "jpkikit.cli.mutation:mutated_emulator"


def register(sub: Any) -> None:
    p = sub.add_parser("mutate", help="black-box mutation: the suite against mutants of a unit's answers")
    msub = p.add_subparsers(dest="mutate_command", required=True, metavar="ACTION")

    q = msub.add_parser("list", help="the mutant library")
    q.add_argument("--format", choices=("text", "md", "json"), default="text")
    q.set_defaults(run=cmd_list)

    q = msub.add_parser("serve", help="serve one mutant of a unit as a card in a vpcd reader")
    where = q.add_mutually_exclusive_group(required=True)
    where.add_argument("--upstream", help="the unit's PC/SC reader (name, unique substring or index)")
    where.add_argument("--profile", help="reach the unit as this profile's ixit.transport does")
    q.add_argument("--mutant", required=True, help="mutant ID (jpkikit mutate list)")
    q.add_argument("--param", action="append", metavar="NAME=VALUE", help="a mutant parameter (repeatable)")
    q.add_argument("--host", default="127.0.0.1", help="where the vpcd driver listens (default 127.0.0.1)")
    q.add_argument("--port", type=int, help="vpcd port of the proxy (default: the slot the unit is not in)")
    q.add_argument("--timeout", type=float, default=30.0, help="upstream timeout in seconds (default 30)")
    q.add_argument("--wait", type=float, default=10.0, help="give up if the driver is unreachable (s)")
    q.set_defaults(run=cmd_serve)

    q = msub.add_parser("run", help="certify every mutant of a unit; report the kill rate")
    q.add_argument("--profile", required=True, help="the unit's profile (as for jpkikit certify)")
    q.add_argument("--upstream-reader", help="the unit's reader (default: the profile's ixit.transport)")
    q.add_argument("--mutants", default="all", help="'all' or mutant IDs, comma-separated (default all)")
    q.add_argument(
        "--param", action="append", metavar="ID.NAME=VALUE", help="a parameter of one mutant (repeatable)"
    )
    q.add_argument("--results", help="results directory (default results/mutation-<profile name>)")
    q.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression, every run")
    q.add_argument(
        "--focus",
        action="store_true",
        help="run each mutant only against the areas of the requirements it is expected to break "
        "(faster; a kill elsewhere is missed); the identity run always runs everything",
    )
    q.add_argument("--host", default="127.0.0.1", help="where the vpcd driver listens (default 127.0.0.1)")
    q.add_argument("--port", type=int, help="vpcd port of the proxy (default: the slot the unit is not in)")
    q.add_argument(
        "--mutant-timeout",
        type=float,
        metavar="SECONDS",
        help=f"deadline of one mutant's run (default: 3 x the identity run, at least {MIN_DEADLINE:g} s); "
        "a run that does not end in time is stopped: inconclusive, and the next mutant follows",
    )
    q.add_argument(
        "--keep-going",
        action="store_true",
        help="when a mutant's run leaves the unit other than as found, note it and go on with the unit as it "
        "is (default: stop the campaign)",
    )
    q.add_argument(
        "--strict", action="store_true", help="exit 1 when a mutant the library expects killed survives"
    )
    q.set_defaults(run=cmd_run)


# -- list -----------------------------------------------------------------------------------------------


def _spec_json(spec: Any) -> dict[str, Any]:
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "breaks": list(spec.breaks),
        "expect": spec.expect,
        "why": spec.why,
        "params": {n: {"default": p.default, "help": p.help} for n, p in spec.params.items()},
        "hazard": spec.hazard,
    }


def library_markdown() -> str:
    """The library as a Markdown table (docs/mutation.md holds it)."""
    from jpkikit.host.mutants import LIBRARY

    lines = ["| ID | What | Parameters | Expected to break | Expected |", "|---|---|---|---|---|"]
    for s in (m.spec for m in LIBRARY):
        expect = s.expect if s.expect == "killed" else f"survives: {s.why}"
        if s.hazard:
            expect += f" (hazard: {s.hazard})"
        params = "; ".join(f"`{n}` = {p.default}: {p.help}" for n, p in s.params.items()) or "-"
        breaks = ", ".join(s.breaks) or "-"
        lines.append(f"| `{s.id}` | {_cell(s.description)} | {_cell(params)} | {breaks} | {_cell(expect)} |")
    return "\n".join(lines) + "\n"


def cmd_list(args: argparse.Namespace) -> int:
    from jpkikit.host.mutants import LIBRARY

    specs = [m.spec for m in LIBRARY]
    if args.format == "json":
        print(json.dumps([_spec_json(s) for s in specs], indent=1))
        return 0
    if args.format == "md":
        print(library_markdown(), end="")
        return 0
    for s in specs:
        params = ", ".join(f"{n}={p.default}" for n, p in s.params.items())
        print(f"{s.id:<28} {s.title}{f' ({params})' if params else ''}")
        print(f"{'':<28} breaks {', '.join(s.breaks) or '-'}; expected {s.expect}")
    print(f"{len(specs)} mutants (the identity included)")
    return 0


# -- the unit and the proxy's slot ----------------------------------------------------------------------


def _reader_names() -> list[str]:
    from jpkikit.host.pcsc import list_readers

    return [info.name for info in list_readers()]


def _proxy_port(port: int | None, upstream_reader: str | None) -> int:
    """The vpcd port for the proxy: ``port``, else the first default slot that is neither the unit's reader
    nor holding a card."""
    from jpkikit.host.pcsc import list_readers
    from jpkikit.host.vpcd import reader_name

    if port is None:
        busy = {info.name for info in list_readers() if info.card_present} | {upstream_reader}
        free = [p for p in VPCD_PORTS if reader_name(p) not in busy]
        port = free[0] if free else next(p for p in VPCD_PORTS if reader_name(p) != upstream_reader)
    if upstream_reader is not None and port in VPCD_PORTS and reader_name(port) == upstream_reader:
        raise KitError(f"the proxy cannot take port {port}: the unit itself is in {upstream_reader!r}")
    return port


def _resolve(reader: str | int) -> str:
    from jpkikit.host.pcsc import resolve_reader

    return resolve_reader(_reader_names(), reader)


# -- in-process: the emulator behind the proxy, as a factory -----------------------------------------------

_PROXIES: list[Any] = []


def mutated_emulator(personality: str | None, state: Path | None) -> Any:
    """A card factory for a profile's ``ixit.transport.factory``: the unit (the kit's emulator, or the
    factory the unit's own profile names) behind a :class:`~jpkikit.host.mutation.MutationProxy` running
    the mutant :data:`MUTANT_ENV` names. ``mutate run`` sets both for each mutant of an in-process unit;
    every card the run makes (the fresh cards of renewable tests too) is the unit so mutated. The proxies'
    counts are appended to the named file when the run ends.

    The link from the proxy to the unit has the bound :data:`MUTANT_ENV` gives (the unit profile's
    ``ixit.transport.timeout``; none when it has none). The certification's own link to the proxy has the
    same bound (:func:`write_derived_profile`), and a call the proxy makes while that one runs runs under it
    (jpkikit.host.link.InProcessTransport): a unit that hangs costs the bound, not the run."""
    import atexit

    from jpkikit.harness.seam import emulator_card
    from jpkikit.host.link import InProcessTransport
    from jpkikit.host.mutants import make
    from jpkikit.host.mutation import MutantError, MutationProxy, Upstream

    raw = os.environ.get(MUTANT_ENV)
    if not raw:
        raise MutantError(f"{MUTATED_FACTORY} is the card of jpkikit mutate run; {MUTANT_ENV} is not set")
    spec = json.loads(raw)
    card = emulator_card(personality, state, spec.get("factory"))
    unit = InProcessTransport(card, "the unit", timeout=spec.get("timeout"))
    proxy = MutationProxy(Upstream(lambda: unit, unit.description), make(spec["id"], spec.get("params")))
    if not _PROXIES and spec.get("stats"):
        atexit.register(_append_stats, Path(spec["stats"]))
    _PROXIES.append(proxy)
    return proxy


def _append_stats(path: Path) -> None:
    total = {"commands": 0, "rewritten": 0, "delayed": 0}
    for proxy in _PROXIES:
        for name in total:
            total[name] += getattr(proxy.stats, name)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(total) + "\n")


def _read_stats(path: Path) -> dict[str, int]:
    total = {"commands": 0, "rewritten": 0, "delayed": 0}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return total
    for line in lines:
        for name, value in json.loads(line).items():
            total[name] = total.get(name, 0) + int(value)
    return total


# -- serve ----------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from jpkikit.host.mutants import make
    from jpkikit.host.mutation import Context, MutationProxy, Upstream, parse_params
    from jpkikit.host.pcscd import ensure_daemon
    from jpkikit.host.vpcd import VpcdServer

    mutant = make(args.mutant, parse_params(args.param), Context(timeout=args.timeout))
    ensure_daemon()
    if args.profile:
        from jpkikit.harness.bundled import profile_path
        from jpkikit.harness.profile import load_profile
        from jpkikit.harness.seam import open_link

        profile = load_profile(profile_path(args.profile))
        reader = getattr(profile.ixit.transport, "reader", None)
        upstream_reader = _resolve(reader) if reader is not None else None
        opener: Callable[[], Any] = lambda: open_link(profile)  # noqa: E731
    else:
        from jpkikit.host.pcsc import PcscTransport

        upstream_reader = _resolve(args.upstream)
        opener = lambda: PcscTransport(upstream_reader, timeout=args.timeout)  # noqa: E731
    port = _proxy_port(args.port, upstream_reader)
    proxy = MutationProxy(Upstream(opener), mutant)
    proxy.atr  # noqa: B018  (reach the unit now: an unreachable one is one clear error, not a silent reader)
    server = VpcdServer(proxy, host=args.host, port=port)

    def stop(signum: int, frame: object) -> None:
        proxy.stop()
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _LOG.info(
        "serving mutant %s of %s to vpcd at %s:%d",
        mutant.spec.id,
        proxy.upstream.description,
        args.host,
        port,
    )
    try:
        server.serve_forever(first_connect_within=args.wait)
    finally:
        proxy.upstream.close()
    s = proxy.stats
    print(
        f"jpkikit: mutant {mutant.spec.id}: answers changed {s.rewritten}, delayed {s.delayed}, "
        f"of {s.commands}"
    )
    return 0


# -- run: the campaign -----------------------------------------------------------------------------------


@dataclass
class MutantResult:
    """One mutant's run and what the suite made of it."""

    id: str
    title: str
    description: str
    breaks: list[str]
    expect: str
    why: str
    params: dict[str, Any]
    hazard: str | None
    outcome: str = "not run"  # killed | survived | inconclusive | kit error | stopped | hung
    killed: bool = False
    killing_tests: list[dict[str, Any]] = field(default_factory=list)
    expected_requirement_hit: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    commands: int = 0
    rewritten: int = 0
    delayed: int = 0
    note: str = ""
    results: str = ""
    unit_after: str = ""


def _classify(outcomes: list[Any]) -> tuple[str, list[Any]]:
    from jpkikit.harness.verdict import Verdict

    failed = [o for o in outcomes if o.verdict == Verdict.FAIL]
    if failed:
        return "killed", failed
    verdicts = {o.verdict for o in outcomes}
    if Verdict.KIT_ERROR in verdicts:
        return "kit error", []
    if Verdict.INCONCLUSIVE in verdicts:
        return "inconclusive", []
    return "survived", []


def _focus(spec: Any, tests: list[Any]) -> str | None:
    """The -k expression of the tests that name a requirement ``spec`` is expected to break, and of its
    ``scope`` (None: every test)."""
    names = {t.nodeid.split("::")[1] for t in tests if set(t.requirements) & set(spec.breaks)}
    names |= set(spec.scope)
    return " or ".join(sorted(names)) if names else None


class Campaign:
    """The state of one ``mutate run``."""

    def __init__(self, args: argparse.Namespace) -> None:
        from jpkikit.harness.bundled import profile_path
        from jpkikit.harness.profile import load_profile
        from jpkikit.host.mutants import select

        self.args = args
        self.path = profile_path(args.profile).resolve()
        self.profile = load_profile(self.path)
        self.classes = select(args.mutants)
        self.params = _mutant_params(args.param, {c.spec.id for c in self.classes})
        self.results = Path(args.results) if args.results else Path("results") / f"mutation-{self.path.stem}"
        transport = self.profile.ixit.transport
        self.in_process = transport.kind == "emulator" and not args.upstream_reader
        self.timeout = float(getattr(transport, "timeout", 10.0)) if transport.kind == "pcsc" else 10.0
        unit = self.profile.ixit.unit
        if self.in_process and getattr(transport, "state", None):
            raise KitError(
                f"{self.path}: the emulator keeps its state in a file (ixit.transport.state); a mutation run "
                "would write it. Use a profile of the emulator without a state file"
            )
        if not self.in_process and unit is not None and unit.sacrificial:
            raise KitError(
                f"{self.path}: a mutation run certifies the same unit once per mutant; a sacrificial "
                "profile (ixit.unit.sacrificial: true) would spend it in the first run. Use a profile for an "
                "ordinary unit (the irreversible tests are then not exercised)"
            )
        self.baseline: dict[str, str] | None = None
        self.fatal = ""  # why the unit must not be used further (a PIN the profile's value no longer opens)
        self.started = dt.datetime.now(dt.UTC)

    # -- the unit ----------------------------------------------------------------------------------------

    def open_upstream(self) -> Any:
        from jpkikit.harness.seam import open_link
        from jpkikit.host.pcsc import PcscTransport

        if self.args.upstream_reader:
            t = self.profile.ixit.transport
            protocol = getattr(t, "protocol", None)
            return PcscTransport(self.upstream_reader or "", timeout=self.timeout, protocol=protocol)
        return open_link(self.profile)

    def check_unit(self, upstream: Any) -> tuple[bool, str]:
        """Read the unit back through the unmutated link; (as found?, what differs)."""
        from jpkikit.harness import unit_state
        from jpkikit.host.card_session import CardSession
        from jpkikit.host.link import Borrowed

        session = CardSession(Borrowed(upstream.link()))
        state = unit_state.take(session, self.profile)
        self.fatal = _pins_not_restored(session, self.profile)
        if self.fatal:
            return False, self.fatal
        if self.baseline is None:
            self.baseline = state
            return True, ""
        differences = unit_state.compare(self.baseline, state)
        spent = [d for d in differences if unit_state.fields_of(d.item, (unit_state.ITEM_PIN_TRIES,))]
        other = [d for d in differences if d not in spent]
        text = "; ".join(f"{d.item}: {d.before} -> {d.after}" for d in differences)
        if spent and not other:
            return True, f"{text} (a right VERIFY of the read-back restored it)"
        if other and self.args.keep_going:  # what follows is measured on the unit as it now is
            self.baseline = {**state, **{d.item: d.before for d in spent}}
        return not differences, text

    # -- one mutant --------------------------------------------------------------------------------------

    def run_mutant(self, cls: Any, upstream: Any, deadline: float, keyword: str | None) -> MutantResult:
        from jpkikit.host.mutants import IDENTITY
        from jpkikit.host.mutation import Context, MutationProxy
        from jpkikit.host.vpcd import VpcdServer, wait_for_card, wait_for_card_removed
        from jpkikit.report.results import ResultsError, read_results

        spec = cls.spec
        mutant = cls(self.params.get(spec.id, {}), Context(timeout=self.timeout))
        result = MutantResult(
            spec.id,
            spec.title,
            spec.description,
            list(spec.breaks),
            spec.expect,
            spec.why,
            dict(mutant.params),
            spec.hazard,
        )
        out = (self.results / spec.id).resolve()
        result.results = str(out)
        started = time.monotonic()
        if self.in_process and spec.timed:
            result.outcome = "not run"
            result.note = (
                "it acts by time, which only a link with a timeout shows: run it through pcscd "
                "(a profile whose unit is in a PC/SC reader)"
            )
            return result
        if self.in_process:
            from jpkikit.harness.seam import in_process_timeout

            stats = out / "proxy-stats.jsonl"
            stats.unlink(missing_ok=True)
            out.mkdir(parents=True, exist_ok=True)
            env = {
                MUTANT_ENV: json.dumps(
                    {
                        "id": spec.id,
                        "params": self.params.get(spec.id, {}),
                        "factory": self.profile.ixit.transport.factory,
                        "timeout": in_process_timeout(self.profile),
                        "stats": str(stats),
                    }
                )
            }
            code = self._certify(out, deadline, keyword, env)
            counts = _read_stats(stats)
            result.commands, result.rewritten = counts["commands"], counts["rewritten"]
            result.delayed = counts["delayed"]
        else:
            proxy = MutationProxy(upstream, mutant, _LOG)
            server_log = logging.getLogger("jpkikit.mutation.vpcd")
            server_log.setLevel(logging.WARNING)
            server = VpcdServer(
                proxy, host=self.args.host, port=self.port, reconnect_interval=0.2, logger=server_log
            )
            server.start()
            try:
                wait_for_card(self.proxy_reader, timeout=15)
                code = self._certify(out, deadline, keyword, {})
            finally:
                proxy.stop()
                server.join(timeout=5)
                try:
                    wait_for_card_removed(self.proxy_reader, timeout=10)
                except KitError as exc:
                    _LOG.warning("the proxy's card did not leave %s: %s", self.proxy_reader, exc)
            result.commands, result.rewritten = proxy.stats.commands, proxy.stats.rewritten
            result.delayed = proxy.stats.delayed
        result.seconds = round(time.monotonic() - started, 1)
        if code is None:
            result.outcome = "hung"
            result.note = f"no end within the deadline of {deadline:.0f} s: stopped (inconclusive)"
            return result
        try:
            outcomes = read_results(out).outcomes
        except ResultsError:
            outcomes = []
        if code == 2 or not outcomes:
            result.outcome = "stopped"
            result.note = _stop_reason(out / "certify.log")
            return result
        result.counts = dict(Counter(str(o.verdict) for o in outcomes))
        result.outcome, failed = _classify(outcomes)
        result.killed = bool(failed)
        result.killing_tests = [
            {"test": o.nodeid, "requirements": list(o.requirements), "message": o.message[:300]}
            for o in failed
        ]
        result.expected_requirement_hit = any(set(o.requirements) & set(spec.breaks) for o in failed)
        if not (result.rewritten or result.delayed) and spec.id != IDENTITY:
            result.note = "the mutant never changed an answer: the suite did not drive the unit there"
        return result

    def _certify(self, out: Path, deadline: float, keyword: str | None, env: dict[str, str]) -> int | None:
        """``jpkikit certify`` with the derived profile, its output in ``out``; its exit status, or None
        when it did not end within ``deadline`` seconds (then it is killed)."""
        command = [sys.executable, "-m", "jpkikit", "certify", "--profile", str(self.derived)]
        command += ["--results", str(out)]
        if keyword:
            command += ["-k", keyword]
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "certify.log", "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env}
            )
            try:
                return proc.wait(deadline)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return None

    # -- the whole run -----------------------------------------------------------------------------------

    def prepare(self) -> None:
        from jpkikit.host.pcsc import list_readers
        from jpkikit.host.pcscd import ensure_daemon
        from jpkikit.host.vpcd import reader_name

        self.upstream_reader: str | None = None
        self.results.mkdir(parents=True, exist_ok=True)
        if self.in_process:  # no PC/SC: every certification makes its own emulator behind the proxy
            self.port, self.proxy_reader = None, "in-process"
            self.derived = write_derived_profile(self.profile, self.results.resolve(), None, self.timeout)
            return
        ensure_daemon(start=getattr(self.profile.ixit.transport, "pcscd", "") == "start-if-absent")
        names = _reader_names()
        if self.args.upstream_reader:
            self.upstream_reader = _resolve(self.args.upstream_reader)
        elif not self.in_process:
            self.upstream_reader = _resolve(self.profile.ixit.transport.reader)
        self.port = _proxy_port(self.args.port, self.upstream_reader)
        self.proxy_reader = reader_name(self.port) if self.port in VPCD_PORTS else f"port {self.port}"
        if self.port in VPCD_PORTS and self.proxy_reader not in names:
            raise KitError(f"pcscd has no reader {self.proxy_reader!r} for the proxy (readers: {names})")
        if any(info.name == self.proxy_reader and info.card_present for info in list_readers()):
            raise KitError(
                f"{self.proxy_reader!r} already holds a card: the proxy needs that vpcd slot free "
                "(stop what serves it, or give --port)"
            )
        self.derived = write_derived_profile(
            self.profile, self.results.resolve(), self.proxy_reader, self.timeout
        )

    def run(self) -> dict[str, Any]:
        from jpkikit.harness.bundled import suite_dir
        from jpkikit.host.mutants import IDENTITY
        from jpkikit.host.mutation import Upstream
        from jpkikit.report.coverage import collect_tests

        self.prepare()
        tests = collect_tests(suite_dir())
        upstream = Upstream(self.open_upstream)
        results: list[MutantResult] = []
        aborted = ""
        deadline = self.args.mutant_timeout
        try:
            if not self.in_process:
                self.check_unit(upstream)  # the unit as found: what every mutant must leave it as
            for cls in self.classes:
                identity = cls.spec.id == IDENTITY
                if self.in_process:
                    upstream.lost()  # a new emulator card for every mutant
                keyword = self.args.keyword
                if self.args.focus and not identity:
                    focus = _focus(cls.spec, tests)
                    keyword = f"({keyword}) and ({focus})" if keyword and focus else (focus or keyword)
                limit = IDENTITY_DEADLINE if identity else deadline
                print(f"jpkikit: mutant {cls.spec.id}: certifying ...", flush=True)
                result = self.run_mutant(cls, upstream, limit or MIN_DEADLINE, keyword)
                results.append(result)
                print(f"jpkikit: mutant {cls.spec.id}: {_line(result)}", flush=True)
                if not self.in_process:
                    try:
                        ok, differences = self.check_unit(upstream)
                    except KitError as exc:
                        ok, differences = False, f"the unit could not be read back: {exc}"
                    result.unit_after = differences or "as found"
                    if not ok and self.args.keep_going and not self.fatal:
                        result.unit_after = f"NOT as found: {differences}"
                        print(f"jpkikit: mutant {cls.spec.id} left the unit changed: {differences}")
                    elif not ok:
                        aborted = f"after mutant {cls.spec.id} the unit is not as found: {differences}"
                        break
                if identity:
                    if result.counts.get("fail") or result.outcome in ("stopped", "hung"):
                        aborted = f"the unmutated unit through the proxy does not pass: {_line(result)}"
                        break
                    if deadline is None:
                        deadline = max(MIN_DEADLINE, 3 * result.seconds)
        finally:
            upstream.close()
        report = self.report(results, aborted, deadline)
        write_report(report, self.results)
        return report

    def report(self, results: list[MutantResult], aborted: str, deadline: float | None) -> dict[str, Any]:
        from jpkikit.host.mutants import IDENTITY

        not_run = [r for r in results if r.outcome == "not run"]
        mutants = [r for r in results if r.id != IDENTITY and r not in not_run]
        killed = [r for r in mutants if r.killed]
        expected = [r for r in mutants if r.expect == "killed"]
        missed = [r for r in expected if not r.killed]
        identity = next((r for r in results if r.id == IDENTITY), None)
        return {
            "kit_version": __version__,
            "profile": str(self.path),
            "implementation": self.profile.identity()["name"],
            "upstream": self.upstream_reader or "in-process",
            "proxy_reader": self.proxy_reader,
            "keyword": self.args.keyword,
            "focus": bool(self.args.focus),
            "deadline_seconds": deadline,
            "started": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round((dt.datetime.now(dt.UTC) - self.started).total_seconds(), 1),
            "aborted": aborted,
            "identity": asdict(identity) if identity else None,
            "kill_rate": {
                "killed": len(killed),
                "mutants": len(mutants),
                "rate": round(len(killed) / len(mutants), 3) if mutants else None,
                "expected_killed": len(expected),
                "expected_and_killed": len(expected) - len(missed),
                "missed": [r.id for r in missed],
                "unexpected_kills": [r.id for r in killed if r.expect != "killed"],
                "not_run": [r.id for r in not_run],
            },
            "mutants": [asdict(r) for r in mutants + not_run],
        }


def _pins_not_restored(session: Any, profile: Any) -> str:
    """After the read-back's right VERIFYs every PIN counter is at its maximum, or the profile's PIN no
    longer opens that PIN (a run left it changed): then say so, since every further run would spend a try
    of it (the read-back, the pre-flight)."""
    from jpkikit.harness.preflight import JPKI_CLASSES
    from jpkikit.host.jpki_client import JpkiClient
    from jpkikit.vocab.iso7816.sw import retries_left
    from jpkikit.vocab.jpki.card import PAIRS

    if profile.identity()["class"] not in JPKI_CLASSES:
        return ""
    session.reset()
    jpki = JpkiClient(session, profile.ixit.aids.jpki)
    if not jpki.select_ap().ok:
        return "the JPKI application can no longer be selected"
    for pair in PAIRS:
        claimed = getattr(profile.ics.jpki, f"{pair.name}_pin").tries
        left = retries_left(jpki.retry_query(pair.pin_ef).sw)
        if left is None or left < claimed:
            return (
                f"the profile's {pair.name} PIN no longer opens the unit's ({left} of {claimed} tries left "
                "after a VERIFY with it): a run left it changed or blocked; stopping before more tries are "
                "spent"
            )
    session.reset()
    return ""


def _mutant_params(items: list[str] | None, known: set[str]) -> dict[str, dict[str, str]]:
    from jpkikit.host.mutation import MutantError, parse_params

    out: dict[str, dict[str, str]] = {}
    for name, value in parse_params(items).items():
        mutant, dot, param = name.partition(".")
        if not dot or mutant not in known:
            raise MutantError(f"--param takes MUTANT.NAME=VALUE for a mutant of the run, got {name!r}")
        out.setdefault(mutant, {})[param] = value
    return out


def _stop_reason(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "the certification run stopped before the tests"
    for line in lines:
        if "pre-flight: STOP" in line or "cannot reach the implementation" in line or "error:" in line:
            return line.strip(" !")
    collecting = [line.strip(" _") for line in lines if "ERROR collecting" in line]
    if collecting:
        return f"the suite could not be collected ({'; '.join(collecting)}; see {log})"
    return "the certification run stopped before the tests: " + " / ".join(lines[-3:])


def _line(r: MutantResult) -> str:
    counts = ", ".join(f"{n} {v}" for v, n in sorted(r.counts.items()))
    what = r.outcome.upper() if r.outcome == "killed" else r.outcome
    by = f" by {len(r.killing_tests)} tests" if r.killed else ""
    extra = f" ({r.note})" if r.note else ""
    return f"{what}{by} [{counts or 'no verdicts'}] in {r.seconds:.0f} s{extra}"


# -- the profile of the runs -----------------------------------------------------------------------------


def write_derived_profile(profile: Any, directory: Path, reader: str | None, timeout: float) -> Path:
    """A profile that is ``profile`` reached through the proxy's reader (``reader`` None: the in-process
    emulator behind the proxy, :data:`MUTATED_FACTORY`): it extends the original and replaces the
    transport; paths the original gives relative to its own folder are made absolute, and a ``test:``
    secret (a public test value) is put in a file, since a profile that reaches a reader may not hold
    ``test:`` values. The mutated runs keep their own ledger (``ledger/``), apart from the unit's. The
    in-process transport keeps the original's ``timeout`` (the bound of the link to the proxy; none when
    the original has none), since ``extends`` takes a transport whole."""
    base = Path(profile.path).resolve().parent
    secrets: dict[str, str] = {}
    test_values: dict[str, str] = {}
    for name, secret in profile.ixit.secrets.items():
        ref = secret.ref
        if ref == "test":
            test_values[name] = secret.reveal()
            secrets[name] = f"file:{directory / 'test-secrets.yaml'}#{name}"
        elif ref.startswith("file:") and not Path(ref[5:]).is_absolute():
            secrets[name] = f"file:{base / ref[5:]}"
    transport: dict[str, Any] = {"kind": "pcsc", "reader": reader, "timeout": timeout}
    if reader is None:
        transport = {"kind": "emulator", "factory": MUTATED_FACTORY}
        # the unit's own personality (a transport may name another than ics.personality)
        original = profile.ixit.transport
        personality = getattr(original, "personality", None) or getattr(
            getattr(original, "serve", None), "personality", None
        )
        if personality:
            transport["personality"] = personality
        from jpkikit.harness.seam import in_process_timeout

        bound = in_process_timeout(profile)
        if bound is not None:
            transport["timeout"] = bound
    ixit: dict[str, Any] = {"transport": transport, "unit": {"ledger": str(directory / "ledger")}}
    if secrets:
        ixit["secrets"] = secrets
    gp = profile.ixit.gp
    if gp is not None and gp.test_package is not None and _relative(gp.test_package.load_file):
        ixit["gp"] = {"test_package": {"load_file": str(base / gp.test_package.load_file)}}
    applicant = profile.ixit.applicant
    if applicant is not None and _relative(applicant.certificate):
        ixit["applicant"] = {"certificate": str(base / applicant.certificate)}
    if test_values:
        file = directory / "test-secrets.yaml"
        file.write_text(yaml.safe_dump(test_values), encoding="utf-8")
        os.chmod(file, 0o600)
    doc = {"extends": str(Path(profile.path).resolve()), "ixit": ixit}
    out = directory / "profile.yaml"
    header = "# Written by jpkikit mutate run: the unit's profile, reached through the mutation proxy.\n"
    out.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def _relative(ref: str) -> bool:
    return not ref.startswith("package:") and not Path(ref).is_absolute()


# -- the report -------------------------------------------------------------------------------------------


def write_report(report: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{REPORT_STEM}.json"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path = directory / f"{REPORT_STEM}.md"
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return [json_path, md_path]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    rate = report["kill_rate"]
    lines = [
        f"# Mutation run: {report['implementation']}",
        "",
        f"Profile `{report['profile']}`, unit in `{report['upstream']}`, mutants served in "
        f"`{report['proxy_reader']}`; jpkikit {report['kit_version']}, {report['started']}, "
        f"{report['seconds']:.0f} s.",
    ]
    if report["keyword"] or report["focus"]:
        scope = f"`-k {report['keyword']}`" if report["keyword"] else ""
        focus = "each mutant against the areas it is expected to break" if report["focus"] else ""
        lines.append(f"Tests run: {' and '.join(x for x in (scope, focus) if x)}.")
    identity = report["identity"]
    if identity:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(identity["counts"].items()))
        lines += [
            "",
            f"**Identity (the unit through the proxy, unchanged):** {counts or identity['outcome']}.",
        ]
    if report["aborted"]:
        lines += ["", f"**The run was stopped:** {report['aborted']}"]
    if rate["mutants"]:
        lines += [
            "",
            f"**Kill rate: {rate['killed']} of {rate['mutants']} mutants killed "
            f"({100 * rate['rate']:.0f} %)**; "
            f"of the {rate['expected_killed']} the library expects killed, {rate['expected_and_killed']}.",
        ]
    if rate.get("not_run"):
        lines += ["", f"Not run on this link (not counted): {', '.join(f'`{i}`' for i in rate['not_run'])}."]
    lines += [
        "",
        "| Mutant | Expected to break | Expected | Outcome | Killed by | Verdicts | Answers changed |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in report["mutants"]:
        killers = "<br>".join(f"`{t['test']}`" for t in m["killing_tests"][:5])
        if len(m["killing_tests"]) > 5:
            killers += f"<br>(+{len(m['killing_tests']) - 5} more)"
        outcome = m["outcome"] + (f": {m['note']}" if m["note"] else "")
        expect = m["expect"] if m["expect"] == "killed" else f"survives ({m['why']})"
        counts = ", ".join(f"{n} {v}" for v, n in sorted(m["counts"].items()))
        lines.append(
            f"| `{m['id']}`: {_cell(m['title'])} | {', '.join(m['breaks']) or '-'} | {_cell(expect)} | "
            f"{_cell(outcome)} | {killers or '-'} | {counts or '-'} | {m['rewritten']} of {m['commands']} |"
        )
    lines += [
        "",
        "A mutant is killed when at least one test's verdict is fail; kit errors and inconclusive "
        "verdicts do not kill (docs/mutation.md).",
    ]
    return "\n".join(lines) + "\n"


def cmd_run(args: argparse.Namespace) -> int:
    campaign = Campaign(args)
    report = campaign.run()
    rate = report["kill_rate"]
    print(f"jpkikit: mutation report in {campaign.results}/{REPORT_STEM}.md and .json")
    if report["aborted"]:
        print(f"jpkikit: stopped: {report['aborted']}")
        return 1
    if rate["mutants"]:
        print(
            f"jpkikit: kill rate {rate['killed']}/{rate['mutants']} ({100 * rate['rate']:.0f} %); "
            f"expected kills {rate['expected_and_killed']}/{rate['expected_killed']}"
            + (f"; missed: {', '.join(rate['missed'])}" if rate["missed"] else "")
        )
    return 1 if args.strict and rate["missed"] else 0
