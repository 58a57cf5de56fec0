"""What a card simulation offers to whatever carries APDUs to it (in-process transport, vpcd server)."""

from __future__ import annotations

from typing import Protocol


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
