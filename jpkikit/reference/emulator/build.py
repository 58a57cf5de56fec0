"""Build the emulator card of a bundled personality (``gp-se``, ``mynumber-card``, ``sim``)."""

from __future__ import annotations

from pathlib import Path

from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card


def make_card(personality: str | None, state: str | Path | None = None) -> Card:
    """A card of ``personality`` whose persistent state lives in ``state`` (None: in memory only)."""
    chosen = get_personality(personality or "gp-se")
    card_class = chosen.card_class or Card  # a UICC personality runs on its own runtime (uicc.py)
    return card_class(chosen, Path(state) if state else None)
