"""Build the card a profile or the ``emulate`` command names: a bundled personality, or a factory."""

from __future__ import annotations

from pathlib import Path

from jpkikit.harness.factory import resolve
from jpkikit.host.simulated_card import SimulatedCard
from jpkikit.reference.emulator.personality import get_personality
from jpkikit.reference.emulator.runtime import Card


def make_card(
    personality: str | None, state: str | Path | None = None, factory: str | None = None
) -> SimulatedCard:
    """``factory`` ("module:callable") is called as ``factory(personality, state)`` and must return a card;
    vendors use it for their own simulators, the kit's unit tests for deliberately faulty variants."""
    state_path = Path(state) if state else None
    if factory:
        return resolve(factory)(personality, state_path)
    return Card(get_personality(personality or "gp-se"), state_path)
