"""What the reader does with the card's 61xx (ISO/IEC 7816-3 §12.2 and 7816-4 GET RESPONSE; on a contactless
link there is no T=0, so a reader either passes the status word up or collects the data itself): as the ICS
says (ics.rw.sw61), seen with the kit's own GET RESPONSE layer off."""

from __future__ import annotations

import os

import pytest

from jpkikit.errors import Inconclusive
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.iso7816.apdu import CommandApdu

from .support import DIGEST_INFO_SHA256, auth_public_key, claims, known_card, raw, recovered, sign


@pytest.mark.requirement("RW-SW-01")
def test_61xx_passed_or_collected_as_claimed(card: CardSession, profile: Profile) -> None:
    if not known_card(profile).answers_61xx:
        raise Inconclusive("the known card is not declared to answer 61xx (ixit.rw.card.answers_61xx)")
    session = raw(card)
    public = auth_public_key(session, profile)
    data = DIGEST_INFO_SHA256 + os.urandom(32)
    r = session.transmit(sign(data, ne=None))  # case 3: the card answers 61xx
    if claims(profile).sw61 == "pass":
        assert r.sw1 == 0x61 and not r.data, (
            f"the card answers 61xx to a signature command without Le; the reader (sw61: pass) gave {r}"
        )
        rest = session.transmit(CommandApdu(0x00, 0xC0, 0x00, 0x00, ne=r.sw2 or 256))
        assert rest.ok and recovered(public, rest.data) == data, (
            f"GET RESPONSE through the reader answered {rest}"
        )
    else:
        assert r.ok and recovered(public, r.data) == data, (
            f"the reader claims to collect 61xx (sw61: collect) but gave {r} for a signature without Le"
        )
