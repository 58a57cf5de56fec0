"""Links to an implementation: the one small interface every link offers (``transmit(bytes) -> bytes``,
``reset``, ``atr``, ``close``), the layer base class, and the in-process link to a simulated card (what a
card simulation offers to whatever carries APDUs to it: this link, the vpcd server).

Layers stack like a processor chain: formatter -> GET RESPONSE handling -> (SCP03 wrap) -> tracer -> link.
Each layer is a Transport that wraps another.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, Self

from jpkikit.errors import CardAbsent, TransportError


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
        """Bound every later call to ``seconds`` where the link bounds its calls (a PC/SC reader does); a
        link without a bound of its own (the in-process emulator) ignores it. The harness shortens the
        bound while it probes a unit that stopped answering (jpkikit.harness.reachability)."""
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


class InProcessTransport(Transport):
    def __init__(self, card: SimulatedCard, description: str = "in-process emulator") -> None:
        self.card = card
        self.description = description
        self._atr = card.power_on()
        self._closed = False

    def transmit(self, command: bytes) -> bytes:
        if self._closed:
            raise CardAbsent(f"{self.description}: transport is closed")
        try:
            return self.card.process(bytes(command))
        except Exception as exc:  # a vendor's simulator (a factory) may raise; the bundled one never does
            raise TransportError(f"{self.description}: the simulated card raised {exc!r}") from exc

    def reset(self, cold: bool = False) -> bytes:
        if self._closed:
            raise CardAbsent(f"{self.description}: transport is closed")
        if cold:
            self.card.power_off()
            self._atr = self.card.power_on()
        else:
            self._atr = self.card.reset()
        return self._atr

    @property
    def atr(self) -> bytes:
        return self._atr

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.card.power_off()
