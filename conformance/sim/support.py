"""Host side of the SIM design's conformance tests (class sim; docs/spec/uicc.md): the ICS section, the
handsets the kit plays, a new UICC for the tests that change it (the seam's test bed: the kit's emulator
in-process or served with --testbed; on a real device these steps are a person's, so the tests are
inconclusive), the SP security domain's session through the JPKI applet, and a key pair generated off card
with a certificate for it (the J-LIS side of seed 000 step ⑤, played by the kit).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from jpkikit.errors import Inconclusive, ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.profile_sections import SimClaims
from jpkikit.harness.seam import testbed
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.host.uicc_terminal import power_up
from jpkikit.secrets import Secret
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.jpki import sim
from jpkikit.vocab.jpki.card import AUTH

from ..provisioning.support import apsd_aid, apsd_keys, level

#: The handsets the kit plays (IMEIs with their Luhn check digit): the holder's, and a third party's phone
#: of the
#: same model (the same TAC, the first 8 digits), so that binding to the model instead of the device shows.
HANDSET_A = "353456789012348"
HANDSET_B = "353456780000003"
DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")


def claims(profile: Profile) -> SimClaims:
    if profile.ics.sim is None:
        raise ProfileError(str(profile.path), "ics.sim", "not given")
    return profile.ics.sim


@contextmanager
def new_uicc(profile: Profile, card: CardSession) -> Iterator[CardSession]:
    """A session on a new UICC that honours the kit's test-bed commands (the seam)."""
    with testbed(profile, card) as renew:
        if renew is None:
            raise Inconclusive(
                "this test holds the phone to a reader, switches it off or moves the SIM between phones: "
                "on a "
                "real device those are a person's steps (docs/spec/uicc.md#the-test-bed); run it by hand"
            )
        yield renew()


def in_handset(session: CardSession, imei: str | None, profile_sent: bool = True) -> None:
    """Power the UICC up in the handset ``imei`` (None: a terminal that gives no IMEI)."""
    start = power_up(session, imei, profile=profile_sent)
    if imei is not None and profile_sent:
        assert start.asked_imei, f"after TERMINAL PROFILE the UICC did not ask for the IMEI: {start.profile}"
        assert start.response is not None and start.response.ok, (
            f"TERMINAL RESPONSE answered {start.response}"
        )


def sp_session(session: CardSession, profile: Profile) -> Scp03Layer:
    """SELECT the JPKI applet and open SCP03 through it with the SP security domain's key set (ixit.gp,
    sd: apsd) at the provisioning level the profile claims."""
    r = session.select(profile.ixit.aids.jpki)
    assert r.ok, f"SELECT of the JPKI applet answered {r}"
    layer = Scp03Layer(session.tracer, apsd_keys(profile), sd_aid=apsd_aid(profile))
    layer.open(level(profile))
    return layer


def bind(session: CardSession, profile: Profile, imei: str = HANDSET_A) -> None:
    """Issue the applet to handset ``imei``: power up in it and BIND HANDSET in the SP SD's session."""
    in_handset(session, imei)
    layer = sp_session(session, profile)
    r = layer.send(sim.bind_handset())
    assert r.ok, f"BIND HANDSET in the SP security domain's session answered {r}"
    layer.end()


def se_id(layer: Scp03Layer) -> bytes:
    r = layer.send(se.get_se_id())
    assert r.ok and r.data, f"GET SE ID answered {r}"
    return r.data


# -- the J-LIS side: a key pair generated off card, its certificate, the package for the SE ------------------


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def package(key: rsa.RSAPrivateKey, se_identity: bytes, dek: bytes) -> bytes:
    """The key package of PUT KEY PAIR: the SE it is for, and the key under that SE's SP SD Key-DEK."""
    return se.key_package(se_identity, se.wrap_private_key(dek, pkcs8(key)))


def put_key_pair(layer: Scp03Layer, slot: int, data: bytes) -> list[int]:
    """PUT KEY PAIR in blocks; the status word of every block."""
    return [layer.send(block).sw for block in sim.put_key_pair_blocks(slot, data)]


def certificate_for(key: rsa.RSAPublicKey) -> tuple[bytes, bytes]:
    """(certificate, CA certificate), DER: a throwaway CA issuing a user-authentication certificate for
    ``key`` (the back end's step the kit plays; only the key binding matters to the SE)."""
    ca_key = new_key()
    now = datetime.datetime.now(datetime.UTC)
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                    x509.NameAttribute(NameOID.COMMON_NAME, os.urandom(10).hex().upper()),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER), ca.public_bytes(serialization.Encoding.DER)


def put_certificates(layer: Scp03Layer, slot: int, cert: bytes, ca: bytes) -> None:
    for der, is_ca in ((cert, False), (ca, True)):
        for block in se.put_certificate(slot, der, ca=is_ca):
            r = layer.send(block)
            assert r.ok, f"PUT CERTIFICATE ({'CA' if is_ca else 'own'}) block {block.p1:02X} answered {r}"


def authenticate(session: CardSession, profile: Profile, pin: Secret, channel: int = 0) -> bytes:
    """The JPKI client's authentication on ``session``: SELECT, VERIFY the auth PIN, sign a SHA-256
    DigestInfo with the auth key; the signature (asserting each step answered 9000)."""
    jpki = JpkiClient(session, profile.ixit.aids.jpki, channel)
    r = jpki.select_ap()
    assert r.ok, f"SELECT of the JPKI applet answered {r}"
    r = jpki.verify(AUTH.pin_ef, pin)
    assert r.ok, f"VERIFY of the auth PIN answered {r}"
    r = jpki.sign(AUTH.key_ef, DIGEST_INFO_SHA256 + bytes(32))
    assert r.ok and len(r.data) == 256, f"the authentication signature answered {r}"
    return r.data


def verifies(public: rsa.RSAPublicKey, signature: bytes) -> bool:
    try:
        public.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except Exception:
        return False
    return True


def signed_by(public: rsa.RSAPublicKey, signature: bytes) -> bool:
    """Whether ``signature`` is PKCS#1 v1.5 over the DigestInfo :func:`authenticate` signs, by ``public``."""
    try:
        recovered = public.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except Exception:
        return False
    return recovered == DIGEST_INFO_SHA256 + bytes(32)
