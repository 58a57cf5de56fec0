"""The SP's security domain on the UICC, independent of the MNO's (seed 001 §5(1): who may create the SP area,
how it stays independent; seed 000 §4(3): the MNO area and the SP area of the SIM): its own keys, and the
JPKI applet associated with it, not with the MNO's ISD (docs/spec/uicc.md#the-sp-security-domain)."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp.constants import PRIV_SECURITY_DOMAIN
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.scp03.errors import AuthenticationError, Scp03Error

from ..gp import gp
from ..provisioning.support import apsd_aid, apsd_keys, level


@pytest.mark.requirement("SIM-SD-01")
def test_sp_domain_keys_are_its_own(card: CardSession, profile: Profile) -> None:
    jpki, isd = profile.ixit.aids.jpki, gp.sd_aid(profile, "isd")
    mno = gp.keyset(profile, sd="isd")
    sp = apsd_keys(profile)
    assert mno.keys.enc != sp.enc, "the profile gives the same keys to the MNO's ISD and the SP's SD"
    assert card.select(jpki).ok
    with pytest.raises((AuthenticationError, Scp03Error)):
        # the MNO's ISD key set, offered to the SP's domain through the applet: must not authenticate
        Scp03Layer(card.tracer, mno.keys, sd_aid=apsd_aid(profile)).open(level(profile), kvn=sp.kvn)
        pytest.fail("the SP security domain authenticated the MNO's ISD key set")
    assert card.select(isd, p2=0x00).ok
    with pytest.raises((AuthenticationError, Scp03Error)):
        Scp03Layer(card.tracer, sp, sd_aid=isd).open(0x01, kvn=mno.kvn)
        pytest.fail("the MNO's ISD authenticated the SP security domain's key set")
    assert card.select(isd, p2=0x00).ok
    layer = gp.scp(card, profile, mno, sd="isd")
    layer.open(0x01)
    plain = card.select(jpki)  # the ISD's session ends here (Amd D §5.6)
    assert plain.ok
    r = card.transmit(se.get_se_id())
    assert r.sw == 0x6982, f"GET SE ID outside the SP security domain's session answered {r}"
    assert card.select(jpki).ok
    layer = Scp03Layer(card.tracer, sp, sd_aid=apsd_aid(profile))
    layer.open(level(profile))
    r = layer.send(se.get_se_id())
    assert r.ok and r.data, f"GET SE ID in the SP security domain's session answered {r}"


@pytest.mark.requirement("SIM-SD-02")
def test_sp_domain_holds_the_applet(card: CardSession, profile: Profile) -> None:
    layer = gp.open_session(card, profile, 0x01)
    entries = {e.aid: e for e in gp.get_status(layer, 0x40)}
    sp, jpki, isd = apsd_aid(profile), profile.ixit.aids.jpki, gp.sd_aid(profile, "isd")
    assert sp in entries, f"GET STATUS lists no SP security domain {sp.hex().upper()}"
    privileges = entries[sp].privileges or b"\x00"
    assert privileges[0] & PRIV_SECURITY_DOMAIN >> 16, (
        f"{sp.hex().upper()} lacks the SD privilege: {privileges.hex()}"
    )
    assert jpki in entries, "GET STATUS lists no JPKI applet"
    associated = entries[jpki].sd_aid
    assert associated == sp, (
        f"the JPKI applet is associated with {associated.hex().upper() if associated else 'nothing'}, "
        f"not the SP security domain {sp.hex().upper()}"
    )
    assert entries[sp].sd_aid in (None, isd), "the SP security domain hangs under an unknown domain"
