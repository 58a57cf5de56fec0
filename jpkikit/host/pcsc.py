"""PC/SC link through pyscard: any reader, any card / SE / phone held to it (docs/architecture.md, host
layer).

Every pyscard call runs on a worker thread and is waited for with a timeout, because a PC/SC call can
block for ever (a mute card, a wedged reader driver, pcscd stuck). On timeout the transport raises
DeviceTimeout and is marked broken: later calls fail fast instead of queueing behind the stuck one.

PC/SC return codes (pcsc-lite ``pcsclite.h``, same values as WinSCard) are mapped onto the kit's errors. This
module does not interpret status words: 61xx / 6Cxx are handled by ``jpkikit.host.card_session``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeVar

from smartcard import scard

from jpkikit.errors import (
    CardAbsent,
    DeviceTimeout,
    DeviceUnreachable,
    ReaderNotFound,
    TransportError,
)
from jpkikit.host.link import Transport

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0

#: How to start pcscd, shown in DeviceUnreachable messages.
PCSCD_HINT = (
    "start it with 'systemctl start pcscd.socket' or, without systemd, run 'pcscd' as root "
    "(or let the kit start it: profile option 'pcscd: start-if-absent')"
)

_CODE_NAMES: dict[int, str] = {
    getattr(scard, n) & 0xFFFFFFFF: n
    for n in sorted(dir(scard), reverse=True)
    if n.startswith(("SCARD_E_", "SCARD_W_", "SCARD_F_", "SCARD_P_")) and isinstance(getattr(scard, n), int)
}

_UNREACHABLE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE}
_NO_READER = {
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_E_NO_READERS_AVAILABLE,
}
_NO_CARD = {scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD}
_GONE = {*_NO_CARD, scard.SCARD_E_INVALID_HANDLE}  # reset() answers these with a new connection

Protocol = Literal["T0", "T1", "any"]
_PROTOCOL_MASKS: dict[Protocol | None, int] = {
    None: scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    "any": scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    "T0": scard.SCARD_PROTOCOL_T0,
    "T1": scard.SCARD_PROTOCOL_T1,
}
_PROTOCOL_NAMES = {scard.SCARD_PROTOCOL_T0: "T=0", scard.SCARD_PROTOCOL_T1: "T=1"}


def code_name(hresult: int) -> str:
    """``SCARD_W_REMOVED_CARD (0x80100069)`` for a PC/SC return code."""
    code = hresult & 0xFFFFFFFF
    return f"{_CODE_NAMES.get(code, 'PC/SC error')} (0x{code:08X})"


def check(hresult: int, what: str, reader: str | None = None) -> None:
    """Raise the kit's error for a failed PC/SC call ``what`` (no-op on SCARD_S_SUCCESS)."""
    code = hresult & 0xFFFFFFFF
    if code == scard.SCARD_S_SUCCESS:
        return
    where = f" on reader {reader!r}" if reader else ""
    message = str(scard.SCardGetErrorMessage(hresult)).strip().rstrip(".")
    detail = f"{what}{where} failed: {code_name(code)}: {message}"
    if code in _UNREACHABLE:
        raise DeviceUnreachable(f"{detail}. pcscd is not running or was restarted; {PCSCD_HINT}")
    if code in _NO_READER:
        raise ReaderNotFound(f"{detail}. The reader is gone (unplugged, or pcscd restarted without it)")
    if code in _NO_CARD:
        raise CardAbsent(f"{detail}. No card in the reader, or it was removed")
    if code == scard.SCARD_W_RESET_CARD:
        raise CardAbsent(f"{detail}. Another application reset the card, its session state is lost; reset()")
    if code == scard.SCARD_E_TIMEOUT:
        raise DeviceTimeout(detail)
    if code == scard.SCARD_E_PROTO_MISMATCH:
        raise TransportError(
            f"{detail}. The card does not offer that protocol, or is already powered with the other one "
            "(the protocol only changes after a power cycle)"
        )
    if code == scard.SCARD_E_SHARING_VIOLATION:
        raise TransportError(f"{detail}. Another application holds the card exclusively")
    raise TransportError(detail)


# --- bounded calls ---------------------------------------------------------------------------------------


@dataclass
class _Job:
    fn: Callable[..., object]
    args: tuple[object, ...]
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn(*self.args)
        except BaseException as exc:  # handed back to the waiting thread, re-raised there
            self.error = exc
        finally:
            self.done.set()


