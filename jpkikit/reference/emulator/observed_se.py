"""The SE the kit plays when a TSM is under test (conformance/tsm): the reference smartphone JPKI applet on a
fresh emulator card, observing what the TSM sends it — the SCP03 level of every provisioning command, the
plaintext temporary PINs and certificates, the keys it generated, commands outside the provisioning set —
and, on request, lying about R (seed 004 step ⑰) so that the TSM's H[R] = S check can be tested."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.emulator.applet import Context
from jpkikit.reference.emulator.gp.security_domain import SecurityDomain
from jpkikit.reference.emulator.jpki_phone import PROVISIONING_INS, JpkiPhoneApplet
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp.constants import INS_EXTERNAL_AUTHENTICATE, INS_INITIALIZE_UPDATE
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu

#: Proprietary INS the JPKI applet answers outside the provisioning set: handshake and signature.
KNOWN_OTHER = {INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE, 0x2A}


@dataclass
class Observations:
    provisioning: list[tuple[int, int | None]] = field(default_factory=list)  # (INS, session level or None)
    unknown: list[int] = field(default_factory=list)  # proprietary INS outside the command set
    temp_pins: list[bytes] = field(default_factory=list)  # plaintext, kept in memory only, never logged
    certificates: list[tuple[int, bytes]] = field(default_factory=list)  # (P2, DER) of complete writes
    generated: list[rsa.RSAPublicKey] = field(default_factory=list)

    def ins_seen(self, ins: int) -> bool:
        return any(i == ins for i, _ in self.provisioning)


class ObservedPhoneApplet(JpkiPhoneApplet):
    observations: Observations
    lie_about_r: bool = False

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and apdu.ins not in PROVISIONING_INS and apdu.ins not in KNOWN_OTHER:
            self.observations.unknown.append(apdu.ins)
        return super().process(ctx, apdu)

    def _provisioning(self, ctx: Context, sd: SecurityDomain | None, apdu: CommandApdu) -> ResponseApdu:
        sc = sd.channel(ctx) if sd is not None else None
        level = int(sc.session.level) if sc is not None and sc.authenticated and sc.session else None
        self.observations.provisioning.append((apdu.ins, level))
        return super()._provisioning(ctx, sd, apdu)

    def new_key(self) -> rsa.RSAPrivateKey:
        key = super().new_key()
        self.observations.generated.append(key.public_key())
        return key

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if self.lie_about_r and slot is not None and slot.name in self.data["commit"]:
            self.data["commit"][slot.name] = os.urandom(32).hex()  # answer an R other than the committed one
        return super()._generate_key(ctx, apdu)

    def _set_temp_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        self.observations.temp_pins.append(bytes(apdu.data))
        return super()._set_temp_pin(ctx, apdu)

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        pending = ctx.session.get("cert_blocks", {}).get("data", b"")
        response = super()._put_certificate(ctx, apdu)
        if not apdu.p1 & 0x80:
            self.observations.certificates.append((apdu.p2, pending + apdu.data))
        return response


def kit_se(personality: str, jpki_aid: bytes, lie_about_r: bool = False) -> tuple[Card, ObservedPhoneApplet]:
    card = Card(get_personality(personality))
    applet = card.registry[jpki_aid].applet
    assert isinstance(applet, JpkiPhoneApplet), "the personality's JPKI applet is not the phone applet"
    applet.__class__ = ObservedPhoneApplet
    assert isinstance(applet, ObservedPhoneApplet)
    applet.observations = Observations()
    applet.lie_about_r = lie_about_r
    return card, applet
