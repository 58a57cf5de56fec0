"""The kit's pytest plugin: profiles, requirement markers, applicability, verdicts, traces, Allure.

- ``--profile PATH`` picks the implementation under test (default: the bundled GP-SE emulator).
- ``@pytest.mark.requirement("ID", ...)`` names what a test verifies; an unknown ID is a usage error.
- A test whose requirements all do not apply to the profile is skipped as "not applicable: <reason>".
- ``@pytest.mark.applies_if({claim: ...})`` (on a test or on one ``pytest.param``) narrows a test further
  with a catalogue condition: where it does not hold, that test or parameter is not applicable (an
  auth-only applet: the ``sign`` parameters).
- The ``card`` fixture gives a traced :class:`CardSession` on a freshly reset card; its redacted APDU
  trace is attached to the Allure result and written to ``--trace-dir``. A unit that stops answering gets
  bounded reconnects, then the remaining tests are inconclusive at once (jpkikit.harness.reachability).
- At the end: verdict counts, and the requirements that apply to this profile but have no test.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jpkikit import __version__
from jpkikit.errors import CardAbsent, DeviceUnreachable, KitError, ReaderNotFound, TransportError
from jpkikit.harness.allure_results import (
    LANG_PROPERTY,
    TEST_LABEL,
    apply_verdicts,
    requirement_description,
    requirement_link,
    requirement_story,
    write_categories,
)
from jpkikit.harness.bundled import profile_path
from jpkikit.harness.kit_phrases import (
    NOT_READ_BACK,
    PREFLIGHT_PIN_SKIP,
    UNREADABLE_AT_END,
    not_applicable_text,
)
from jpkikit.harness.redaction import scrub_report, scrub_tree
from jpkikit.harness.safety import PIN_EFFECTS, Cost, Policy, cost_of, policy
from jpkikit.harness.verdict import NOT_APPLICABLE_PREFIX, NOT_EXERCISED_PREFIX, Verdict, verdict_of, worst

TRACE_ATTACHMENT = "APDU trace (redacted)"

requirements_key = pytest.StashKey[list[str]]()
session_key = pytest.StashKey[Any]()
verdict_key = pytest.StashKey[Verdict]()
cost_key = pytest.StashKey[Cost]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jpkikit", "JPKI conformance kit")
    group.addoption("--profile", metavar="PATH", help="profile of the implementation under test")
    group.addoption("--trace-dir", metavar="DIR", help="write each test's redacted APDU trace here")
    group.addoption(
        "--report-lang",
        choices=("ja", "en"),
        help="language of the requirement titles and descriptions in the Allure results (default: locale)",
    )
    group.addoption(
        "--plan", action="store_true", help="list every test, its cost and whether it runs; touch nothing"
    )
    group.addoption(
        "--accept-spent-tries",
        action="store_true",
        help="start although a PIN counter is below its maximum (the pre-flight refuses otherwise)",
    )
    group.addoption(
        "--unit-state", metavar="FILE", help="write the unit's state before and after the run here"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(*ids): requirement IDs (catalogue) this test verifies")
    config.addinivalue_line(
        "markers",
        "effects(*effects, renewable=False): what the test does to the unit (jpkikit.harness.safety)",
    )
    config.addinivalue_line(
        "markers", "applies_if(condition): a catalogue condition this test or parameter needs (conditions.py)"
    )
    config.pluginmanager.register(KitSession(config), "jpkikit-session")


class KitSession:
    """Per-run state: profile, catalogue, the open link, verdicts."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._profile: Any = None
        self._catalogue: Any = None
        self.link: Any = None
        self.verdicts: dict[str, Verdict] = {}
        self.worded: dict[str, str] = {}  # node ID -> the kit's own message in the run's language (Allure)
        self.tested: set[str] = set()
        self.used = False
        self.opened_once = False
        self.plan: list[tuple[str, str, str]] = []  # (test, cost, what happens)
        self.preflight: Any = None
        self.state_before: dict[str, str] | None = None
        self.state_differences: list[Any] = []
        self.stopped: str | None = None  # why the run ended before the tests (unreachable, pre-flight)
        self._unit: Any = None
        self.read_back_failed: str | None = None  # the unit could not be read back at the end: why

    # -- lazily loaded, so the kit's own unit tests run without any profile -------------------------------

    @property
    def profile(self) -> Any:
        if self._profile is None:
            from jpkikit.harness.profile import load_profile

            path = profile_path(self.config.getoption("profile"))
            try:
                self._profile = load_profile(path)
            except KitError as exc:
                raise pytest.UsageError(f"profile: {exc}") from None
        return self._profile

    @property
    def unit(self) -> Any:
        """Whether the unit answers: bounded reconnects and probes (jpkikit.harness.reachability)."""
        if self._unit is None:
            from jpkikit.harness import seam
            from jpkikit.harness.reachability import Reachability
            from jpkikit.host.card_session import CardSession

            profile = self.profile
            self._unit = Reachability.for_profile(
                profile, lambda timeout: CardSession(seam.open_link(profile, timeout=timeout))
            )
        return self._unit

    @property
    def lang(self) -> str:
        """The language of the Allure results' requirement texts (jpkikit.harness.language)."""
        from jpkikit.harness.language import resolve_lang

        return resolve_lang(self.config.getoption("report_lang"), profile=self.profile)

    @property
    def catalogue(self) -> Any:
        if self._catalogue is None:
            from jpkikit.harness.catalogue import load_catalogue

            try:
                self._catalogue = load_catalogue()
            except KitError as exc:
                raise pytest.UsageError(f"requirement catalogue: {exc}") from None
        return self._catalogue

    # -- collection: requirement IDs and applicability ---------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        unknown: list[str] = []
        for item in items:
            ids = [i for m in item.iter_markers("requirement") for i in m.args]
            if not ids:
                continue
            self.used = True
            item.stash[requirements_key] = ids
            not_applying: list[tuple[str, Any]] = []  # (requirement ID, its Applicability)
            narrowed: str | None = None
            applicable = False
            for rid in ids:
                try:
                    req = self.catalogue.get(rid)
                except KitError:
                    unknown.append(f"{item.nodeid}: unknown requirement ID {rid!r}")
                    continue
                self.tested.add(rid)
                verdict = self.catalogue.applicability(req, self.profile)
                applicable |= verdict.applicable
                if not verdict.applicable:
                    not_applying.append((rid, verdict))
            if applicable and (narrowed := self._narrowed(item)) is not None:
                applicable = False
            item.user_properties.append(("requirements", " ".join(ids)))
            item.add_marker(pytest.mark.allure_label(item.nodeid, label_type=TEST_LABEL))
            cost = self._cost(item)
            item.stash[cost_key] = cost
            if not applicable and (narrowed or not_applying):
                why = not_applicable_text(not_applying, "en")  # the skip's reason: junit.xml, the console
                if narrowed:
                    why = f"{NOT_APPLICABLE_PREFIX}{narrowed}"
                item.add_marker(pytest.mark.skip(reason=why))
                if not narrowed and self.lang != "en":  # the Allure result's message, in the run's language
                    self.worded[item.nodeid] = not_applicable_text(not_applying, self.lang)
            elif (refused := self.policy.decide(cost)) is not None:
                why = NOT_EXERCISED_PREFIX + refused
                item.add_marker(pytest.mark.skip(reason=why))
            else:
                why = "runs"
            self.plan.append((item.nodeid, cost.describe(), why))
        if unknown:
            raise pytest.UsageError("tests name requirements the catalogue lacks:\n  " + "\n  ".join(unknown))
        # what cannot be undone runs last, in the order that keeps the unit usable longest (safety.ORDER)
        items.sort(key=lambda i: i.stash[cost_key].rank() if cost_key in i.stash else -1)
        if self.config.getoption("plan"):
            self.config.option.collectonly = True  # list, never run

    def _narrowed(self, item: pytest.Item) -> str | None:
        """Why an ``applies_if`` marker of the test or its parameter does not hold, or None."""
        from jpkikit.harness.conditions import ConditionError, parse_condition
        from jpkikit.harness.profile import ics_fields

        for marker in item.iter_markers("applies_if"):
            try:
                condition = parse_condition(marker.args[0], ics_fields())
            except (ConditionError, IndexError) as exc:
                raise pytest.UsageError(f"{item.nodeid}: applies_if: {exc}") from None
            holds, why = condition.evaluate(self.profile.get)
            if not holds:
                return f"this test or parameter needs {condition.text}: {why}"
        return None

    def _cost(self, item: pytest.Item) -> Cost:
        marker = item.get_closest_marker("effects")
        if marker is None:
            return Cost()
        try:
            return cost_of(marker.args, bool(marker.kwargs.get("renewable", False)))
        except ValueError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None

    @property
    def policy(self) -> Policy:
        from jpkikit.harness.seam import can_renew

        return policy(self.profile.ixit.unit, can_renew(self.profile))

    # -- Allure: labels before the test body, the APDU trace after it ----------------------------------
    # (inside allure-pytest's own call wrapper, so both land on the test result, not on a fixture)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        ids = item.stash.get(requirements_key, None)
        if ids and self._allure_on():
            import allure

            for rid in ids:
                req = self.catalogue.get(rid)
                allure.dynamic.label("requirement", rid)
                allure.dynamic.epic("JPKI smartphone profile")
                allure.dynamic.feature(req.area)
                allure.dynamic.story(requirement_story(req, self.lang))
                allure.dynamic.link(**requirement_link(rid))
            allure.dynamic.description(
                requirement_description([self.catalogue.get(r) for r in ids], self.lang)
            )
        yield
        session = item.stash.get(session_key, None)
        if session is not None and self._allure_on():
            import allure

            text = session.tracer.trace.text()
            allure.attach(text, name=TRACE_ATTACHMENT, attachment_type=allure.attachment_type.TEXT)

    def _allure_on(self) -> bool:
        return bool(getattr(self.config.option, "allure_report_dir", None))

    # -- verdicts -------------------------------------------------------------------------------------

    # innermost (trylast): the report is scrubbed of secrets before any other plugin's wrapper reads it
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        scrub_report(report)
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, TransportError):
            from jpkikit.harness.reachability import UnitUnreachable

            if isinstance(exc, UnitUnreachable):
                report.longrepr = f"{type(exc).__name__}: {exc}"  # one line: nothing ran, no traceback
            elif "card" in getattr(item, "fixturenames", ()):  # the unit's link, not a handset's or TSM's
                self.unit.lost(item.nodeid, exc)
        if requirements_key not in item.stash:
            return
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        verdict = verdict_of(report.outcome, report.when, exc, reason)
        prior = item.stash.get(verdict_key, Verdict.PASS)
        if verdict is not Verdict.PASS:  # a phase that passed never changes what another phase found
            item.stash[verdict_key] = verdict if prior is Verdict.PASS else worst(prior, verdict)
        worst_so_far = item.stash.get(verdict_key, Verdict.PASS)
        if report.when == "teardown":  # runs for every test, skipped ones included
            self.verdicts[item.nodeid] = worst_so_far
            report.user_properties.append(("verdict", str(worst_so_far)))

    # -- the end of the run ---------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._finish_unit()
        if self.link is not None:
            try:
                self.link.close()
            except KitError:
                pass
        alluredir = getattr(self.config.option, "allure_report_dir", None)
        if self.used and alluredir:
            write_allure_environment(Path(alluredir), self.profile, self.lang)
            write_categories(Path(alluredir), self.lang)
            apply_verdicts(Path(alluredir), self.verdicts, self.lang, self.worded)
            scrub_tree(Path(alluredir))
        trace_dir = self.config.getoption("trace_dir")
        if trace_dir:
            scrub_tree(Path(trace_dir))

    # -- the unit: pre-flight, as found, as left ------------------------------------------------------------

    def start_unit(self, session: Any) -> None:
        """Before the first test touches the unit: the pre-flight (which may stop the run), the ledger, and
        the unit's state as found."""
        from jpkikit.harness import ledger, preflight, unit_state

        accept = bool(self.config.getoption("accept_spent_tries"))
        self.preflight = result = preflight.run(session, self.profile, accept)
        unit = self.profile.ixit.unit
        self.ledger_path = ledger.ledger_path(unit.ledger if unit else None, result.identity)
        previous = ledger.last_run(self.ledger_path)
        if previous and previous.get("ended") is False:
            result.lines.append(f"the ledger shows an earlier run that did not end ({previous.get('at')})")
        if result.stop:
            self.stopped = result.stop
            ledger.record(
                self.ledger_path, result.identity, {"counters": result.counters, "stopped": result.stop}
            )
            pytest.exit(f"jpkikit: pre-flight: {result.stop}", returncode=2)
        self.state_before = unit_state.take(session, self.profile)
        ledger.record(self.ledger_path, result.identity, {"counters": result.counters, "ended": False})

    def _finish_unit(self) -> None:
        if self.state_before is None:
            return
        from jpkikit.harness import ledger, unit_state
        from jpkikit.harness.reachability import UnitUnreachable

        try:
            session = self.link = self.unit.read_back(self.link)
            after = unit_state.take(session, self.profile)
        except UnitUnreachable as exc:  # one bounded probe, then said plainly: nothing was read
            self.link = None
            self.read_back_failed = str(exc)
            after = {item: f"{NOT_READ_BACK}{exc}" for item in self.state_before}
        except KitError as exc:
            after = {unit_state.ITEM_UNIT_UNREADABLE: f"{UNREADABLE_AT_END}{exc}"}
        self.state_differences = unit_state.compare(self.state_before, after)
        path = self.config.getoption("unit_state")
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            doc = unit_state.as_json(self.state_before, after)
            if self.read_back_failed:
                doc["read_back"] = f"inconclusive: {self.read_back_failed}"
            Path(path).write_text(json.dumps(doc, indent=1))
        tries = (unit_state.ITEM_PIN_TRIES,)
        counters = {f[1]["pin"]: v for k, v in after.items() if (f := unit_state.fields_of(k, tries))}
        if self.read_back_failed:
            counters = {}  # not read: the ledger records no counters rather than the reason
        ledger.record(self.ledger_path, self.preflight.identity, {"counters_at_end": counters, "ended": True})

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.used:
            return
        tr = terminalreporter
        identity = self.profile.identity()
        if self.config.getoption("plan"):
            tr.section("jpkikit plan (nothing was sent to the unit)")
            for nodeid, cost, what in self.plan:
                tr.write_line(f"{nodeid}\n    cost: {cost}\n    {what}")
            decided = Counter("runs" if w == "runs" else w.split(":", 1)[0] for _, _, w in self.plan)
            tr.write_line(", ".join(f"{n} {what}" for what, n in sorted(decided.items())))
            return
        tr.section("jpkikit verdicts")
        tr.write_line(f"implementation: {identity['name']} ({identity['class']})")
        tr.write_line(f"profile: {identity['profile']}")
        if self.preflight is not None:
            for line in self.preflight.lines:
                tr.write_line(f"pre-flight: {line}")
        counts = Counter(self.verdicts.values())
        tr.write_line(", ".join(f"{counts.get(v, 0)} {v}" for v in Verdict))
        if self.stopped:
            tr.write_line(f"no verdicts: the run stopped before the tests ({self.stopped})")
            return
        unit = self._unit
        for back_at, since in unit.returns if unit else ():
            tr.write_line(f"the unit was unreachable from {since} on and answered again at {back_at}")
        if unit is not None and unit.refused:
            untouched = f" ({unit.unprobed} without touching it: a probe had hung shortly before)"
            tr.write_line(
                f"{unit.refused} tests inconclusive because the unit was unreachable"
                + (untouched if unit.unprobed else "")
            )
        if unit is not None and unit.lost_since:
            tr.write_line(f"{unit.reason}; it did not answer again")
        if self.read_back_failed:
            tr.write_line(
                "whether the unit was left as found is INCONCLUSIVE: it could not be read back at the end "
                f"({self.read_back_failed})"
            )
        elif self.state_differences:
            tr.write_line(f"the unit was NOT left as found ({len(self.state_differences)} differences):")
            for d in self.state_differences:
                tr.write_line(f"  {d.item}: {d.before} -> {d.after}")
        elif self.state_before is not None:
            tr.write_line("the unit was left as found (every item read back at the start reads the same)")
        elif self.opened_once:
            tr.write_line(
                "the unit stopped answering before its state was read: whether it was left as found is "
                "not known"
            )
        missing = [
            req
            for req in self.catalogue
            if req.id not in self.tested
            and self.catalogue.applicability(req, self.profile).applicable
            and not getattr(req, "waiver", None)
        ]
        if missing:
            tr.write_line(f"requirements that apply to this profile but have no test ({len(missing)}):")
            for req in missing:
                tr.write_line(f"  {req.id}  {req.title}")
        else:
            tr.write_line("requirement coverage: every applicable requirement has a test")


