"""The reference handset: OMAPI + ACE over the kit's emulator (or any SE HAL), with an SE-side log.

The log is the SE's view: every APDU that reached the SE, so a test can check that a denied app caused
no APDU for its target application (SEAC v1.1 §3; AOSP AccessControlEnforcer decides before the SELECT).
:meth:`ReferenceHandset.store_rules` is the test bed's stand-in for the SE issuer's TSM registering rules
in the ARA-M (seed 004 p.13): it replaces the emulator ARA-M's rules directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jpkikit.errors import KitError
from jpkikit.reference.emulator.build import make_card
from jpkikit.reference.handset.omapi import Reader, SEService
from jpkikit.reference.handset.terminal import CardHal, SeHal, Terminal
from jpkikit.vocab.gp import seac


class ReferenceHandset:
    #: The reader class (the kit's faulty variants swap in broken ones); the agent class that serves it.
    reader_class: type[Reader] = Reader
    agent_class: type | None = None

    def __init__(
        self, hal: SeHal, *, uicc: bool = False, max_channels: int = 4, card: object | None = None
    ) -> None:
        self.terminal = Terminal(hal)
        self.terminal.reset()
        self.card = card  # the emulator behind the HAL, when there is one (the test bed's rule store)
        name = "SIM1" if uicc else "eSE1"
        self.reader = self.reader_class(name, self.terminal, uicc=uicc, max_channels=max_channels)
        self.service = SEService([self.reader])

    @classmethod
    def over_emulator(cls, personality: str = "gp-se", state: str | Path | None = None) -> ReferenceHandset:
        card = make_card(personality, state)
        channels = card.personality.logical_channels
        return cls(CardHal(card), uicc=personality == "sim", max_channels=channels, card=card)

    # -- the SE side --------------------------------------------------------------------------------------

    def se_trace(self) -> list[bytes]:
        """Commands the SE received since the last :meth:`clear_se_trace`."""
        return list(self.terminal.log)

    def clear_se_trace(self) -> None:
        self.terminal.log.clear()

    def store_rules(self, rules: Sequence[seac.Rule]) -> None:
        """Replace the ARA-M's rules (a new refresh tag follows, SEAC v1.1 §4.1.4)."""
        aram = getattr(self.card, "registry", {}).get(seac.ARAM_AID) if self.card is not None else None
        if aram is None:
            raise KitError("this handset's SE is not the kit's emulator with an ARA-M: it cannot store rules")
        aram.applet.replace_rules(list(rules))
        self.card.save()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.service.shutdown()
