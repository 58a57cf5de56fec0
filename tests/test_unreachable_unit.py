"""A unit that stops answering in the middle of a run (it hangs, it is pulled out, it answers garbage
framing): bounded reconnects, then every remaining test inconclusive at once with "unit unreachable since
<test>", results written, a non-zero exit and no traceback; a unit that comes back is picked up again
(jpkikit.harness.reachability; the fault layer is tests/faulty_link.py, run through ``jpkikit certify``)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from jpkikit.errors import CardAbsent, DeviceTimeout
from jpkikit.harness import reachability
from jpkikit.harness.reachability import Reachability, UnitUnreachable
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport

from .cli_runner import no_traceback
from .conformance_runner import REPO

KEYWORD = "iso7816 or jpki"  # about 70 tests, 1 500 APDUs: the fault starts in the middle
AFTER = 600  # APDUs the unit answers before it misbehaves
TIMEOUT = 1.0  # the link's own bound (the part ixit.transport.timeout plays on a PC/SC reader)
REST_OF_RUN = 10.0  # seconds the rest of the run may take once the kit gave up on the unit (generous: CI)


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    results: Path
    events: list[tuple[float, str]]  # the fault layer's log: (time, event)
    ended: float

    @property
    def cases(self) -> list[tuple[str, str, str]]:
        """(node id, verdict, message) of every test, in the order they ran."""
        out = []
        for case in ET.parse(self.results / "junit.xml").getroot().iter("testcase"):
            node = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
            verdict = next(p.get("value") for p in case.iter("property") if p.get("name") == "verdict")
            problem = case.find("error") if case.find("error") is not None else case.find("failure")
            out.append((node, verdict or "", problem.get("message", "") if problem is not None else ""))
        return out

    def first(self, event: str) -> float:
        return next(t for t, e in self.events if e.startswith(event))


def certify(tmp_path: Path, fault: str) -> Run:
    log = tmp_path / "fault.log"
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        JPKIKIT_FAULT=fault,
        JPKIKIT_FAULT_TIMEOUT=str(TIMEOUT),
        JPKIKIT_FAULT_LOG=str(log),
    )
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "jpkikit",
        "certify",
        "--profile",
        str(REPO / "profiles/emulator-gpse.yaml"),
    ]
    command += ["--results", str(results), "-k", KEYWORD, "--", "-p", "tests.faulty_link"]
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    ended = time.time()
    events = []
    for line in log.read_text().splitlines() if log.is_file() else []:
        t, _, what = line.partition(" ")
        events.append((float(t), what))
    return Run(proc, results, events, ended)


UNREACHABLE = re.compile(re.escape(reachability.UNREACHABLE_PREFIX) + r"(\S+): ")


def assert_ends_with_verdicts(run: Run) -> str:
    """The common outcome of a unit that never comes back; returns the test it was lost in.

    The unit is lost in the first inconclusive test, in one of two ways: it stopped answering in that
    test's body (the test ends with the transport error; the tests after it are the unreachable ones), or
    at the warm reset the ``card`` fixture gives that test before it (the reconnects fail there and then:
    the test is itself the first "unit unreachable since <itself>"). The count the summary gives is what the
    run recorded: the tests whose reason is "unit unreachable since <that test>". (The fault layer's runs here
    start in a test's body as the suite stands; tests/test_inprocess_timeout.py runs a simulator that
    hangs in each place.)"""
    out = run.proc.stdout
    assert run.proc.returncode == 1, out[-3000:] + run.proc.stderr[-2000:]
    no_traceback(run.proc)
    ran = [(n, v, m) for n, v, m in run.cases if v not in ("not applicable", "not exercised")]
    verdicts = [v for _, v, _ in ran]
    assert "fail" not in verdicts and "kit error" not in verdicts, out[-3000:]
    lost_at = verdicts.index("inconclusive")
    since = ran[lost_at][0]
    assert lost_at > 5, "the fault starts in the middle of the run, after passing tests"
    assert set(verdicts[lost_at:]) == {"inconclusive"}
    named = {match.group(1) for _, _, m in ran if (match := UNREACHABLE.search(m))}
    assert named == {since}, f"the unreachable tests name {named}, the unit was lost in {since}"
    unreachable = f"unit unreachable since {since}: "
    at_reset = unreachable in ran[lost_at][2]  # the reconnects before the test it was lost in failed
    first = lost_at if at_reset else lost_at + 1
    assert all(unreachable in m for _, _, m in ran[first:]), ran[first]
    assert not any(unreachable in m for _, _, m in ran[:first]), ran[:first]
    assert f"{unreachable}" in out and "it did not answer again" in out
    assert f"{len(ran) - first} tests inconclusive because the unit was unreachable" in out
    assert "whether the unit was left as found is INCONCLUSIVE" in out
    # results written: JUnit (read above), Allure, the unit's state, a trace per test that needed the unit
    allure = list((run.results / "allure-results").glob("*-result.json"))
    assert len(allure) == len(run.cases)
    state = json.loads((run.results / "unit-state.json").read_text())
    assert state["read_back"].startswith("inconclusive: unit unreachable since")
    assert state["before"] and all(
        v.startswith("not read back: unit unreachable") for v in state["after"].values()
    )
    assert len(list((run.results / "traces").glob("*.json"))) == len(ran)
    return since


def test_a_unit_that_hangs_costs_one_timeout_and_the_reconnects(tmp_path: Path) -> None:
    run = certify(tmp_path, f"hang:{AFTER}")
    assert_ends_with_verdicts(run)
    hangs = [t for t, e in run.events if e.startswith("hang")]
    started = hangs[0]
    # one timeout in the test it hung in, one per reconnect attempt, one for the read-back at the end, and
    # at most one probe per PROBE_BACKOFF seconds between them
    probes = math.ceil((run.ended - started) / reachability.PROBE_BACKOFF)
    assert len(hangs) <= 1 + reachability.RECONNECT_ATTEMPTS + 1 + probes, run.events
    bound = len(hangs) * TIMEOUT + reachability.RECONNECT_PAUSE + REST_OF_RUN
    assert run.ended - started <= bound, f"{run.ended - started:.1f} s after the hang; bound {bound:.1f} s"


def test_a_unit_pulled_out_ends_in_seconds(tmp_path: Path) -> None:
    run = certify(tmp_path, f"pull:{AFTER}")
    assert_ends_with_verdicts(run)
    assert "SCARD_E_NO_SMARTCARD" in run.proc.stdout
    # the reconnect attempts wait up to their bound for the card; later probes fail at once
    bound = reachability.RECONNECT_ATTEMPTS * TIMEOUT + reachability.RECONNECT_PAUSE + REST_OF_RUN
    assert run.ended - run.first("pull") <= bound


def test_a_unit_answering_garbage_framing_ends_in_seconds(tmp_path: Path) -> None:
    run = certify(tmp_path, f"garbage:{AFTER}")
    assert_ends_with_verdicts(run)
    assert "garbage framing" in run.proc.stdout
    assert run.ended - run.first("garbage") <= reachability.RECONNECT_PAUSE + REST_OF_RUN


def test_a_unit_put_back_is_picked_up_again(tmp_path: Path) -> None:
    # out for the two reconnect attempts (each polls for the card for its bound) and a few probes after them
    run = certify(tmp_path, f"pull:{AFTER}:14")
    assert run.proc.returncode == 1
    no_traceback(run.proc)
    assert any(e == "back" for _, e in run.events), run.events
    out = run.proc.stdout
    assert "and answered again at conformance/" in out, out[-3000:]
    ran = [(n, v, m) for n, v, m in run.cases if v not in ("not applicable", "not exercised")]
    verdicts = [v for _, v, _ in ran]
    back = max(i for i, (_, v, _) in enumerate(ran) if v == "inconclusive") + 1
    assert 1 < verdicts.count("inconclusive") < 10 and set(verdicts[back:]) == {"pass"}, verdicts
    assert "it did not answer again" not in out and "INCONCLUSIVE" not in out  # read back at the end


# -- the rules, without a run -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Unit:
    """A fake unit behind a fake opener: answering, hanging (each call costs ``bound``) or absent."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.state, self.opens = clock, "up", 0

    def open(self, bound: float) -> CardSession:
        self.opens += 1
        if self.state == "absent":
            raise CardAbsent("no card")
        from jpkikit.reference.emulator.build import make_card

        session = CardSession(InProcessTransport(make_card("gp-se")))
        if self.state == "hang":

            def hang(cold: bool = False) -> bytes:
                self.clock.sleep(bound)
                raise DeviceTimeout(f"no answer within {bound:g} s")

            session.tracer.reset = hang  # type: ignore[method-assign]
        return session