def write_allure_environment(alluredir: Path, profile: Any, lang: str = "en") -> None:
    """Allure's environment widget reads ``environment.properties`` from the results directory; the run's
    language is recorded there too (the report step names the Allure report in it, jpkikit.report.allure)."""
    alluredir.mkdir(parents=True, exist_ok=True)
    identity = profile.identity()
    lines = {
        "implementation.name": identity["name"],
        "implementation.vendor": identity["vendor"],
        "implementation.version": identity["version"],
        "implementation.class": identity["class"],
        "profile": identity["profile"],
        "profile.sha256": identity["sha256"],
        "kit.version": __version__,
        LANG_PROPERTY: lang,
    }
    text = "".join(f"{k}={_escape(str(v))}\n" for k, v in lines.items())
    (alluredir / "environment.properties").write_text(text, encoding="utf-8")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").encode("unicode_escape").decode("ascii")


# -- fixtures -------------------------------------------------------------------------------------------


def _kit(request: pytest.FixtureRequest) -> KitSession:
    return request.config.pluginmanager.get_plugin("jpkikit-session")


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> Any:
    """The loaded profile of the implementation under test."""
    return _kit(request).profile


@pytest.fixture(scope="session")
def catalogue(request: pytest.FixtureRequest) -> Any:
    return _kit(request).catalogue


