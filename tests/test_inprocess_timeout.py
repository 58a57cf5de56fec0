"""The in-process link bounded in time (jpkikit.host.link.InProcessTransport): a vendor simulator that hangs
gives a DeviceTimeout within ``ixit.transport.timeout``, through every in-process link the kit opens (the
unit's, the new cards of renewable tests, the test bed's, the SE the kit plays for a TSM, the mutation
tool's), and a certification against it ends in verdicts ("unit unreachable since ...") in bounded time,
not a stuck run, whether it hangs in a test or at the reset between two tests. The hanging simulator is
tests/hanging_card.py; the run's checks are those of tests/test_unreachable_unit.py."""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

import pytest

from jpkikit.cli import mutation as cli
from jpkikit.errors import DeviceTimeout
from jpkikit.harness import reachability, seam
from jpkikit.harness.profile import load_profile
from jpkikit.harness.seam import open_link
from jpkikit.host import mutants
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.reference.emulator.build import make_card

from . import hanging_card
from .cli_runner import jpkikit
from .conformance_runner import REPO
from .hanging_card import AFTER_ENV, AT_ENV, Device, HangingCard
from .test_unreachable_unit import Run, assert_ends_with_verdicts

SELECT_ABSENT = bytes.fromhex("00A4040007A0000000999999")  # an AID no card holds: 6A82
BOUND = 0.3  # the bound of the unit tests, in seconds
SLACK = 2.0  # what a loaded CI machine may add to a bound (generous)


@pytest.fixture(autouse=True)
def _alarm_left_clean() -> Iterator[None]:
    before = signal.getsignal(signal.SIGALRM)
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "a timer was left armed"
    assert signal.getsignal(signal.SIGALRM) is before, "the SIGALRM handler was not put back"


# -- the transport -------------------------------------------------------------------------------------------


def test_a_hang_becomes_a_device_timeout_within_the_bound() -> None:
    device = Device(after=2)
    link = InProcessTransport(HangingCard(device), "hanging simulator", timeout=BOUND)
    assert link.transmit(SELECT_ABSENT)[-2:] == b"\x6a\x82"
    assert link.transmit(SELECT_ABSENT)[-2:] == b"\x6a\x82"
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"the simulated card did not answer within 0\.3 s \(process\)"):
        link.transmit(SELECT_ABSENT)
    took = time.monotonic() - started
    assert BOUND <= took <= BOUND + SLACK, took
    assert device.spins == 1 and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    # the card was interrupted mid-call: the link is unusable, and says so at once
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"is unusable: process timed out after 0\.3 s"):
        link.reset()
    assert time.monotonic() - started < BOUND and device.spins == 1
    link.close()  # no power-off of a card left mid-call: no new hang, no error
    assert device.spins == 1


def stopped() -> Device:
    """A device that already hung once: its power and reset calls spin."""
    device = Device(after=0)
    device.spins = 1
    return device


def test_power_and_reset_are_bounded_too() -> None:
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match=r"within 0\.3 s \(power on\)"):
        InProcessTransport(HangingCard(stopped()), timeout=BOUND)
    assert time.monotonic() - started <= BOUND + SLACK
    for cold, what in ((False, "warm reset"), (True, "power off")):
        device = Device(after=10)
        link = InProcessTransport(HangingCard(device), timeout=BOUND)
        link.transmit(SELECT_ABSENT)
        device.spins = 1  # it stops now
        with pytest.raises(DeviceTimeout, match=rf"\({what}\)"):
            link.reset(cold)
        link.close()


def test_close_of_a_card_that_hangs_on_power_off_is_bounded_and_quiet() -> None:
    device = Device(after=10)
    link = InProcessTransport(HangingCard(device), timeout=BOUND)
    link.transmit(SELECT_ABSENT)
    device.spins = 1  # it stops, and the link does not know yet
    started = time.monotonic()
    link.close()
    assert time.monotonic() - started <= BOUND + SLACK and device.spins == 2


def test_a_card_that_answers_is_unaffected() -> None:
    link = InProcessTransport(make_card("gp-se", None), timeout=BOUND)
    for _ in range(200):
        assert link.transmit(SELECT_ABSENT)[-2:] == b"\x6a\x82"
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed after every call
    time.sleep(BOUND * 1.5)  # longer than the bound between two calls: nothing fires
    assert link.reset() == link.atr and link.reset(cold=True) == link.atr
    assert link.transmit(SELECT_ABSENT)[-2:] == b"\x6a\x82"
    link.close()
    link.close()  # twice: safe


