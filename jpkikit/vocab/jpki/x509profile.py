"""Certificate profile checks for the four JPKI certificates (docs/spec/jpki-applet.md#certificate-profiles),
with asn1crypto.

Each check returns a list of problems (empty = conforms); every problem names the rule it breaks, and the
section of that page that states it: "CA certificates" (CA profile), "User-authentication certificate" (auth
profile), "Digital-signature certificate" (sign profile). Only facts the page gives as confirmed or probable
are checked; inferred items (the auth cert's policy OID and key usage) are not asserted. ``hierarchy`` is
``test`` (O=JPKI-TEST, test policy arc) or ``production``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from asn1crypto import core
from asn1crypto import x509 as ax
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PURPOSES = ("auth", "sign")
HIERARCHIES = ("test", "production")
CA_OU = {"auth": "JPKI for user authentication", "sign": "JPKI for digital signature"}
JLIS_OU = "Japan Agency for Local Authority Information Systems"
SIGN_POLICY = {"production": "1.2.392.200149.8.5.1.1.20", "test": "1.2.392.200149.8.5.1.0.20"}
SAN_ARC = "1.2.392.200149.8.5.5."

Problems = list[str]


def _cert(der: bytes, problems: Problems) -> ax.Certificate | None:
    try:
        cert = ax.Certificate.load(bytes(der), strict=True)
        cert.native  # noqa: B018  (forces a full parse so that malformed DER is reported here)
        return cert
    except (ValueError, TypeError) as exc:
        problems.append(f"DER: not a parseable X.509 certificate ({exc})")
        return None


def _rdns(name: ax.Name) -> list[tuple[str, str, str]]:
    """(attribute type, string type, value) in order, one entry per attribute."""
    return [
        (
            atv["type"].native,
            atv["value"].name if isinstance(atv["value"], ax.DirectoryString) else "",
            str(atv["value"].native),
        )
        for rdn in name.chosen
        for atv in rdn
    ]


def _rsa_key(cert: ax.Certificate, problems: Problems) -> None:
    """All four profiles: RSA-2048, e = 65537; signed with sha256WithRSAEncryption."""
    if cert.public_key["algorithm"]["algorithm"].native != "rsa":
        problems.append("key: subject public key is not RSA")
        return
    pk = cert.public_key["public_key"].parsed
    if pk["modulus"].native.bit_length() != 2048:
        problems.append(f"key: modulus is {pk['modulus'].native.bit_length()} bits, not 2048")
    if pk["public_exponent"].native != 65537:
        problems.append(f"key: public exponent is {pk['public_exponent'].native}, not 65537")
    alg = cert["signature_algorithm"]["algorithm"].native
    if alg != "sha256_rsa":
        problems.append(f"signature algorithm is {alg}, not sha256WithRSAEncryption")


def _signed_by(cert: ax.Certificate, issuer_der: bytes, problems: Problems) -> None:
    try:
        key = serialization.load_der_public_key(ax.Certificate.load(issuer_der).public_key.dump())
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(cert.signature, cert["tbs_certificate"].dump(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError, AssertionError):
        problems.append("signature: does not verify with the issuing CA's public key")


def _critical(cert: ax.Certificate, ext: str, problems: Problems, what: str) -> None:
    if ext not in cert.critical_extensions:
        problems.append(f"{what}: extension must be critical")


def check_root(der: bytes, purpose: str, hierarchy: str = "test") -> Problems:
    """A JPKI root (CA cert in EF 0002 / 000B), CA profile."""
    problems: Problems = []
    cert = _cert(der, problems)
    if cert is None:
        return problems
    org = "JPKI-TEST" if hierarchy == "test" else "JPKI"
    want = [
        ("country_name", "printable_string", "JP"),
        ("organization_name", "utf8_string", org),
        ("organizational_unit_name", "utf8_string", CA_OU[purpose]),
        ("organizational_unit_name", "utf8_string", JLIS_OU),
    ]
    got = _rdns(cert.subject)
    if got != want:
        problems.append(f"subject DN: {got} is not the {purpose} CA DN {want} (CA profile)")
    if cert.issuer.dump() != cert.subject.dump():
        problems.append("issuer: a root is self-issued (issuer = subject)")
    _rsa_key(cert, problems)
    ku = cert.key_usage_value
    if ku is None or set(ku.native) != {"key_cert_sign", "crl_sign"}:
        problems.append(f"keyUsage: must be keyCertSign + cRLSign, got {sorted(ku.native) if ku else None}")
    else:
        _critical(cert, "key_usage", problems, "keyUsage")
    bc = cert.basic_constraints_value
    if bc is None or not bc["ca"].native:
        problems.append("basicConstraints: CA:TRUE missing")
    else:
        _critical(cert, "basic_constraints", problems, "basicConstraints")
    if cert.key_identifier is None:
        problems.append("subjectKeyIdentifier: missing")
    _signed_by(cert, der, problems)
    return problems


def check_end_entity(der: bytes, issuer_der: bytes, purpose: str, hierarchy: str = "test") -> Problems:
    """The auth (EF 000A, auth profile) or sign (EF 0001, sign profile) certificate, issued by
    ``issuer_der``."""
    problems: Problems = []
    cert = _cert(der, problems)
    issuer = _cert(issuer_der, problems)
    if cert is None or issuer is None:
        return problems
    if cert.issuer.dump() != issuer.subject.dump():
        problems.append(
            f"issuer: {cert.issuer.human_friendly} is not the {purpose} CA {issuer.subject.human_friendly}"
        )
    _signed_by(cert, issuer_der, problems)
    _rsa_key(cert, problems)
    validity = cert["tbs_certificate"]["validity"]
    ca_validity = issuer["tbs_certificate"]["validity"]
    if not validity["not_before"].native < validity["not_after"].native:
        problems.append("validity: notBefore is not before notAfter")
    if validity["not_after"].native > ca_validity["not_after"].native:
        problems.append("validity: ends after the issuing CA's certificate")
    (_check_auth if purpose == "auth" else _check_sign)(cert, hierarchy, problems)
    return problems


def _check_auth(cert: ax.Certificate, hierarchy: str, problems: Problems) -> None:
    # auth profile: C=JP, CN=<opaque alphanumeric identifier>, no personal data
    got = _rdns(cert.subject)
    types = [t for t, _, _ in got]
    if types != ["country_name", "common_name"] or got[0][2] != "JP":
        problems.append(f"subject DN: {got} is not C=JP, CN=<identifier> (auth profile)")
    elif not re.fullmatch(r"[0-9A-Za-z]+", got[1][2]):
        problems.append(f"subject CN {got[1][2]!r} is not an opaque alphanumeric identifier (auth profile)")
    if cert.subject_alt_name_value is not None and any(
        gn.name == "other_name" and gn.chosen["type_id"].dotted.startswith(SAN_ARC)
        for gn in cert.subject_alt_name_value
    ):
        problems.append("subjectAltName: the auth certificate carries the 基本4情報 (auth profile: none)")


_SAN_CHECKS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "1": ("name", lambda v: bool(v)),
    "2": ("name substitute flags", lambda v: bool(re.fullmatch(r"[01]+", v))),
    "3": ("sex (JIS X 0303)", lambda v: v in ("1", "2", "9")),
    "4": ("date of birth EYYYYMMDD", lambda v: _dob_ok(v)),
    "5": ("address", lambda v: bool(v)),
    "6": ("address substitute flags", lambda v: bool(re.fullmatch(r"[0-9]+", v))),
}


def _dob_ok(value: str) -> bool:
    if not re.fullmatch(r"[0-5][0-9]{8}", value):
        return False
    try:
        date(int(value[1:5]), int(value[5:7]), int(value[7:9]))
    except ValueError:
        return False
    return True


def _check_sign(cert: ax.Certificate, hierarchy: str, problems: Problems) -> None:
    # sign profile: C=JP, L=<prefecture>, L=<municipality>, CN=<issuance id>
    got = _rdns(cert.subject)
    types = [t for t, _, _ in got]
    if types != ["country_name", "locality_name", "locality_name", "common_name"] or got[0][2] != "JP":
        problems.append(f"subject DN: {got} is not C=JP, L=, L=, CN= (sign profile)")
    ku = cert.key_usage_value
    if ku is None or set(ku.native) != {"digital_signature", "non_repudiation"}:
        problems.append(
            f"keyUsage: must be digitalSignature + nonRepudiation, got {sorted(ku.native) if ku else None}"
        )
    else:
        _critical(cert, "key_usage", problems, "keyUsage")
    policies = cert.certificate_policies_value
    ids = [p["policy_identifier"].dotted for p in policies] if policies is not None else []
    if ids != [SIGN_POLICY[hierarchy]]:
        problems.append(
            f"certificatePolicies: {ids} is not the single {hierarchy} policy {SIGN_POLICY[hierarchy]}"
        )
    else:
        _critical(cert, "certificate_policies", problems, "certificatePolicies")
    others: dict[str, str] = {}
    for gn in cert.subject_alt_name_value or []:
        if gn.name != "other_name" or not gn.chosen["type_id"].dotted.startswith(SAN_ARC):
            continue
        arc = gn.chosen["type_id"].dotted[len(SAN_ARC) :]
        if not isinstance(gn.chosen["value"].parsed, core.UTF8String):
            problems.append(f"subjectAltName .{arc}: value is not a UTF8String")
            continue
        others[arc] = gn.chosen.native["value"]
    for arc, (what, ok) in _SAN_CHECKS.items():
        if arc not in others:
            problems.append(f"subjectAltName: otherName {SAN_ARC}{arc} ({what}) missing (sign profile)")
        elif not ok(others[arc]):
            problems.append(f"subjectAltName .{arc}: {others[arc]!r} is not a valid {what}")
    if "1" in others and "2" in others and len(others["2"]) != len(others["1"]):
        problems.append("subjectAltName .2: needs one flag per character of the name (.1)")
    if "5" in others and "6" in others and len(others["6"]) != len(others["5"]):
        problems.append("subjectAltName .6: needs one flag per character of the address (.5)")