class _Worker:
    """One daemon thread running queued calls in order (pcsc-lite handles stay on one thread).

    Daemon, so that a call stuck inside pcsc-lite never blocks interpreter exit.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.run()

    def submit(self, fn: Callable[..., object], *args: object) -> _Job:
        job = _Job(fn, args)
        self._jobs.put(job)
        return job

    def stop(self) -> None:
        self._jobs.put(None)


def _wait(job: _Job, timeout: float, what: str) -> object:
    if not job.done.wait(timeout):
        raise DeviceTimeout(f"{what} did not return within {timeout:g} s")
    if job.error is not None:
        if isinstance(job.error, TransportError):
            raise job.error
        raise TransportError(f"{what} failed: {job.error}") from job.error
    return job.result


def run_bounded(fn: Callable[..., T], *args: object, timeout: float, what: str) -> T:
    """Run ``fn(*args)`` on a fresh daemon thread; DeviceTimeout if it takes longer than ``timeout``."""
    worker = _Worker(f"jpkikit-pcsc {what}")
    try:
        return _wait(worker.submit(fn, *args), timeout, what)  # type: ignore[return-value]
    finally:
        worker.stop()


# --- readers ---------------------------------------------------------------------------------------------


class ReaderInfo(NamedTuple):
    """One PC/SC reader as seen now."""

    index: int
    name: str
    card_present: bool
    atr: bytes  # empty when no card


def _establish() -> int:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    check(hresult, "SCardEstablishContext")
    return context


def _release(context: int) -> None:
    scard.SCardReleaseContext(context)


def _reader_names(context: int) -> list[str]:
    hresult, names = scard.SCardListReaders(context, [])
    if hresult & 0xFFFFFFFF == scard.SCARD_E_NO_READERS_AVAILABLE:
        return []
    check(hresult, "SCardListReaders")
    return list(names)


def _list_readers() -> list[ReaderInfo]:
    context = _establish()
    try:
        names = _reader_names(context)
        if not names:
            return []
        hresult, states = scard.SCardGetStatusChange(
            context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names]
        )
        check(hresult, "SCardGetStatusChange")
        infos = []
        for index, (name, event_state, atr) in enumerate(states):
            present = bool(event_state & scard.SCARD_STATE_PRESENT)
            infos.append(ReaderInfo(index, name, present, bytes(atr) if present else b""))
        return infos
    finally:
        _release(context)


def list_readers(timeout: float = DEFAULT_TIMEOUT) -> list[ReaderInfo]:
    """All PC/SC readers in pcscd's order, with card presence and ATR.

    Raises DeviceUnreachable when pcscd is not running, DeviceTimeout when it does not answer.
    """
    return run_bounded(_list_readers, timeout=timeout, what="listing PC/SC readers")


def _describe(names: list[str]) -> str:
    if not names:
        return "no PC/SC readers are available (reader unplugged? vpcd driver not configured in pcscd?)"
    return "available readers: " + ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))


def resolve_reader(names: list[str], reader: str | int) -> str:
    """Pick one of ``names`` by exact name, by case-insensitive substring, or by index.

    Raises ReaderNotFound naming the candidates (ambiguous substring) or the available readers.
    """
    if isinstance(reader, int) and not isinstance(reader, bool):
        if 0 <= reader < len(names):
            return names[reader]
        raise ReaderNotFound(f"reader index {reader} is out of range; {_describe(names)}")
    if reader in names:
        return reader
    matches = [n for n in names if reader.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ReaderNotFound(
            f"reader {reader!r} is ambiguous, it matches {', '.join(repr(m) for m in matches)}; "
            "give more of the name or an index"
        )
    raise ReaderNotFound(f"no reader named or containing {reader!r}; {_describe(names)}")


# --- transport -------------------------------------------------------------------------------------------


class PcscTransport(Transport):
    """A card in a PC/SC reader, reached through pyscard.

    ``reader`` is an exact reader name, a unique case-insensitive substring, or an index into
    :func:`list_readers`. ``protocol`` ``"T0"`` or ``"T1"`` forces one; ``"any"`` / None (default) take
    whatever the card offers.
    Every pyscard call is bounded by ``timeout`` seconds.
    """

    def __init__(
        self,
        reader: str | int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        protocol: Protocol | None = None,
        exclusive: bool = False,
    ) -> None:
        if protocol not in _PROTOCOL_MASKS:
            raise TransportError(f"unknown protocol {protocol!r}; use 'T0', 'T1' or 'any'")
        self.timeout = timeout
        self._protocols = _PROTOCOL_MASKS[protocol]
        self._share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        self._lock = threading.Lock()
        self._worker: _Worker | None = _Worker(f"jpkikit-pcsc {reader}")
        self._broken: str | None = None
        self._closed = False
        self._context: int | None = None
        self._card: int | None = None
        self._active = 0
        self._atr = b""
        self.reader = str(reader)
        self.description = f"PC/SC reader {reader!r}"
        try:
            self._call(self._open, reader, what="connecting")
        except BaseException:
            self.close()
            raise

    # -- worker-thread side (only these touch pyscard) --

    def _open(self, reader: str | int) -> None:
        self._context = _establish()
        name = resolve_reader(_reader_names(self._context), reader)
        self.reader = name
        self.description = f"PC/SC reader {name!r}"
        self._connect()

    def _connect(self) -> None:
        hresult, card, active = scard.SCardConnect(self._context, self.reader, self._share, self._protocols)
        check(hresult, "SCardConnect", self.reader)
        self._card, self._active = card, active
        self._read_atr()

    def _read_atr(self) -> None:
        hresult, _name, _state, _protocol, atr = scard.SCardStatus(self._card)
        check(hresult, "SCardStatus", self.reader)
        self._atr = bytes(atr)

    def _transmit(self, command: bytes) -> bytes:
        if self._card is None:  # an earlier reset() found no card
            raise CardAbsent(f"no card is connected in {self.reader!r}; reset() once a card is present")
        hresult, response = scard.SCardTransmit(self._card, self._active, list(command))
        check(hresult, "SCardTransmit", self.reader)
        return bytes(response)

    def _reset(self, cold: bool) -> bytes:
        # SCardReconnect() initialization: SCARD_RESET_CARD = warm reset, SCARD_UNPOWER_CARD = power cycle.
        disposition = scard.SCARD_UNPOWER_CARD if cold else scard.SCARD_RESET_CARD
        if self._card is not None:
            hresult, active = scard.SCardReconnect(self._card, self._share, self._protocols, disposition)
            if hresult & 0xFFFFFFFF not in _GONE:
                check(hresult, "SCardReconnect", self.reader)
                self._active = active
                self._read_atr()
                return self._atr
            # The card was removed (and maybe put back) since the last call: start a new connection.
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
        self._connect()
        if cold:  # a new connection may find the card already powered by another application
            hresult, active = scard.SCardReconnect(self._card, self._share, self._protocols, disposition)
            check(hresult, "SCardReconnect", self.reader)
            self._active = active
            self._read_atr()
        return self._atr

    def _shutdown(self) -> None:
        try:
            if self._card is not None:
                scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
        finally:
            self._card = None
            if self._context is not None:
                scard.SCardReleaseContext(self._context)
                self._context = None

    # -- caller side --

    def _call(self, fn: Callable[..., T], *args: object, what: str) -> T:
        if self._closed or self._worker is None:
            raise TransportError(f"{self.description} is closed")
        if self._broken:
            raise DeviceTimeout(f"{self.description} is unusable: {self._broken}; close it and open it again")
        if not self._lock.acquire(timeout=self.timeout):
            raise DeviceTimeout(f"{what} on {self.description}: another call is still running")
        try:
            if self._broken:  # the call we waited behind timed out
                raise DeviceTimeout(f"{self.description} is unusable: {self._broken}; close it and reopen it")
            try:
                return _wait(self._worker.submit(fn, *args), self.timeout, f"{what} on {self.description}")
            except DeviceTimeout as exc:
                self._broken = f"{exc} (the PC/SC call may still be blocked)"
                raise
        finally:
            self._lock.release()

    def set_timeout(self, seconds: float) -> None:
        """Bound every later pyscard call to ``seconds`` (a call already running keeps its bound)."""
        if seconds <= 0:
            raise ValueError("a PC/SC timeout must be positive")
        self.timeout = seconds

    @property
    def broken(self) -> bool:
        """True after a call timed out: the link can no longer be trusted."""
        return self._broken is not None

    @property
    def protocol(self) -> str:
        """The active protocol: ``T=0`` or ``T=1``."""
        return _PROTOCOL_NAMES.get(self._active, f"0x{self._active:X}")

    def transmit(self, command: bytes) -> bytes:
        response = self._call(self._transmit, bytes(command), what="SCardTransmit")
        if len(response) < 2:
            raise TransportError(
                f"{self.description} returned a {len(response)}-byte response, shorter than SW1 SW2"
            )
        return response

    def reset(self, cold: bool = False) -> bytes:
        return self._call(self._reset, cold, what="cold reset" if cold else "warm reset")

    @property
    def atr(self) -> bytes:
        return self._atr

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is None:
            return
        job = worker.submit(self._shutdown)
        worker.stop()
        if self._broken is None:
            # Best effort, bounded: a failure to disconnect is not worth an error on close.
            job.done.wait(self.timeout)