#: How long a (re)connection waits for a card that is not in the reader yet: one a test took off the reader
#: and put back (RW-RM-01), or a served emulator that is reconnecting to pcscd.
CARD_BACK_WITHIN = 10.0


def _open_when_present(profile: Any) -> Any:
    """The profile's link; a card absent at this moment is waited for, a bounded while."""
    from jpkikit.harness.seam import open_link

    timeout = getattr(profile.ixit.transport, "timeout", None) or CARD_BACK_WITHIN
    deadline = time.monotonic() + min(CARD_BACK_WITHIN, timeout)
    while True:
        try:
            return open_link(profile)
        except CardAbsent:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


@pytest.fixture
def card(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A traced card session on the implementation under test, warm-reset before the test."""
    from jpkikit.host.card_session import CardSession

    kit = _kit(request)
    if not kit.opened_once and kit.link is None and kit.unit.lost_since is None:
        try:
            kit.link = CardSession(_open_when_present(kit.profile))
        except (ReaderNotFound, DeviceUnreachable) as exc:  # a set-up problem, not the device: stop the run
            kit.stopped = f"cannot reach the implementation: {exc}"
            pytest.exit(f"jpkikit: cannot reach the implementation: {exc}", returncode=2)
        except TransportError as exc:  # the unit itself does not answer: the bounded reconnects decide
            kit.unit.lost(request.node.nodeid, exc)
        else:
            kit.opened_once = True
            kit.start_unit(kit.link)
    cost = request.node.stash.get(cost_key, None)
    if kit.preflight is not None and kit.preflight.incomplete and cost and cost.effects & PIN_EFFECTS:
        pytest.skip(f"{PREFLIGHT_PIN_SKIP}{kit.preflight.incomplete}")
    from jpkikit.harness.reachability import UnitUnreachable

    try:  # the link broke in an earlier test (timeout, card gone, garbage): bounded reconnects, then give up
        kit.link = session = kit.unit.session(request.node.nodeid, kit.link)
    except UnitUnreachable:
        kit.link = None
        if kit.unit.trace is not None:
            _save_trace(request, kit.unit.trace)
        raise
    if not kit.opened_once:  # the unit was unreachable from the first test and answered now
        kit.opened_once = True
        kit.start_unit(session)
    request.node.stash[session_key] = session
    try:
        yield session
    finally:
        trace = session.tracer.restart()
        _save_trace(request, trace)
        if any(e.error for e in trace.exchanges):
            try:
                session.close()
            except KitError:
                pass
            kit.link = None


@pytest.fixture
def fresh_card(request: pytest.FixtureRequest, card: Any) -> Iterator[Callable[[], Any] | None]:
    """A maker of sessions on a brand-new card (initial PINs, keys, counters), for tests that do what cannot
    be undone over the card interface (blocking a PIN). None where the kit cannot renew the implementation:
    a real device. The kit's own emulator is renewed in-process, or, when the kit launched it behind vpcd,
    through PC/SC with its test-bed factory-reset command."""
    from jpkikit.harness.seam import renewal

    with renewal(_kit(request).profile, card) as renew:
        yield renew


def _save_trace(request: pytest.FixtureRequest, trace: Any) -> None:
    trace_dir = request.config.getoption("trace_dir")
    if trace_dir:
        name = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
        directory = Path(trace_dir)
        directory.mkdir(parents=True, exist_ok=True)
        safe = request.node.name.replace("/", "_")[:60]
        trace.save(directory / f"{safe}-{name}.json")
