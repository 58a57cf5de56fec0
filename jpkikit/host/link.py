"""Links to an implementation: the one small interface every link offers (``transmit(bytes) -> bytes``,
``reset``, ``atr``, ``close``), the layer base class, and the in-process link to a simulated card (what a
card simulation offers to whatever carries APDUs to it: this link, the vpcd server).

Layers stack like a processor chain: formatter -> GET RESPONSE handling -> (SCP03 wrap) -> tracer -> link.
Each layer is a Transport that wraps another.
"""

from __future__ import annotations

import signal
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol, Self, TypeVar

from jpkikit.errors import CardAbsent, DeviceTimeout, TransportError

_T = TypeVar("_T")


class Transport(ABC):
    """A link that carries raw APDU bytes to an implementation and returns its raw response bytes."""

    #: Human-readable description of where this transport goes (reader name, "in-process gp-se", ...).
    description: str = "transport"

    @abstractmethod
    def transmit(self, command: bytes) -> bytes:
        """Send one command APDU, return the response APDU (data || SW1 SW2).

        Raises a TransportError subclass when the link fails; never returns garbage silently.
        """

    @abstractmethod
    def reset(self, cold: bool = False) -> bytes:
        """Warm reset (cold=False) or power cycle (cold=True); returns the ATR."""

    @property
    @abstractmethod
    def atr(self) -> bytes:
        """The ATR of the current power-up."""

    @abstractmethod
    def close(self) -> None:
        """Release the link. Safe to call twice."""

    def set_timeout(self, seconds: float) -> None:
        """Bound every later call to ``seconds`` where the link bounds its calls (a PC/SC reader, the
        in-process link in the main thread); a link without a bound of its own ignores it. The harness
        shortens the bound while it probes a unit that stopped answering (jpkikit.harness.reachability)."""
        del seconds

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Layer(Transport):
    """A transport that wraps another one and passes reset/atr/close through."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.description = inner.description

    def transmit(self, command: bytes) -> bytes:
        return self.inner.transmit(command)

    def reset(self, cold: bool = False) -> bytes:
        return self.inner.reset(cold)

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def close(self) -> None:
        self.inner.close()

    def set_timeout(self, seconds: float) -> None:
        self.inner.set_timeout(seconds)


class Borrowed(Layer):
    """A transport lent to someone else: closing it leaves the lender's link open."""

    def close(self) -> None:
        pass


# -- the in-process link: APDUs straight to a simulated card object, as bytes ---------------------------


class SimulatedCard(Protocol):
    """A card as seen from the contacts: power, reset, ATR and one APDU at a time.

    ``process`` never raises for any input bytes: malformed APDUs get a status word (ISO 7816-4 §5.6).
    """

    def power_on(self) -> bytes:
        """Cold reset: power the card up, clear all transient state; returns the ATR."""
        ...

    def power_off(self) -> None:
        """Remove power: all transient state is lost."""
        ...

    def reset(self) -> bytes:
        """Warm reset; returns the ATR."""
        ...

    @property
    def atr(self) -> bytes: ...

    def process(self, command: bytes) -> bytes:
        """Process one command APDU, return data || SW1 SW2."""
        ...


# -- the in-process link's bound: the process's real-time interval timer (ITIMER_REAL) ---------------------
#
# A PC/SC link bounds each call by waiting on a worker thread; a card simulated in this very process can
# only be interrupted from inside, by a signal. Around each call of a bounded InProcessTransport made in
# the main thread, the kit arms ITIMER_REAL for the bound; when it expires, the SIGALRM handler raises
# _Expired in the middle of the simulator's code, and the transport turns it into DeviceTimeout. One handler
# serves every bounded in-process link of the process: installed when the first needs it, the previous
# handler put back when the last is closed. Outside the main thread (the reference handset serves its card
# from HTTP threads) Python delivers signals to the main thread only, so no timer is armed: those calls are
# not bounded by the link.

_MAIN_THREAD = threading.main_thread().ident
_get_ident, _setitimer, _REAL = threading.get_ident, signal.setitimer, signal.ITIMER_REAL  # per APDU: ~1 us
_armed = False  # a bounded call of this module is running under the timer (never nested)
_late = False  # the timer expired while being disarmed: its signal may still reach the handler
_users = 0  # bounded in-process links that installed the handler and are not closed
_previous: Any = None  # the SIGALRM handler before ours


