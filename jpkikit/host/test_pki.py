"""Test PKI the kit generates for itself, fresh for each run (nothing here is a production key):

* :class:`TestCa` — a CA that issues certificates for a public key: the phone certificate the provisioning
  tests store for a key generated on the SE under test (PROV-CERT-01, PROV-KEY-02), and a "foreign" card CA
  whose card certificates a TSM must refuse (seed 004 p.15 step ③);
* :func:`mint_card` — a card signature certificate issued by a card CA whose key the test environment holds
  (the JPKI-TEST sign CA of the kit's persona, or a vendor's test CA): a new card for each TSM test, expired
  or soon-expiring ones, one with the serial of another card;
* :func:`tls_pki` — a CA and a server certificate for 127.0.0.1 and localhost, written as PEM files, for
  Amendment B over TLS (the reference TSM serves with them; the kit's agent trusts the CA).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

#: The extensions a card signature certificate carries that a phone certificate copies (the kit's persona
#: and docs/spec/jpki-applet.md#certificate-profiles).
COPIED = (ExtensionOID.KEY_USAGE, ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jpkikit test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class TestCa:
    __test__ = False  # not a pytest test class

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, cn: str, curve: bool = False) -> TestCa:
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            ec.generate_private_key(ec.SECP256R1())
            if curve
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def issue(
        self,
        public_key: rsa.RSAPublicKey,
        subject: x509.Name | None = None,
        *,
        serial: int | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        extensions: list[x509.Extension[x509.ExtensionType]] | None = None,
    ) -> x509.Certificate:
        """An end-entity certificate for ``public_key``."""
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject or _name("jpkikit test end entity"))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=365))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        for ext in extensions or []:
            builder = builder.add_extension(ext.value, critical=ext.critical)
        return builder.sign(self.key, hashes.SHA256())


def mint_card(
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    card_key: rsa.RSAPrivateKey,
    like: x509.Certificate | None = None,
    *,
    serial: int | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> bytes:
    """A card signature certificate (DER) for ``card_key`` under the card CA, with the subject and the
    extensions of ``like`` (the applicant's own card certificate: the same person, another card)."""
    now = _now()
    extensions = []
    if like is not None:
        for oid in COPIED:
            try:
                extensions.append(like.extensions.get_extension_for_oid(oid))
            except x509.ExtensionNotFound:
                continue
    builder = (
        x509.CertificateBuilder()
        .subject_name(like.subject if like is not None else _name("jpkikit test card"))
        .issuer_name(ca_cert.subject)
        .public_key(card_key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or min(now + dt.timedelta(days=3650), ca_cert.not_valid_after_utc))
    )
    for ext in extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # PEM of the test CA (what the agent trusts)
    cert: Path  # PEM of the server certificate, chain first
    key: Path  # PEM of its private key


def tls_pki(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """A fresh test CA and a server certificate for ``hosts`` (ECDSA P-256), written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = TestCa.generate("jpkikit test TLS CA", curve=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    files = TlsFiles(directory / "tls-ca.pem", directory / "tls-server.pem", directory / "tls-server-key.pem")
    files.ca.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files
