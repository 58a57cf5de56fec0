"""The SIM design's JPKI applet with the user-authentication function only (seed 003 実現イメージ: the
利用者証明用電子証明書 and its key are what the SIM stores; seed 000 §1), as the ICS may claim it
(ics.jpki.sign_function false): nothing of the signature function is there
(docs/spec/uicc.md#the-jpki-applet-on-the-uicc)."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.jpki.card import EF_CERT_STATUS, SIGN

from .support import authenticate, sp_session


@pytest.mark.requirement("SIM-AUTH-01")
def test_only_the_authentication_function(card: CardSession, profile: Profile) -> None:
    jpki = JpkiClient(card, profile.ixit.aids.jpki)
    assert jpki.select_ap().ok
    for fid in (SIGN.cert_ef, SIGN.ca_ef, SIGN.key_ef, SIGN.pin_ef):
        r = jpki.select_ef(fid)
        assert r.sw == SW.FILE_NOT_FOUND, (
            f"SELECT of signature EF {fid:04X} in an auth-only applet answered {r}"
        )
    status, r = jpki.read_ef(EF_CERT_STATUS)
    assert r.ok and status[:1] == b"\x00", (
        f"EF 0008 reads {status.hex().upper()}: a signature certificate is shown"
    )
    authenticate(card, profile, profile.secret("auth_pin"))
    if profile.ics.provisioning is not None and profile.ics.provisioning.present:
        layer = sp_session(card, profile)
        r = layer.send(se.set_temp_pin(se.SLOT_SIGN, b"1234"))
        assert r.sw == SW.INCORRECT_P1P2, f"SET TEMPORARY PIN for the signature slot answered {r}"
        layer.end()