class _Expired(BaseException):
    """The bound of an in-process call expired. A BaseException, so that a simulator's own ``except
    Exception`` (the kit's emulator answers 6F00 to any crash of an applet) cannot swallow it."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    global _armed, _late
    if _armed:
        _armed = _late = False
        raise _Expired
    if _late:  # our own signal, delivered after the call it bounded had ended: nothing to do
        _late = False
        return
    if callable(_previous):  # someone else's timer: theirs to handle
        _previous(signum, frame)


def _install() -> None:
    global _users, _previous
    if _users == 0 and signal.getsignal(signal.SIGALRM) is not _on_alarm:
        _previous = signal.signal(signal.SIGALRM, _on_alarm)
    _users += 1


def _release() -> None:
    global _users, _previous
    _users -= 1
    if _users == 0:
        if signal.getsignal(signal.SIGALRM) is _on_alarm:  # not replaced by someone since
            signal.signal(signal.SIGALRM, signal.SIG_DFL if _previous is None else _previous)
        _previous = None


class InProcessTransport(Transport):
    """APDUs straight to a simulated card object in this process.

    ``timeout`` (seconds, or None for no bound) bounds each call of the card (``process``, ``power_on``,
    ``reset``, ``power_off``) made from the main thread: a card that does not answer in time raises
    :class:`~jpkikit.errors.DeviceTimeout` and leaves the link unusable (later calls fail at once; close
    it and open a new one), as a PC/SC link does. Calls from other threads are not bounded; a call made
    while another bounded in-process call runs (a simulator that drives another in-process link) runs
    under that call's bound, not its own. The signal interrupts Python code: a simulator blocked inside
    C code that ignores signals is interrupted only once it returns to Python.
    """

    def __init__(
        self, card: SimulatedCard, description: str = "in-process emulator", timeout: float | None = None
    ) -> None:
        self.card = card
        self.description = description
        self._timeout = _checked(timeout)
        self._installed = False
        self._broken: str | None = None
        self._closed = False
        try:
            self._atr = self._call(card.power_on, "power on")
        except BaseException:
            self._closed = True
            self._uninstall()
            raise

    @property
    def timeout(self) -> float | None:
        return self._timeout

    def set_timeout(self, seconds: float | None) -> None:
        """Bound every later call of the card to ``seconds`` (None: no bound)."""
        self._timeout = _checked(seconds)

    @property
    def broken(self) -> bool:
        """True after a call timed out: the simulated card was interrupted mid-call and cannot be trusted."""
        return self._broken is not None

    def _call(self, fn: Callable[..., _T], what: str, *args: Any) -> _T:
        global _armed, _late
        if self._broken:
            raise DeviceTimeout(f"{self.description} is unusable: {self._broken}; close it and open it again")
        bound = self._timeout
        if bound is None or _armed or _get_ident() != _MAIN_THREAD:
            return fn(*args)
        if not self._installed:
            _install()
            self._installed = True
        try:
            _armed = True
            # ITIMER_REAL is one per process: a timer someone else armed is left running, not nested
            running = _setitimer(_REAL, bound)
            if running[0]:
                _setitimer(_REAL, *running)
                _armed = False
            try:
                return fn(*args)
            finally:
                if _armed:
                    _late = _setitimer(_REAL, 0)[0] == 0
                    _armed = False
        except _Expired:
            self._broken = f"{what} timed out after {bound:g} s"
            raise DeviceTimeout(
                f"{self.description}: the simulated card did not answer within {bound:g} s ({what})"
            ) from None

    def transmit(self, command: bytes) -> bytes:
        if self._closed:
            raise CardAbsent(f"{self.description}: transport is closed")
        try:
            return self._call(self.card.process, "process", bytes(command))
        except TransportError:
            raise
        except Exception as exc:  # a vendor's simulator (a factory) may raise; the bundled one never does
            raise TransportError(f"{self.description}: the simulated card raised {exc!r}") from exc

    def reset(self, cold: bool = False) -> bytes:
        if self._closed:
            raise CardAbsent(f"{self.description}: transport is closed")
        if cold:
            self._call(self.card.power_off, "power off")
            self._atr = self._call(self.card.power_on, "power on")
        else:
            self._atr = self._call(self.card.reset, "warm reset")
        return self._atr

    @property
    def atr(self) -> bytes:
        return self._atr

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._broken is None:  # a card interrupted mid-call is left as it is
                self._call(self.card.power_off, "power off")
        except DeviceTimeout:
            pass  # best effort, bounded: a card that does not power off is not worth an error on close
        finally:
            self._uninstall()

    def _uninstall(self) -> None:
        if self._installed:
            self._installed = False
            try:
                _release()
            except ValueError:  # closed outside the main thread: the handler stays, a no-op once unarmed
                pass


def _checked(seconds: float | None) -> float | None:
    if seconds is not None and not seconds > 0:
        raise ValueError(f"an in-process link's timeout must be positive or None, got {seconds!r}")
    return None if seconds is None else float(seconds)
