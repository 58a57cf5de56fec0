"""The reference handset: OMAPI + ACE over the kit's emulator (or any transport), with an SE-side trace.

The trace is the SE's view: every APDU that reached the SE, so a test can check that a denied app caused
no APDU for its target application (globalplatform.md C.6). :meth:`ReferenceHandset.store_rules` is the
issuer's path to the ARA-M (STORE DATA in an SCP03 session with the ISD keys, C.5), used to set up the
rule sets of the precedence tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jpkikit.errors import KitError
from jpkikit.host.card_session import CardSession
from jpkikit.host.inprocess import InProcessTransport
from jpkikit.host.link import Transport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.build import make_card
from jpkikit.reference.emulator.gp.issuance import ISD_KEYS
from jpkikit.reference.handset.omapi import Reader, SEService
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.scp03 import StaticKeys


class ReferenceHandset:
    #: The reader class (the kit's faulty variants swap in broken ones); the agent class that serves it.
    reader_class: type[Reader] = Reader
    agent_class: type | None = None

    def __init__(self, link: Transport, *, uicc: bool = False, max_channels: int = 4) -> None:
        self.session = CardSession(link)
        self.session.reset()
        name = "SIM1" if uicc else "eSE1"
        self.reader = self.reader_class(name, self.session, uicc=uicc, max_channels=max_channels)
        self.service = SEService([self.reader])

    @classmethod
    def over_emulator(
        cls, personality: str = "gp-se", state: str | Path | None = None, factory: str | None = None
    ) -> ReferenceHandset:
        card = make_card(personality, state, factory)
        link = InProcessTransport(card, f"reference handset SE ({factory or personality})")
        return cls(link, uicc=personality == "sim", max_channels=_channels(card))

    # -- the SE side --------------------------------------------------------------------------------------

    def se_trace(self) -> list[bytes]:
        """Commands the SE received since the last :meth:`clear_se_trace`."""
        return [bytes.fromhex(e.command) for e in self.session.tracer.trace.exchanges if e.command]

    def clear_se_trace(self) -> None:
        self.session.tracer.restart()

    def store_rules(self, rules: Sequence[seac.Rule], keys: StaticKeys | None = None) -> None:
        """Replace the ARA-M rules: delete all, store each (C.5), through SCP03 on a logical channel."""
        keys = keys or StaticKeys.single(ISD_KEYS[0x30], 0x30)
        opened = self.session.open_channel()
        if not opened.ok:
            raise KitError(f"cannot open a channel to the ARA-M: {opened}")
        number = opened.data[0]
        try:
            selected = self.session.select(seac.ARAM_AID, channel=number, p2=0x00)
            if not selected.ok:
                raise KitError(f"SELECT ARA-M answered {selected}")
            scp = Scp03Layer(self.session.transport, keys, channel=number)
            scp.open(0x01)
            cla = 0x80 | number
            commands = [Tlv(seac.T_CMD_DELETE, b"")] + [Tlv(seac.T_CMD_STORE, r.encode()) for r in rules]
            for tlv in commands:
                r = scp.send(CommandApdu(cla, 0xE2, 0x90, 0x00, tlv.encode()))
                if not r.ok:
                    raise KitError(f"STORE DATA {tlv.encode().hex().upper()[:40]} answered {r}")
        finally:
            self.session.close_channel(number)

    def close(self) -> None:
        self.service.shutdown()
        self.session.close()


def _channels(card: object) -> int:
    personality = getattr(card, "personality", None)
    return int(getattr(personality, "logical_channels", 4))
