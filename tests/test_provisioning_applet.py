"""The smartphone JPKI applet's provisioning command set (jpkikit.reference.emulator.jpki_phone) on the
gp-se and sim
personalities: SCP03 with the APSD key set at the required level, commitment then on-chip key generation,
certificate write, temporary-PIN sequence, key deletion, GP DELETE of the applet."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from jpkikit.host.link import InProcessTransport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.gp.issuance import APSD_AID, APSD_KEYS, ISD_KEYS
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.scp03 import AuthenticationError, StaticKeys

AUTH_PIN_P2 = 0x98  # 80 + SFI of EF 0018


def _card(personality: str = "gp-se") -> tuple[Card, InProcessTransport]:
    card = Card(get_personality(personality))
    link = InProcessTransport(card)
    link.reset()
    return card, link


def _open(link: InProcessTransport, level: int = 0x33) -> Scp03Layer:
    r = link.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, JPKI_AID).to_bytes())
    assert r[-2:] == b"\x90\x00"
    layer = Scp03Layer(link, StaticKeys.single(APSD_KEYS[0x30], 0x30), sd_aid=APSD_AID)
    layer.open(level)
    return layer


def _cert_for(public: rsa.RSAPublicKey) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "test")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def test_provisioning_needs_scp03_at_the_required_level() -> None:
    _, link = _card()
    r = link.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, JPKI_AID).to_bytes())
    assert r[-2:] == b"\x90\x00"
    assert link.transmit(se.get_se_id().to_bytes())[-2:] == b"\x69\x82"  # plain: refused
    layer = _open(link, 0x13)  # below the default 33
    assert layer.send(se.get_se_id()).sw == 0x6982
    with pytest.raises(AuthenticationError):  # the ISD key set is not the APSD's
        Scp03Layer(link, StaticKeys.single(ISD_KEYS[0x30], 0x30), sd_aid=APSD_AID).open(0x33)


@pytest.mark.parametrize("personality", ["gp-se", "sim"])
def test_issuance_sequence(personality: str) -> None:
    card, link = _card(personality)
    layer = _open(link)
    se_id = layer.send(se.get_se_id())
    assert se_id.sw == 0x9000 and len(se_id.data) == 16
    assert layer.send(se.generate_key(se.SLOT_AUTH)).sw == 0x6985  # no commitment first
    s = layer.send(se.commit(se.SLOT_AUTH))
    assert s.sw == 0x9000 and len(s.data) == 32
    gen = layer.send(se.generate_key(se.SLOT_AUTH))
    assert gen.sw == 0x9000
    key = se.parse_generated_key(gen.data)
    assert hashlib.sha256(key.r).digest() == s.data and key.public_key.key_size == 2048
    wrong = _cert_for(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    assert [layer.send(c).sw for c in se.put_certificate(se.SLOT_AUTH, wrong)][-1] == 0x6A80
    der = _cert_for(key.public_key)
    assert all(layer.send(c).sw == 0x9000 for c in se.put_certificate(se.SLOT_AUTH, der))
    # temp PIN: set, block; the app unblocks with temp PIN ‖ new PIN (seed 004 p.17)
    assert layer.send(se.set_temp_pin(se.SLOT_AUTH, b"T3MP0RARY-PIN-16")).sw == 0x9000
    assert layer.send(se.block_pin(se.SLOT_AUTH)).sw == 0x9000
    layer.end()
    app = link
    assert app.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, JPKI_AID).to_bytes())[-2:] == b"\x90\x00"
    verify = CommandApdu(0x00, 0x20, 0x00, AUTH_PIN_P2, b"9999").to_bytes()
    assert app.transmit(verify)[-2:] == b"\x69\x84"  # blocked
    bad = se.unblock_pin(AUTH_PIN_P2, b"WRONG-TEMP-PIN-X", b"9999").to_bytes()
    assert app.transmit(bad)[-2:] == b"\x63\xc2"
    ok = se.unblock_pin(AUTH_PIN_P2, b"T3MP0RARY-PIN-16", b"9999").to_bytes()
    assert app.transmit(ok)[-2:] == b"\x90\x00"
    assert app.transmit(ok)[-2:] == b"\x69\x84"  # the temporary PIN is used up
    assert app.transmit(verify)[-2:] == b"\x90\x00"
    # the key signs with the new PIN, and the certificate is readable
    app.transmit(CommandApdu(0x00, 0xA4, 0x02, 0x0C, b"\x00\x17").to_bytes())
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + bytes(32)
    sig = app.transmit(CommandApdu(0x80, 0x2A, 0x00, 0x80, digest_info, ne=256).to_bytes())
    assert sig[-2:] == b"\x90\x00"
    key.public_key.verify(sig[:-2], bytes(32), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    app.transmit(CommandApdu(0x00, 0xA4, 0x02, 0x0C, b"\x00\x0a").to_bytes())
    head = app.transmit(CommandApdu(0x00, 0xB0, 0, 0, ne=4).to_bytes())
    assert head[:-2] == der[:4]
    # delete keys and certificates: the key EF and certificate are gone, the SE ID stays
    layer = _open(link)
    assert layer.send(se.delete_keys()).sw == 0x9000
    assert layer.send(se.get_se_id()).data == se_id.data
    layer.end()
    app.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, JPKI_AID).to_bytes())
    assert app.transmit(CommandApdu(0x00, 0xA4, 0x02, 0x0C, b"\x00\x17").to_bytes())[-2:] == b"\x6a\x82"
    assert app.transmit(CommandApdu(0x00, 0xA4, 0x02, 0x0C, b"\x00\x0a").to_bytes())[-2:] == b"\x6a\x82"
    private_pems = [v for v in card.registry[JPKI_AID].applet.data["keys"].values()]
    assert private_pems == []


def test_applet_deleted_through_the_issuer() -> None:
    card, link = _card()
    link.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, ISD_AID).to_bytes())
    isd = Scp03Layer(link, StaticKeys.single(ISD_KEYS[0x30], 0x30), sd_aid=ISD_AID)
    isd.open(0x03)
    r = isd.send(CommandApdu(0x80, 0xE4, 0x00, 0x00, b"\x4f" + bytes((len(JPKI_AID),)) + JPKI_AID, ne=256))
    assert r.sw == 0x9000 and JPKI_AID not in card.registry
