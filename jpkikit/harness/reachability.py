"""A unit that stops answering, bounded in time (docs/certification.md, "A unit that stops answering").

The ``card`` fixture asks :class:`Reachability` for the session of each test:

* A test that ended with a :class:`~jpkikit.errors.TransportError` (no answer in time, the card or reader
  gone, garbage framing) leaves the unit *suspect*; that test is inconclusive with its own error.
* Before the next test touches the unit, the kit reconnects: at most :data:`RECONNECT_ATTEMPTS` attempts,
  :data:`RECONNECT_PAUSE` seconds apart. An attempt closes the link, opens it again (waiting up to
  :func:`probe_timeout` for a card absent from the reader), resets the card, SELECTs the JPKI application
  and resets again, every call bounded by :func:`probe_timeout`. An attempt
  that gets any answer to the SELECT ends the matter: the run carries on with that link.
* If none does, the unit is *unreachable since* the suspect test. Every later test that needs the unit is
  inconclusive with ``unit unreachable since <node id>: <last error>``, raised at once by the fixture.
* While the unit is unreachable, a test may first run one probe (one attempt as above): before every test
  while probes fail fast (a card pulled out, garbage framing), and at most once in :data:`PROBE_BACKOFF`
  seconds after a probe that used up its time bound (a unit that hangs). A probe that gets an answer picks
  the unit up again (reinserted, pcscd restarted) and the run carries on.

So a unit that hangs costs one transport timeout (the test it hangs in), then at most
``RECONNECT_ATTEMPTS`` × :func:`probe_timeout` plus the pauses, then one probe per ``PROBE_BACKOFF``
seconds; a pulled card or garbage framing costs one fast probe per test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jpkikit.errors import CardAbsent, DeviceTimeout, KitError, TransportError
from jpkikit.host.card_session import CardSession
from jpkikit.host.tracer import Exchange, Trace
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.ins import Ins

#: Reconnect attempts once a test lost the unit, before the unit counts as unreachable.
RECONNECT_ATTEMPTS = 2
#: Seconds between two reconnect attempts (a card reinserted, a reader re-enumerated).
RECONNECT_PAUSE = 0.5
#: Upper bound, in seconds, of each call of a reconnect attempt or probe (lower when the profile's
#: ``ixit.transport.timeout`` is lower). A healthy unit resets and answers a SELECT well within it.
PROBE_TIMEOUT = 5.0
#: Seconds between two looks for a card absent from the reader during a reconnect attempt.
CARD_POLL = 0.25
#: Seconds, after a probe that used up its time bound, before the next probe.
PROBE_BACKOFF = 15.0
UNREACHABLE_PREFIX = "unit unreachable since "
READ_BACK = "(the read-back at the end of the run)"


class UnitUnreachable(TransportError):
    """The unit did not answer the reconnect attempts: the test could not reach it (inconclusive)."""


def probe_timeout(profile: Any) -> float:
    """The bound of each call of a reconnect attempt: ``min(ixit.transport.timeout, PROBE_TIMEOUT)``."""
    timeout = getattr(profile.ixit.transport, "timeout", None)
    return min(float(timeout), PROBE_TIMEOUT) if timeout else PROBE_TIMEOUT


def _close(session: CardSession | None) -> None:
    if session is not None:
        try:
            session.close()
        except KitError:
            pass


Opener = Callable[[float], CardSession]


@dataclass
class Reachability:
    """Whether the unit answers, and the bounded reconnects and probes that decide it."""

    open: Opener  # a new session on the unit, every call bounded by the given seconds
    select: bytes  # the re-select of an attempt (SELECT of the JPKI application by DF name)
    bound: float  # probe_timeout(profile)
    full: float | None  # the profile's own bound, put back on a link an attempt reached the unit on
    clock: Callable[[], float] = time.monotonic
    pause: Callable[[float], None] = time.sleep
    suspect: str | None = None  # the first test since the unit last answered that ended with a TransportError
    lost_since: str | None = None  # the test since which the unit is unreachable
    last_error: str = ""
    refused: int = 0  # tests found inconclusive because the unit is unreachable
    unprobed: int = 0  # of them, those found so without touching the transport
    returns: list[tuple[str, str]] = field(default_factory=list)  # (test it came back at, lost since)
    trace: Trace | None = None  # exchanges of the last failed attempt (saved as that test's trace)
    _next_probe: float = 0.0

    @classmethod
    def for_profile(cls, profile: Any, open_session: Opener) -> Reachability:
        select = CommandApdu(0x00, Ins.SELECT, 0x04, 0x0C, profile.ixit.aids.jpki).to_bytes()
        full = getattr(profile.ixit.transport, "timeout", None)
        return cls(open_session, select, probe_timeout(profile), full)

    @property
    def reason(self) -> str:
        return f"{UNREACHABLE_PREFIX}{self.lost_since}: {self.last_error}"

    def lost(self, nodeid: str, exc: BaseException) -> None:
        """A test ended with a TransportError: the unit is suspect from that test on (the first counts)."""
        if self.suspect is None and self.lost_since is None:
            self.suspect = nodeid
        self.last_error = str(exc)

    def session(self, nodeid: str, current: CardSession | None) -> CardSession:
        """A reset session for test ``nodeid``: ``current`` when it still answers, else a new one; raises
        UnitUnreachable (see the module docstring for the bounds)."""
        self.trace = None
        if self.lost_since is not None:
            return self._probe(nodeid, current)
        if current is not None and self.suspect is None:
            current.tracer.restart()
            try:
                current.reset()
                return current
            except TransportError as exc:
                self.lost(nodeid, exc)
        for attempt in range(RECONNECT_ATTEMPTS):
            if attempt:
                self.pause(RECONNECT_PAUSE)
            new = self._attempt(current, wait=True)
            current = None
            if new is not None:
                self.suspect = None
                return new
        self.lost_since = self.suspect or nodeid
        self.suspect = None
        self.refused += 1
        raise UnitUnreachable(self.reason)

    def read_back(self, current: CardSession | None) -> CardSession:
        """The session for the read-back at the end of the run: like :meth:`session`, but a unit that is
        unreachable gets one probe whatever the back-off, and no new verdict depends on it."""
        if self.lost_since is None:
            return self.session(READ_BACK, current)
        self._next_probe = 0.0
        refused = self.refused
        try:
            return self.session(READ_BACK, current)
        finally:
            self.refused = refused

    def _probe(self, nodeid: str, current: CardSession | None) -> CardSession:
        self.refused += 1
        if self.clock() < self._next_probe:
            self.unprobed += 1
            self.trace = Trace(atr="", exchanges=[self._event("not probed (the last probe hung)")])
            raise UnitUnreachable(self.reason)
        new = self._attempt(current, wait=False)
        if new is None:
            raise UnitUnreachable(self.reason)
        self.refused -= 1
        self.returns.append((nodeid, self.lost_since or ""))
        self.lost_since = self.suspect = None
        return new

    def _attempt(self, current: CardSession | None, wait: bool) -> CardSession | None:
        """One reconnect: close, open, reset, SELECT, reset; None (and the reason kept) if the unit did not
        answer. ``wait``: a card absent from the reader is waited for, up to the attempt's bound."""
        _close(current)
        started = self.clock()
        session: CardSession | None = None
        try:
            while session is None:
                try:
                    session = self.open(self.bound)
                except CardAbsent:  # a card put back, a served card reconnecting: wait, a bounded while
                    if not wait or self.clock() - started >= self.bound:
                        raise
                    self.pause(CARD_POLL)
            session.reset()
            session.tracer.transmit(self.select)  # any answer will do: the unit is reachable
            session.reset()
        except TransportError as exc:
            self.last_error = str(exc)
            waited = not isinstance(exc, CardAbsent) and self.clock() - started >= self.bound
            hung = isinstance(exc, DeviceTimeout) or waited
            self._next_probe = self.clock() + PROBE_BACKOFF if hung else 0.0
            self.trace = session.tracer.trace if session is not None else Trace(atr="")
            self.trace.exchanges.append(self._event(f"reconnect failed: {exc}"))
            _close(session)
            return None
        if self.full:
            session.transport.set_timeout(self.full)
        return session

    def _event(self, what: str) -> Exchange:
        where = f"{UNREACHABLE_PREFIX}{self.lost_since or self.suspect or 'this test'}"
        return Exchange(0, 0, event="unit unreachable", meaning=f"{what} ({where})")
