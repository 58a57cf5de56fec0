"""Simulated cards that misbehave at the link level (garbage answers, exceptions, a card that dies), and a
transport-level fault layer: a unit that hangs, is pulled out or answers garbage framing after N APDUs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from jpkikit.errors import CardAbsent, DeviceTimeout, TransportError
from jpkikit.host.link import Layer, Transport
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card


class Garbage(Card):
    """Answers one byte (no status word) to every command."""

    def process(self, command: bytes) -> bytes:
        super().process(command)
        return b"\x90"


class Dies(Card):
    """Raises on every command, as a vendor's simulator that lost its device might."""

    def process(self, command: bytes) -> bytes:
        raise ConnectionError("simulator lost its device")


def garbage(personality: str | None, state: Path | None) -> Card:
    return Garbage(get_personality(personality or "gp-se"), state)


def dies(personality: str | None, state: Path | None) -> Card:
    return Dies(get_personality(personality or "gp-se"), state)


# -- a transport-level fault layer: a unit that stops answering after N APDUs ------------------------------
#
# Loaded as a pytest plugin (``jpkikit certify ... -- -p tests.faulty_link``) with JPKIKIT_FAULT set, it
# wraps every link the seam opens in a FaultyLink over one FaultyUnit shared by the whole run (the unit
# is one device: a reconnect reaches the same broken unit).
#
# JPKIKIT_FAULT          "<kind>:<after>[:<back>]": kind hang, pull or garbage; the fault starts with
#                        APDU number after+1; with back, the unit answers again (for good) at the
#                        (back+1)-th link opened after the fault started (reinserted, pcscd restarted).
# JPKIKIT_FAULT_TIMEOUT  the link's own bound in seconds (the part ixit.transport.timeout plays), given to
#                        the link the seam opens too; default 1. (A simulator that really hangs in-process:
#                        tests/hanging_card.py.)
# JPKIKIT_FAULT_LOG      a file that gets one line per fault event: "<time> <event>".

FAULT_ENV, TIMEOUT_ENV, LOG_ENV = "JPKIKIT_FAULT", "JPKIKIT_FAULT_TIMEOUT", "JPKIKIT_FAULT_LOG"


class FaultyUnit:
    """The device: healthy for ``after`` APDUs, then hangs, is pulled out or answers garbage framing."""

    def __init__(self, kind: str, after: int, back: int | None = None, log: Path | None = None) -> None:
        if kind not in ("hang", "pull", "garbage"):
            raise ValueError(f"unknown fault {kind!r}: hang, pull or garbage")
        self.kind, self.after, self.back, self.log = kind, after, back, log
        self.sent = 0  # APDUs the unit answered
        self.opens = 0  # links opened since the fault started
        self.recovered = False

    @classmethod
    def from_env(cls) -> FaultyUnit | None:
        spec = os.environ.get(FAULT_ENV)
        if not spec:
            return None
        kind, after, *back = spec.split(":")
        log = os.environ.get(LOG_ENV)
        return cls(kind, int(after), int(back[0]) if back else None, Path(log) if log else None)

    @property
    def failing(self) -> bool:
        return self.sent >= self.after and not self.recovered

    def note(self, event: str) -> None:
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as f:
                f.write(f"{time.time():.3f} {event}\n")

    def opened(self) -> None:
        """A link is being opened: counts towards the unit's return; a pulled card is not in the reader."""
        if not self.failing:
            return
        self.opens += 1
        if self.back is not None and self.opens > self.back:
            self.recovered = True
            self.note("back")
            return
        self.note("open")
        if self.kind == "pull":
            raise CardAbsent("SCardConnect failed: SCARD_E_NO_SMARTCARD: no card in the reader (fault: pull)")


class FaultyLink(Layer):
    """A link to a FaultyUnit, bounded like jpkikit.host.pcsc.PcscTransport: a call that gets no answer
    raises DeviceTimeout after ``timeout`` seconds and leaves the link unusable (later calls fail at once)."""

    def __init__(self, inner: Transport, unit: FaultyUnit, timeout: float) -> None:
        super().__init__(inner)
        self.unit, self.timeout = unit, timeout
        self.broken = False

    def set_timeout(self, seconds: float) -> None:
        self.timeout = seconds
        self.inner.set_timeout(seconds)

    def _fault(self, what: str) -> None:
        if self.broken:
            raise DeviceTimeout(f"{self.description} is unusable: {what} timed out earlier (fault: hang)")
        if not self.unit.failing:
            return
        self.unit.note(f"{self.unit.kind} {what}")
        if self.unit.kind == "hang":
            time.sleep(self.timeout)
            self.broken = True
            raise DeviceTimeout(f"{what} on {self.description} did not return within {self.timeout:g} s")
        if self.unit.kind == "pull":
            raise CardAbsent(f"{what} failed: SCARD_W_REMOVED_CARD: the card was removed (fault: pull)")
        if what == "SCardTransmit":  # garbage: the reset still gives the ATR, every APDU a garbled frame
            raise TransportError(f"{what} on {self.description}: garbage framing, 3 bytes 0xFF 0x00 0xA5")

    def transmit(self, command: bytes) -> bytes:
        self._fault("SCardTransmit")
        response = self.inner.transmit(command)
        self.unit.sent += 1
        return response

    def reset(self, cold: bool = False) -> bytes:
        self._fault("cold reset" if cold else "warm reset")
        return self.inner.reset(cold)


def pytest_configure(config: Any) -> None:
    """As a plugin: every link of the run goes through the fault layer of JPKIKIT_FAULT."""
    unit = FaultyUnit.from_env()
    if unit is None:
        return
    from jpkikit.harness import reachability, seam

    own = float(os.environ.get(TIMEOUT_ENV, "1"))
    reachability.PROBE_TIMEOUT = min(reachability.PROBE_TIMEOUT, own)  # as ixit.transport.timeout would
    original = seam.open_link

    def open_link(profile: Any, timeout: float | None = None) -> Transport:
        bound = timeout or own
        unit.opened()
        return FaultyLink(original(profile, timeout=bound), unit, bound)

    seam.open_link = open_link  # type: ignore[assignment]
    config.add_cleanup(lambda: setattr(seam, "open_link", original))