def test_no_bound_without_a_timeout_and_set_timeout_gives_one() -> None:
    link = InProcessTransport(make_card("gp-se", None))
    assert link.timeout is None
    link.transmit(SELECT_ABSENT)
    assert signal.getsignal(signal.SIGALRM) is not link_handler()  # nothing installed for an unbounded link
    link.set_timeout(BOUND)
    link.card = HangingCard(Device(after=0))
    with pytest.raises(DeviceTimeout, match=r"within 0\.3 s"):
        link.transmit(SELECT_ABSENT)
    link.close()
    with pytest.raises(ValueError, match="positive"):
        InProcessTransport(make_card("gp-se", None), timeout=0)


def link_handler() -> object:
    from jpkikit.host import link

    return link._on_alarm


def test_the_previous_sigalrm_handler_is_kept_and_put_back() -> None:
    seen: list[int] = []

    def previous(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    old = signal.signal(signal.SIGALRM, previous)
    try:
        first = InProcessTransport(make_card("gp-se", None), timeout=5.0)
        second = InProcessTransport(make_card("gp-se", None), timeout=5.0)
        first.transmit(SELECT_ABSENT)
        second.transmit(SELECT_ABSENT)
        assert signal.getsignal(signal.SIGALRM) is link_handler()  # one handler for both links
        first.close()
        assert signal.getsignal(signal.SIGALRM) is link_handler()  # the second link still needs it
        # someone else's timer, while the link's handler is installed, still reaches its own handler
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(0.3)
        assert seen == [signal.SIGALRM]
        second.close()
        assert signal.getsignal(signal.SIGALRM) is previous
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_a_timer_already_running_is_not_nested() -> None:
    seen: list[float] = []

    class Watching(HangingCard):
        def process(self, command: bytes) -> bytes:
            seen.append(signal.getitimer(signal.ITIMER_REAL)[0])
            return super().process(command)

    inner = InProcessTransport(Watching(Device(after=10)), "inner", timeout=60.0)

    class Driving(HangingCard):  # a simulator that drives another in-process link (re-entrant use)
        def process(self, command: bytes) -> bytes:
            inner.transmit(command)
            return super().process(command)

    outer = InProcessTransport(Driving(Device(after=1)), "outer", timeout=BOUND)
    outer.transmit(SELECT_ABSENT)
    assert 0 < seen[0] <= BOUND, "the inner call ran under the outer bound, not its own 60 s"
    with pytest.raises(DeviceTimeout, match=r"outer: the simulated card did not answer within 0\.3 s"):
        outer.transmit(SELECT_ABSENT)  # the outer card hangs after its inner call
    assert not inner.broken
    outer.close()
    inner.close()


def test_outside_the_main_thread_no_timer_is_armed() -> None:
    seen: dict[str, object] = {}

    class Slow(HangingCard):
        def process(self, command: bytes) -> bytes:
            seen["timer"] = signal.getitimer(signal.ITIMER_REAL)
            time.sleep(BOUND * 2)  # longer than the bound: not interrupted, not a timeout
            return super().process(command)

    def serve() -> None:  # as the reference handset serves its card from an HTTP thread
        link = InProcessTransport(Slow(Device(after=10)), timeout=BOUND)
        seen["answer"] = link.transmit(SELECT_ABSENT)
        seen["handler"] = signal.getsignal(signal.SIGALRM)
        link.close()

    before = signal.getsignal(signal.SIGALRM)
    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(10)
    assert seen == {"timer": (0.0, 0.0), "answer": b"\x6a\x82", "handler": before}


# -- the profile: ixit.transport.timeout reaches the in-process link -----------------------------------------


def bounded_profile(
    tmp_path: Path, timeout: float | None, factory: str | None = None, base: str = "emulator-gpse"
) -> Path:
    transport = "{kind: emulator, personality: gp-se"
    transport += f", factory: {factory}" if factory else ""
    transport += f", timeout: {timeout}" if timeout is not None else ""
    path = tmp_path / f"bounded-{base}.yaml"
    path.write_text(
        "schema: jpkikit-profile/1\n"
        f"extends: {REPO / 'profiles' / base}.yaml\n"
        f"implementation: {{name: {base} (bounded)}}\n"
        f"ixit:\n  transport: {transport}}}\n",
        encoding="utf-8",
    )
    return path


def test_open_link_passes_the_profile_timeout(tmp_path: Path) -> None:
    profile = load_profile(bounded_profile(tmp_path, 1.5))
    assert profile.ixit.transport.timeout == 1.5
    for timeout, expected in ((None, 1.5), (0.25, 0.25)):  # the argument wins: a reconnect's probe
        with open_link(profile, timeout=timeout) as link:
            assert isinstance(link.inner, InProcessTransport) and link.inner.timeout == expected
    bundled = load_profile(REPO / "profiles/emulator-gpse.yaml")
    assert bundled.ixit.transport.timeout is None  # no default for the emulator kind: no bound unless set
    with open_link(bundled) as link:
        assert isinstance(link.inner, InProcessTransport) and link.inner.timeout is None


# -- the other in-process links: a new card, the test bed, the kit's SE for a TSM, the mutation tool -------


@pytest.fixture
def hung_unit(monkeypatch: pytest.MonkeyPatch) -> Device:
    """The hanging factory's one unit, new for this test: it hangs at its first command."""
    device = Device(after=0)
    monkeypatch.setattr(hanging_card, "_unit", device)
    return device


def assert_bounded(call: Callable[[], object], what: str = "process") -> None:
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match=rf"did not answer within 0\.3 s \({what}\)"):
        call()
    assert time.monotonic() - started <= BOUND + SLACK


