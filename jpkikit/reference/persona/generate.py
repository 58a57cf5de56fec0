"""Deterministic generation of the test persona: JPKI-TEST roots and end-entity certificates with keys.

Everything derives from one fixed seed through HMAC-DRBG (NIST SP 800-90A §10.1.2, SHA-256): RSA primes
are drawn from it and tested with Miller-Rabin (bases also from the DRBG), the certificates carry fixed
dates and serial numbers, and RSA PKCS#1 v1.5 signatures are deterministic, so rerunning gives identical
bytes. The certificate contents follow docs/spec/jpki-applet.md#certificate-profiles (its sections "CA
certificates", "User-authentication certificate", "Digital-signature certificate", named below as CA, auth
and sign) with the JPKI-TEST hierarchy (O=JPKI-TEST, test policy 1.2.392.200149.8.5.1.0.20).

THESE KEYS ARE TEST KEYS. They are published in the kit and protect nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SEED = b"jpkikit test persona / JPKI-TEST / v1"
E = 65537
KEY_BITS = 2048

OID_JPKI_SAN = "1.2.392.200149.8.5.5"  # otherName arc of the 基本4情報 (sign)
OID_POLICY_SIGN_TEST = "1.2.392.200149.8.5.1.0.20"  # JPKI-TEST sign policy (sign)
OID_POLICY_AUTH = "1.2.392.200149.8.5.1.3.30"  # "auth class30": jsrsasign's JPKI OIDs only (auth; inferred)
CPS_URI = "http://www.jpki.go.jp/cps.html"

KEY_PREAMBLE = b"TEST KEY - NOT SECRET - jpkikit test persona only; never use it for anything real\n"

# The holder. Fictitious; the name and address are written in the forms of the sign section.
HOLDER = {
    "name": "試験\u3000太郎",
    "sex": "1",
    "dob": "319800217",  # 昭和 (3) + Gregorian 1980-02-17 (sign, OID .4)
    "address": "東京都千代田区試験町一丁目1番1号",
    "prefecture": "Tokyo-to",
    "municipality": "Chiyoda-ku",
}
AUTH_CN = "JKTEST0000AUTH00000001A"  # 23 alphanumerics, no personal data (auth)
SIGN_CN = "20260105100000" + "00001" + "JKTEST001"  # request time + sequence + window code (a public README)

ROOT_NOT_BEFORE = dt.datetime(2023, 7, 15, 15, 0, 0, tzinfo=dt.UTC)
ROOT_NOT_AFTER = dt.datetime(2033, 7, 15, 14, 59, 59, tzinfo=dt.UTC)  # 23:59:59 JST, as the J-LIS roots
EE_NOT_BEFORE = dt.datetime(2026, 1, 4, 15, 0, 0, tzinfo=dt.UTC)
EE_NOT_AFTER = dt.datetime(2031, 2, 17, 14, 59, 59, tzinfo=dt.UTC)  # 5th birthday after issuance (auth)

#: The persona's PINs. Test values (the mock defaults of PocketSign's Verify SDK); profiles refer to them
#: as ``test:`` secrets.
PINS = {"auth": "1234", "sign": "ABC123"}


class HmacDrbg:
    """HMAC_DRBG with SHA-256, no reseeding and no prediction resistance (SP 800-90A §10.1.2)."""

    def __init__(self, seed: bytes, personalization: bytes = b"") -> None:
        self.key = b"\x00" * 32
        self.v = b"\x01" * 32
        self._update(seed + personalization)

    def _hmac(self, data: bytes) -> bytes:
        return hmac.new(self.key, data, hashlib.sha256).digest()

    def _update(self, provided: bytes) -> None:
        self.key = self._hmac(self.v + b"\x00" + provided)
        self.v = self._hmac(self.v)
        if provided:
            self.key = self._hmac(self.v + b"\x01" + provided)
            self.v = self._hmac(self.v)

    def generate(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            self.v = self._hmac(self.v)
            out += self.v
        self._update(b"")
        return out[:n]

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound) by rejection sampling."""
        size = (bound.bit_length() + 7) // 8
        while True:
            value = int.from_bytes(self.generate(size), "big") >> (size * 8 - bound.bit_length())
            if value < bound:
                return value


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, math.isqrt(p) + 1))]


