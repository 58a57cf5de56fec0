"""Each certificate profile rule (docs/spec/jpki-applet.md#certificate-profiles) is shown to catch a
certificate that breaks it."""

from __future__ import annotations

from functools import cache

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from jpkikit.reference.persona import load_persona
from jpkikit.reference.persona.generate import key_usage
from jpkikit.vocab.jpki.x509profile import check_end_entity, check_root

from .faulty_jpki import Mutation, rebuild


@cache
def small_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 1024)


def _subject(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, v) for oid, v in attrs])


def _san_without(arc: str, replace: str | None = None) -> Mutation:
    def mutate(b: x509.CertificateBuilder, original: x509.Certificate) -> x509.CertificateBuilder:
        names = []
        for gn in original.extensions.get_extension_for_class(x509.SubjectAlternativeName).value:
            assert isinstance(gn, x509.OtherName)
            if gn.type_id.dotted_string.endswith("." + arc):
                if replace is None:
                    continue
                raw = replace.encode()
                gn = x509.OtherName(gn.type_id, b"\x0c" + bytes((len(raw),)) + raw)
            names.append(gn)
        return b.add_extension(x509.SubjectAlternativeName(names), False)

    return mutate


SAN, KU, POL, BC = (
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.KEY_USAGE,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.BASIC_CONSTRAINTS,
)
C, ORG, OU, L, CN = (
    NameOID.COUNTRY_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.LOCALITY_NAME,
    NameOID.COMMON_NAME,
)

ROOT_CASES = {
    "ku-not-critical": (
        dict(
            drop=(KU,),
            mutate=lambda b, _: b.add_extension(key_usage(key_cert_sign=True, crl_sign=True), False),
        ),
        "keyUsage",
    ),
    "ku-adds-signature": (
        dict(
            drop=(KU,),
            mutate=lambda b, _: b.add_extension(
                key_usage(key_cert_sign=True, crl_sign=True, digital_signature=True), True
            ),
        ),
        "keyUsage",
    ),
    "not-a-ca": (dict(drop=(BC,)), "basicConstraints"),
    "production-org": (
        dict(
            subject=_subject(
                (C, "JP"),
                (ORG, "JPKI"),
                (OU, "JPKI for user authentication"),
                (OU, "Japan Agency for Local Authority Information Systems"),
            )
        ),
        "subject DN",
    ),
    "sha384": (dict(algorithm=hashes.SHA384()), "signature algorithm"),
    "no-ski": (dict(drop=(ExtensionOID.SUBJECT_KEY_IDENTIFIER,)), "subjectKeyIdentifier"),
}


@pytest.mark.parametrize("case", ROOT_CASES)
def test_root_rule_catches(case: str) -> None:
    kwargs, rule = ROOT_CASES[case]
    der = rebuild("auth-ca", **kwargs)  # type: ignore[arg-type]
    problems = check_root(der, "auth", "test")
    assert any(p.startswith(rule) for p in problems), problems


def test_root_wrong_purpose_and_self_signature() -> None:
    certs = load_persona().certs
    assert any(p.startswith("subject DN") for p in check_root(certs["auth-ca"], "sign", "test"))
    assert check_root(b"\x30\x03\x02\x01\x00", "auth")[0].startswith("DER")


SIGN_CASES = {
    "no-non-repudiation": (
        dict(drop=(KU,), mutate=lambda b, _: b.add_extension(key_usage(digital_signature=True), True)),
        "keyUsage",
    ),
    "policy-not-critical": (
        dict(
            drop=(POL,),
            mutate=lambda b, _: b.add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier("1.2.392.200149.8.5.1.0.20"), None)]
                ),
                False,
            ),
        ),
        "certificatePolicies",
    ),
    "production-policy": (
        dict(
            drop=(POL,),
            mutate=lambda b, _: b.add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier("1.2.392.200149.8.5.1.1.20"), None)]
                ),
                True,
            ),
        ),
        "certificatePolicies",
    ),
    "no-dob": (dict(drop=(SAN,), mutate=_san_without("4")), "subjectAltName"),
    "bad-dob": (dict(drop=(SAN,), mutate=_san_without("4", "619800231")), "subjectAltName .4"),
    "bad-sex": (dict(drop=(SAN,), mutate=_san_without("3", "3")), "subjectAltName .3"),
    "flags-length": (dict(drop=(SAN,), mutate=_san_without("2", "0")), "subjectAltName .2"),
    "no-locality": (dict(subject=_subject((C, "JP"), (CN, "X"))), "subject DN"),
    "small-key": (dict(key=None), "key"),
}


@pytest.mark.parametrize("case", SIGN_CASES)
def test_sign_rule_catches(case: str) -> None:
    kwargs, rule = SIGN_CASES[case]
    if case == "small-key":
        kwargs = {"key": small_key()}
    der = rebuild("sign", **kwargs)  # type: ignore[arg-type]
    problems = check_end_entity(der, load_persona().certs["sign-ca"], "sign", "test")
    assert any(p.startswith(rule) for p in problems), problems


def test_auth_rules_catch() -> None:
    ca = load_persona().certs["auth-ca"]
    with_locality = rebuild("auth", subject=_subject((C, "JP"), (L, "Tokyo-to"), (CN, "ABC123")))
    assert any(p.startswith("subject DN") for p in check_end_entity(with_locality, ca, "auth", "test"))
    sign_san = x509.load_der_x509_certificate(
        load_persona().certs["sign"]
    ).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    personal = rebuild("auth", mutate=lambda b, _: b.add_extension(sign_san.value, False))  # 基本4情報
    assert any(p.startswith("subjectAltName") for p in check_end_entity(personal, ca, "auth", "test"))


def test_issuer_and_signature_chain() -> None:
    certs = load_persona().certs
    problems = check_end_entity(certs["auth"], certs["sign-ca"], "auth", "test")
    assert any(p.startswith("issuer") for p in problems) and any(p.startswith("signature") for p in problems)
