"""Simulated cards that misbehave at the link level: garbage answers, exceptions, a card that dies."""

from __future__ import annotations

from pathlib import Path

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