def is_probable_prime(n: int, drbg: HmacDrbg, rounds: int = 64) -> bool:
    """Miller-Rabin with ``rounds`` DRBG-chosen bases after trial division (FIPS 186-5 B.3.1)."""
    if n < 2 or n % 2 == 0:
        return n == 2
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = 2 + drbg.below(n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(drbg: HmacDrbg, bits: int) -> int:
    while True:
        # top two bits set so that p*q has exactly 2*bits bits; odd
        candidate = int.from_bytes(drbg.generate(bits // 8), "big") | (3 << (bits - 2)) | 1
        if math.gcd(candidate - 1, E) == 1 and is_probable_prime(candidate, drbg):
            return candidate


def derive_key(label: str) -> rsa.RSAPrivateKey:
    """The RSA-2048 key named ``label``, always the same for the same seed and label."""
    drbg = HmacDrbg(SEED, b"/rsa/" + label.encode())
    half = KEY_BITS // 2
    p = _prime(drbg, half)
    while True:
        q = _prime(drbg, half)
        if abs(p - q) >> (half - 100):  # FIPS 186-5 A.1.3: |p - q| > 2^(nlen/2 - 100)
            break
    d = pow(E, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(E, p * q),
    )
    return numbers.private_key()


def ca_name(purpose: str) -> x509.Name:
    """C (PrintableString) / O / OU / OU (UTF8String) of a JPKI-TEST root (CA)."""
    ou = "JPKI for user authentication" if purpose == "auth" else "JPKI for digital signature"
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME, "Japan Agency for Local Authority Information Systems"
            ),
        ]
    )


def _ca_cert(purpose: str, key: rsa.RSAPrivateKey, serial: int) -> x509.Certificate:
    name = ca_name(purpose)
    jpki_service = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "公的個人認証サービス"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(ROOT_NOT_BEFORE)
        .not_valid_after(ROOT_NOT_AFTER)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DirectoryName(jpki_service)]), critical=False)
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.DirectoryName(name)], None, None, None)]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def key_usage(**flags: bool) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


def _utf8(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) >= 0x80:
        n = (len(raw).bit_length() + 7) // 8
        return b"\x0c" + bytes((0x80 | n,)) + len(raw).to_bytes(n, "big") + raw
    return b"\x0c" + bytes((len(raw),)) + raw


def _ee_cert(
    purpose: str, key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, serial: int
) -> x509.Certificate:
    if purpose == "auth":
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.COMMON_NAME, AUTH_CN),
            ]
        )
    else:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.LOCALITY_NAME, HOLDER["prefecture"]),
                x509.NameAttribute(NameOID.LOCALITY_NAME, HOLDER["municipality"]),
                x509.NameAttribute(NameOID.COMMON_NAME, SIGN_CN),
            ]
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(EE_NOT_BEFORE)
        .not_valid_after(EE_NOT_AFTER)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if purpose == "auth":
        builder = builder.add_extension(key_usage(digital_signature=True), critical=True).add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(OID_POLICY_AUTH), None)]),
            critical=False,
        )
    else:
        policy = x509.PolicyInformation(x509.ObjectIdentifier(OID_POLICY_SIGN_TEST), [CPS_URI])
        flags_name = "0" * len(HOLDER["name"])
        flags_address = "0" * len(HOLDER["address"])
        # order .1, .4, .3, .5, .2, .6, as one public source observed on a test card
        others = [
            ("1", HOLDER["name"]),
            ("4", HOLDER["dob"]),
            ("3", HOLDER["sex"]),
            ("5", HOLDER["address"]),
            ("2", flags_name),
            ("6", flags_address),
        ]
        san = [x509.OtherName(x509.ObjectIdentifier(f"{OID_JPKI_SAN}.{arc}"), _utf8(v)) for arc, v in others]
        builder = (
            builder.add_extension(key_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(x509.CertificatePolicies([policy]), critical=True)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
        )
    return builder.sign(ca_key, hashes.SHA256())


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KEY_PREAMBLE + pem


def build() -> dict[str, bytes]:
    """All persona files, name -> bytes. Rerunning gives the same bytes."""
    keys = {label: derive_key(label) for label in ("auth-ca", "sign-ca", "auth", "sign")}
    roots = {
        "auth": _ca_cert("auth", keys["auth-ca"], 0x4A4B0001),
        "sign": _ca_cert("sign", keys["sign-ca"], 0x4A4B0002),
    }
    ees = {
        p: _ee_cert(p, keys[p], keys[f"{p}-ca"], roots[p], serial)
        for p, serial in (("auth", 0x4A4B1001), ("sign", 0x4A4B1002))
    }
    files: dict[str, bytes] = {}
    for label, cert in (
        ("auth-ca", roots["auth"]),
        ("sign-ca", roots["sign"]),
        ("auth", ees["auth"]),
        ("sign", ees["sign"]),
    ):
        files[f"{label}.der"] = cert.public_bytes(serialization.Encoding.DER)
        files[f"{label}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
    for label, key in keys.items():
        files[f"{label}-key.pem"] = _key_pem(key)
    manifest = {
        "format": "jpkikit-persona/1",
        "warning": "TEST PERSONA: every key here is public and protects nothing",
        "generator": "tools/make_test_pki.py (jpkikit.reference.persona.generate)",
        "seed": SEED.decode(),
        "pins": PINS,
        "holder": HOLDER,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files["persona.json"] = (
        json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    ).encode()
    return files