def watch(clock: Clock, unit: Unit) -> Reachability:
    return Reachability(unit.open, bytes.fromhex("00A4040C00"), 2.0, None, clock=clock, pause=clock.sleep)


def test_reconnects_are_bounded_then_probes_back_off_after_a_hang() -> None:
    clock = Clock()
    unit = Unit(clock)
    w = watch(clock, unit)
    session = w.session("t1", None)
    w.lost("t1", DeviceTimeout("no answer"))
    unit.state = "hang"
    with pytest.raises(UnitUnreachable, match="unit unreachable since t1: no answer within 2 s"):
        w.session("t2", session)
    assert unit.opens == 1 + reachability.RECONNECT_ATTEMPTS
    assert clock.now == reachability.RECONNECT_ATTEMPTS * 2.0 + reachability.RECONNECT_PAUSE
    with pytest.raises(UnitUnreachable):  # the last attempt hung: no probe for PROBE_BACKOFF seconds
        w.session("t3", None)
    assert unit.opens == 1 + reachability.RECONNECT_ATTEMPTS and w.unprobed == 1
    clock.now += reachability.PROBE_BACKOFF
    unit.state = "up"
    assert w.session("t4", None) is not None
    assert w.returns == [("t4", "t1")] and w.lost_since is None and w.refused == 2