def shared_card() -> CardSession:
    session = CardSession(InProcessTransport(make_card("gp-se", None), "the run's card"))
    session.reset()
    return session


@pytest.mark.parametrize("timeout", [BOUND, None])
def test_new_cards_and_the_test_bed_get_the_profile_bound(
    tmp_path: Path, hung_unit: Device, timeout: float | None
) -> None:
    profile = load_profile(bounded_profile(tmp_path, timeout, factory="tests.hanging_card:hangs"))
    card = shared_card()
    opened: list[CardSession] = []
    with seam.renewal(profile, card) as renew, seam.testbed(profile, card) as bed:
        assert renew is not None and bed is not None
        opened += [renew(), bed()]
    own = card.tracer.inner
    with seam.fresh_link(profile, card) as fresh:  # the run's card on a new card's link, for a while
        fresh_link = fresh.tracer.inner
        assert isinstance(fresh_link, InProcessTransport) and fresh_link is not own
        assert fresh_link.timeout == timeout
        if timeout is not None:  # a hang here is bounded (unbounded, it would spin for ever: not tried)
            assert_bounded(lambda: fresh.transmit(SELECT_ABSENT))
    assert card.tracer.inner is own and card.transmit(SELECT_ABSENT).sw == 0x6A82
    for session in opened:
        link = session.tracer.inner
        assert isinstance(link, InProcessTransport) and link.timeout == timeout
        if timeout is not None:
            assert_bounded(lambda: session.transmit(SELECT_ABSENT))  # noqa: B023
        session.close()
    card.close()
    assert fresh_link.broken == (timeout is not None)


def test_the_kit_se_for_a_tsm_gets_the_profile_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.tsm import support

    device = Device(after=1)  # the phone's SE answers its first command (the SELECT of COMMIT), then hangs
    monkeypatch.setattr(support, "kit_se", lambda profile, **options: (HangingCard(device), None))
    for timeout in (None, BOUND):
        profile = load_profile(bounded_profile(tmp_path, timeout, base="reference-tsm"))
        assert seam.in_process_timeout(profile) == timeout
        harness = SimpleNamespace(profile=profile, url="https://127.0.0.1:1/admin", tls=None)
        phone = support.Phone(harness)  # type: ignore[arg-type]
        link = phone.session.tracer.inner
        assert isinstance(link, InProcessTransport) and link.timeout == timeout
    assert_bounded(lambda: phone.commit("auth"))  # the app's COMMIT, from the main thread
    phone.session.close()


def test_the_mutation_tool_links_get_the_profile_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for timeout in (1.5, None):  # the certification's link to the proxy: the derived profile's transport
        unit = load_profile(bounded_profile(tmp_path, timeout, factory="tests.hanging_card:hangs"))
        (tmp_path / str(timeout)).mkdir()
        derived = load_profile(cli.write_derived_profile(unit, tmp_path / str(timeout), None, 10.0))
        assert derived.ixit.transport.factory == cli.MUTATED_FACTORY
        assert derived.ixit.transport.timeout == timeout
    # the campaign names the bound of the proxy's link to the unit in the mutant's environment
    seen: dict[str, Any] = {}

    def certify(self: Any, out: Path, deadline: float, keyword: str | None, env: dict[str, str]) -> None:
        seen.update(json.loads(env[cli.MUTANT_ENV]))

    monkeypatch.setattr(cli.Campaign, "_certify", certify)
    args = argparse.Namespace(
        profile=str(bounded_profile(tmp_path, 1.5, factory="tests.hanging_card:hangs")),
        mutants=mutants.IDENTITY,
        param=None,
        results=str(tmp_path / "campaign"),
        upstream_reader=None,
    )
    campaign = cli.Campaign(args)
    campaign.prepare()
    assert campaign.run_mutant(mutants.mutant_class(mutants.IDENTITY), None, 30.0, None).outcome == "hung"
    assert seen["timeout"] == 1.5 and seen["factory"] == "tests.hanging_card:hangs"
    # the proxy's link to the unit is bounded on its own, and under the link to the proxy
    monkeypatch.setattr(cli, "_PROXIES", [])
    for inner, outer in ((BOUND, None), (None, BOUND)):
        monkeypatch.setattr(hanging_card, "_unit", Device(after=1))
        spec = {"id": mutants.IDENTITY, "factory": "tests.hanging_card:hangs", "timeout": inner}
        monkeypatch.setenv(cli.MUTANT_ENV, json.dumps(spec))
        link = InProcessTransport(cli.mutated_emulator("gp-se", None), "the proxy", timeout=outer)
        assert link.transmit(SELECT_ABSENT)[-2:] == b"\x6a\x82"
        assert_bounded(lambda: link.transmit(SELECT_ABSENT))  # noqa: B023
        link.close()


