"""A key pair generated off card and delivered encrypted into the SIM's JPKI applet (seed 000 step ⑤: J-LIS
generates the phone's key; seed 003 §1(1)イ and seed 001 §5(1): the key is sent over the network and must be
protected; docs/spec/uicc.md#the-jpki-applet-on-the-uicc): PUT KEY PAIR in the SP security domain's session,
the package naming the SE, the key under that domain's Key-DEK."""

from __future__ import annotations

import pytest
from cryptography import x509

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.jpki import sim
from jpkikit.vocab.jpki.card import AUTH, EF_CERT_STATUS

from ..provisioning.support import apsd_keys
from .support import (
    authenticate,
    certificate_for,
    new_key,
    new_uicc,
    package,
    pkcs8,
    put_certificates,
    put_key_pair,
    se_id,
    signed_by,
    sp_session,
)


@pytest.mark.requirement("SIM-KEY-01")
@pytest.mark.effects("credentials", renewable=True)
def test_a_delivered_key_pair_signs(card: CardSession, profile: Profile) -> None:
    with new_uicc(profile, card) as uicc:
        layer = sp_session(uicc, profile)
        key = new_key()
        sws = put_key_pair(layer, se.SLOT_AUTH, package(key, se_id(layer), apsd_keys(profile).dek))
        assert sws[-1] == SW.OK and all(sw == SW.OK for sw in sws), f"PUT KEY PAIR answered {sws}"
        jpki = JpkiClient(uicc, profile.ixit.aids.jpki)
        assert jpki.select_ap().ok
        status, r = jpki.read_ef(EF_CERT_STATUS)
        assert r.ok and len(status) == 3 and status[1] == 0x00, (
            f"EF 0008 reads {status.hex().upper()} after a new key pair: the old certificate is still shown"
        )
        layer = sp_session(uicc, profile)
        cert, ca = certificate_for(key.public_key())
        put_certificates(layer, se.SLOT_AUTH, cert, ca)
        layer.end()
        signature = authenticate(uicc, profile, profile.secret("auth_pin"))
        assert signed_by(key.public_key(), signature), "the signature is not made with the delivered key"


@pytest.mark.requirement("SIM-KEY-01")
@pytest.mark.effects("credentials", renewable=True)
def test_a_delivery_for_another_se_or_key_is_refused(card: CardSession, profile: Profile) -> None:
    with new_uicc(profile, card) as uicc:
        before = authenticate(uicc, profile, profile.secret("auth_pin"))
        layer = sp_session(uicc, profile)
        identity = se_id(layer)
        dek = apsd_keys(profile).dek
        other_se = bytes(b ^ 0xFF for b in identity)
        cases = {
            "for another SE": package(new_key(), other_se, dek),
            "under another Key-DEK": package(new_key(), identity, bytes(b ^ 0x5A for b in dek)),
            "in plaintext": se.key_package(identity, pkcs8(new_key())),
            "an RSA-1024 key": package(new_key(1024), identity, dek),
        }
        for what, data in cases.items():
            sws = put_key_pair(layer, se.SLOT_AUTH, data)
            assert sws[-1] == SW.WRONG_DATA, f"PUT KEY PAIR of a package {what} answered {sws[-1]:04X}"
        layer.end()
        assert uicc.select(profile.ixit.aids.jpki).ok
        plain = uicc.transmit(sim.put_key_pair_blocks(se.SLOT_AUTH, b"\xe0\x00")[0])
        assert plain.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
            f"PUT KEY PAIR outside the session answered {plain}"
        )
        after = authenticate(uicc, profile, profile.secret("auth_pin"))
        jpki = JpkiClient(uicc, profile.ixit.aids.jpki)
        assert jpki.select_ap().ok and jpki.verify(AUTH.pin_ef, profile.secret("auth_pin")).ok
        cert_der, _ = jpki.read_der(AUTH.cert_ef)
        public = x509.load_der_x509_certificate(cert_der).public_key()
        assert signed_by(public, after) and signed_by(public, before), (  # type: ignore[arg-type]
            "a refused delivery changed the applet's key"
        )
