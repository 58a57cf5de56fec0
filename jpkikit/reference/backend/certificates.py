"""Certificate work of the simulated J-LIS: checking a card signature certificate and a signed application
against the test persona's CA (jpkikit/reference/persona), issuing phone certificates that follow the card
certificate profile (docs/spec/jpki-applet.md#certificate-profiles, checked by
jpkikit.vocab.jpki.x509profile), and CRLs.

Phone certificate profile (the kit's; the seeds give no separate one): like the card's certificate of the
same kind — the sign certificate copies the card sign certificate's subject, subjectAltName (基本4情報) and
policies; the auth certificate gets a fresh 23-character CN — issued by the same test CA, for the public
key generated on the SE, valid until the card certificate expires (the kit's reading of seed 004 p.6, which
links phone certificates to the card certificate; docs/spec/system.md#security-requirements).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from jpkikit.reference.backend.errors import BackendError
from jpkikit.reference.persona import read_file

KINDS = ("auth", "sign")
#: As the persona's auth certificate; named by one public source only, the jsrsasign JPKI OID add-on
#: (inferred, docs/spec/jpki-applet.md#user-authentication-certificate).
OID_POLICY_AUTH = "1.2.392.200149.8.5.1.3.30"
AUTH_CN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class PersonaCa:
    kind: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@cache
def persona_ca(kind: str) -> PersonaCa:
    """The persona's CA of ``kind`` (public test keys; they protect nothing)."""
    cert = x509.load_der_x509_certificate(read_file(f"{kind}-ca.der"))
    pem = read_file(f"{kind}-ca-key.pem")
    key = serialization.load_pem_private_key(pem[pem.index(b"-----BEGIN") :], None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return PersonaCa(kind, cert, key)


def serial_hex(cert: x509.Certificate) -> str:
    return f"{cert.serial_number:X}"


def check_card_certificate(
    der: bytes, now: dt.datetime, anchors: tuple[x509.Certificate, ...] = ()
) -> x509.Certificate:
    """The card signature certificate is issued by a trusted card CA (``anchors``, by default the test
    persona's sign CA) and valid at ``now`` (seed 004 p.15 step ③, p.18 ⑤)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise BackendError("unknown-card-certificate", f"not a certificate: {exc}") from None
    for ca in anchors or (persona_ca("sign").cert,):
        if cert.issuer != ca.subject:
            continue
        try:
            ca.public_key().verify(  # type: ignore[union-attr]
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
            )
        except (InvalidSignature, TypeError, ValueError):
            continue
        break
    else:
        raise BackendError(
            "unknown-card-certificate", f"issuer {cert.issuer.rfc4514_string()} is not a trusted card CA"
        )
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise BackendError(
            "expired-card-certificate", f"valid {cert.not_valid_before_utc}..{cert.not_valid_after_utc}"
        )
    return cert


def check_application_signature(card_cert: x509.Certificate, application: bytes, signature: bytes) -> None:
    """RSASSA-PKCS1-v1_5 with SHA-256 by the card's signature key (steps ④⑤)."""
    key = card_cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BackendError("unknown-card-certificate", "card certificate key is not RSA")
    try:
        key.verify(signature, application, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise BackendError("bad-application-signature", "application signature does not verify") from None


def _auth_cn() -> str:
    return "JKPHONE" + "".join(AUTH_CN_ALPHABET[b % len(AUTH_CN_ALPHABET)] for b in os.urandom(16))


def issue_phone_certificate(
    kind: str, public_key: rsa.RSAPublicKey, card_cert: x509.Certificate, now: dt.datetime
) -> x509.Certificate:
    """A phone certificate of ``kind`` for ``public_key`` (step ⑳), linked to ``card_cert``: valid until the
    card certificate expires, never longer (seed 004 p.6: the phone certificate follows the card's)."""
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size != 2048:
        raise BackendError("bad-public-key", "the SE's public key must be RSA-2048 (seed 004 p.12)")
    ca = persona_ca(kind)
    if kind == "sign":
        subject = card_cert.subject
    else:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.COMMON_NAME, _auth_cn()),
            ]
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now.replace(microsecond=0))
        .not_valid_after(min(card_cert.not_valid_after_utc, ca.cert.not_valid_after_utc))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if kind == "sign":
        for oid in (
            ExtensionOID.KEY_USAGE,
            ExtensionOID.CERTIFICATE_POLICIES,
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ):
            try:
                ext = card_cert.extensions.get_extension_for_oid(oid)
            except x509.ExtensionNotFound:
                continue
            builder = builder.add_extension(ext.value, critical=ext.critical)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
        policy = x509.PolicyInformation(x509.ObjectIdentifier(OID_POLICY_AUTH), None)
        builder = builder.add_extension(usage, critical=True).add_extension(
            x509.CertificatePolicies([policy]), critical=False
        )
    return builder.sign(ca.key, hashes.SHA256())


def build_crl(kind: str, revoked: list[tuple[str, dt.datetime, bool]], now: dt.datetime) -> bytes:
    """A CRL of the ``kind`` CA: (serial hex, date, suspended) entries; suspension is certificateHold."""
    ca = persona_ca(kind)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
    )
    for serial, when, suspended in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(when)
        if suspended:
            entry = entry.add_extension(x509.CRLReason(x509.ReasonFlags.certificate_hold), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
