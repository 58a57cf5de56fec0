"""The in-process transport: APDUs go straight to a simulated card object, as bytes."""

from __future__ import annotations

from jpkikit.errors import CardAbsent, TransportError
from jpkikit.host.link import Transport
from jpkikit.host.simulated_card import SimulatedCard


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
