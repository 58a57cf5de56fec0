"""The carrier's remote lock and its release (seed 000 §4(2) ※1: the MNO's service suspends the phone's and
the SIM's functions at the user's request; §6: リモートロック, リモートロック解除 in the certificate
lifecycle): the MNO's ISD locks (GPCS SET STATUS) the JPKI applet or the whole card, as the ICS says; while
locked the applet is unusable through every interface, and the release gives it back unchanged
(docs/spec/uicc.md#the-remote-lock)."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.host.uicc_terminal import contactless, field_off
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki.card import AUTH

from ..gp import gp
from ..jpki.support import other_value
from ..provisioning.support import apsd_keys
from .support import HANDSET_A, authenticate, bind, claims, in_handset, new_uicc

CARD_LOCKED, SECURED = 0x7F, 0x0F  # GPCS Table 11-3


def _set_status(layer: Scp03Layer, profile: Profile, lock: bool) -> CommandApdu:
    if claims(profile).remote_lock == "card":
        return CommandApdu(0x80, 0xF0, 0x80, CARD_LOCKED if lock else SECURED)
    return CommandApdu(0x80, 0xF0, 0x40, 0x80 if lock else 0x00, profile.ixit.aids.jpki)


def _mno(uicc: CardSession, profile: Profile, lock: bool) -> None:
    layer = gp.open_session(uicc, profile, 0x01)
    r = layer.send(_set_status(layer, profile, lock))
    assert r.ok, f"the MNO's SET STATUS ({'lock' if lock else 'release'}) answered {r}"
    layer.end()


def _locked_out(session: CardSession, profile: Profile, where: str, channel: int = 0) -> None:
    jpki = JpkiClient(session, profile.ixit.aids.jpki, channel)
    r = jpki.select_ap()
    assert not r.ok and 0x64 <= r.sw1 <= 0x6F, (
        f"{where}: SELECT of the remotely locked JPKI applet answered {r}"
    )
    v = jpki.verify(AUTH.pin_ef, profile.secret("auth_pin"))
    assert not v.ok and v.sw1 != 0x63, f"{where}: VERIFY reached the locked applet: {v}"


@pytest.mark.requirement("SIM-LOCK-01")
@pytest.mark.effects("card-lock", "applet-lock", "credentials", renewable=True)
def test_the_remote_lock_holds_on_every_interface(card: CardSession, profile: Profile) -> None:
    with new_uicc(profile, card) as uicc:
        bind(uicc, profile, HANDSET_A)
        _mno(uicc, profile, lock=True)
        in_handset(uicc, HANDSET_A)
        _locked_out(uicc, profile, "basic channel")
        opened = uicc.open_channel()
        if opened.ok:
            _locked_out(uicc, profile, f"logical channel {opened.data[0]}", opened.data[0])
        _locked_out(contactless(uicc), profile, "held to a reader")
        field_off(uicc)
        in_handset(uicc, HANDSET_A)  # the phone switched off and on: the lock stays
        _locked_out(uicc, profile, "after a power cycle")


@pytest.mark.requirement("SIM-LOCK-02")
@pytest.mark.effects("card-lock", "applet-lock", "credentials", "pin-tries", renewable=True)
def test_only_the_mno_releases_and_nothing_is_lost(card: CardSession, profile: Profile) -> None:
    pin = profile.secret("auth_pin")
    with new_uicc(profile, card) as uicc:
        bind(uicc, profile, HANDSET_A)
        jpki = JpkiClient(uicc, profile.ixit.aids.jpki)
        assert jpki.select_ap().ok
        spent = jpki.verify(AUTH.pin_ef, other_value(pin, profile.ics.jpki.auth_pin))
        tries = profile.ics.jpki.auth_pin.tries
        assert spent.sw == 0x63C0 | (tries - 1), f"a wrong VERIFY answered {spent}"
        cert_before, _ = JpkiClient(uicc, profile.ixit.aids.jpki).read_der(AUTH.ca_ef)
        _mno(uicc, profile, lock=True)
        assert gp.select_sd(uicc, profile).sw in (0x9000, 0x6283)
        anyone = uicc.transmit(_set_status(gp.scp(uicc, profile), profile, lock=False))
        assert anyone.sw in (0x6982, 0x6985), f"a release outside the MNO's session answered {anyone}"
        layer = sp_session_or_none(uicc, profile)
        if layer is not None:  # the SP's own domain cannot lift the MNO's lock either
            r = layer.send(_set_status(layer, profile, lock=False))
            assert not r.ok, f"SET STATUS in the SP security domain's session answered {r}"
        in_handset(uicc, HANDSET_A)
        _locked_out(uicc, profile, "after the refused releases")
        _mno(uicc, profile, lock=False)
        in_handset(uicc, HANDSET_A)
        jpki = JpkiClient(uicc, profile.ixit.aids.jpki)
        assert jpki.select_ap().ok, "after the MNO's release the JPKI applet cannot be selected"
        query = jpki.retry_query(AUTH.pin_ef)
        assert query.sw == 0x63C0 | (tries - 1), f"the release changed the PIN counter: retry query {query}"
        cert_after, _ = JpkiClient(uicc, profile.ixit.aids.jpki).read_der(AUTH.ca_ef)
        assert cert_after == cert_before, "the release changed EF 000B"
        authenticate(uicc, profile, pin)


def sp_session_or_none(uicc: CardSession, profile: Profile) -> Scp03Layer | None:
    """An SP SD session on its own domain (SELECT the SP SD), or None when it cannot be selected."""
    aid = profile.ixit.gp.apsd if profile.ixit.gp else None
    if aid is None or not uicc.select(aid, p2=0x00).ok:
        return None
    layer = Scp03Layer(uicc.tracer, apsd_keys(profile), sd_aid=aid)
    layer.open(0x01)
    return layer