def test_a_pulled_card_is_probed_before_every_test() -> None:
    clock = Clock()
    unit = Unit(clock)
    w = watch(clock, unit)
    w.session("t1", None)
    w.lost("t1", CardAbsent("removed"))
    unit.state = "absent"
    for test in ("t2", "t3", "t4"):
        with pytest.raises(UnitUnreachable, match="since t1"):
            w.session(test, None)
    assert w.unprobed == 0 and w.refused == 3
    unit.state = "up"
    assert w.read_back(None) is not None and w.returns[-1][1] == "t1"


# -- through pcscd: a served card that stops answering -------------------------------------------------------


@pytest.mark.pcsc
def test_a_hanging_card_behind_pcscd_costs_the_bounded_reconnects() -> None:
    from jpkikit.host.pcsc import PcscTransport

    from .pcsc_support import READER, require_free_slot, served
    from .test_vpcd_pcsc import EchoCard

    require_free_slot()
    card, bound = EchoCard(), 1.0
    w = Reachability(
        lambda timeout: CardSession(PcscTransport(READER, timeout=timeout)), bytes(4), bound, bound
    )
    with served(card):  # type: ignore[arg-type]
        session = w.session("t1", None)
        card.delay = 60.0  # the card stops answering
        with pytest.raises(DeviceTimeout):
            session.transmit(bytes(4))
        w.lost("t1", DeviceTimeout("no answer"))
        started = time.monotonic()
        with pytest.raises(UnitUnreachable, match="unit unreachable since t1"):
            w.session("t2", session)
        took = time.monotonic() - started
        assert took <= reachability.RECONNECT_ATTEMPTS * bound + reachability.RECONNECT_PAUSE + 1.5, took
        with pytest.raises(UnitUnreachable):  # the probe hung: the next tests do not touch the unit
            w.session("t3", None)
        assert w.unprobed == 1
        card.delay = 0.0  # the card answers again
        card.wake.set()  # (and the stuck call returns)
        back = w.read_back(None)  # one probe whatever the back-off: the unit is picked up again
        assert back.transmit(bytes(4)).sw == 0x9000
        back.close()