# -- a certification against a simulator that hangs ----------------------------------------------------------

TIMEOUT = 1.0  # ixit.transport.timeout of the run
AFTER = 120  # commands the simulator answers before it hangs: after the pre-flight, among the iso7816 tests
KEYWORD = "iso7816"  # 17 tests, 15 of them reach the card
REST_OF_RUN = 15.0  # seconds the rest of the run may take once the unit is given up (generous: CI)


@pytest.mark.parametrize("at", ["command", "setup"])
def test_a_certification_against_a_hanging_simulator_ends_in_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: str
) -> None:
    """``command``: the simulator hangs at a command, inside a test; ``setup``: at the warm reset the
    ``card`` fixture gives the next test, between two tests (that test is then the first unreachable one)."""
    monkeypatch.setenv(AFTER_ENV, str(AFTER))
    monkeypatch.setenv(AT_ENV, at)
    profile = bounded_profile(tmp_path, TIMEOUT, factory="tests.hanging_card:hangs")
    results = tmp_path / "results"
    plugin = ["--", "-p", "tests.hanging_card"] if at == "setup" else []
    started = time.time()
    proc = jpkikit(
        "certify", "--profile", str(profile), "--results", str(results), "-k", KEYWORD, *plugin, timeout=300
    )
    run = Run(proc, results, events=[], ended=time.time())
    took = run.ended - started
    since = assert_ends_with_verdicts(run)
    assert "the simulated card did not answer within 1 s" in run.proc.stdout
    lost = next(m for n, _, m in run.cases if n == since)
    at_reset = f"unit unreachable since {since}: " in lost
    assert at_reset == (at == "setup"), lost
    if at_reset:
        assert "within 1 s (warm reset)" in lost or "within 1 s (power on)" in lost, lost
    # The bound, with T = 1 s and P = min(T, PROBE_TIMEOUT) = 1 s: T in the test it hung in (or at its
    # reset), the reconnect attempts (2 P + 0.5 s), P for the read-back and one P per PROBE_BACKOFF (15 s)
    # of the run, plus the run itself (REST_OF_RUN): 1 + 2 + 0.5 + 1 + 15 = 19.5 s while the run is shorter
    # than 15 s.
    probe = min(TIMEOUT, reachability.PROBE_TIMEOUT)
    probes = reachability.RECONNECT_ATTEMPTS + 1 + took // reachability.PROBE_BACKOFF
    bound = TIMEOUT + probes * probe + reachability.RECONNECT_PAUSE + REST_OF_RUN
    assert took <= min(bound, 60.0), f"{took:.1f} s (lost in {since}); bound {bound:.1f} s"


def test_a_mutation_run_against_a_hanging_simulator_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``jpkikit mutate run`` in-process: the certification's link to the proxy and the proxy's link to the
    unit are both bounded, so the identity run ends in verdicts (its reconnects build a new proxy whose
    link to the hung unit powers it up outside any other bound)."""
    monkeypatch.setenv(AFTER_ENV, str(AFTER))
    profile = bounded_profile(tmp_path, TIMEOUT, factory="tests.hanging_card:hangs")
    results = tmp_path / "mutation"
    started = time.time()
    command = ["mutate", "run", "--profile", str(profile), "--mutants", mutants.IDENTITY, "-k", KEYWORD]
    proc = jpkikit(*command, "--results", str(results), timeout=120)
    took = time.time() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    identity = json.loads((results / "mutation.json").read_text())["identity"]
    assert identity["outcome"] == "inconclusive" and identity["counts"]["pass"] > 5, identity
    log = (results / mutants.IDENTITY / "certify.log").read_text()
    assert "the simulated card did not answer within 1 s" in log and "it did not answer again" in log
    assert took <= 60.0, f"{took:.1f} s"
