"""The four certificates against the JPKI X.509 profiles (docs/spec/jpki-applet.md#certificate-profiles),
checked with asn1crypto
(jpkikit.vocab.jpki.x509profile). Which hierarchy (production J-LIS or JPKI-TEST) comes from
ics.jpki.cert_hierarchy."""

from __future__ import annotations

import pytest

from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.jpki.card import AUTH, SIGN
from jpkikit.vocab.jpki.x509profile import check_end_entity, check_root

from .support import PAIR_PARAMS, SIGN_FUNCTION, read_certificate


@pytest.mark.requirement("JPKI-CERT-01")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_ca_certificate_profile(jpki: JpkiClient, profile, pair) -> None:
    hierarchy = profile.ics.jpki.cert_hierarchy
    problems = check_root(read_certificate(jpki, profile, pair.ca_ef), pair.name, hierarchy)
    assert not problems, f"{pair.name} CA certificate (EF {pair.ca_ef:04X}):\n  " + "\n  ".join(problems)


@pytest.mark.requirement("JPKI-CERT-02")
def test_auth_certificate_profile(jpki: JpkiClient, profile) -> None:
    cert, ca = read_certificate(jpki, profile, AUTH.cert_ef), read_certificate(jpki, profile, AUTH.ca_ef)
    problems = check_end_entity(cert, ca, "auth", profile.ics.jpki.cert_hierarchy)
    assert not problems, "auth certificate (EF 000A):\n  " + "\n  ".join(problems)


@pytest.mark.requirement("JPKI-CERT-03")
@SIGN_FUNCTION
def test_sign_certificate_profile(jpki: JpkiClient, profile) -> None:
    cert, ca = read_certificate(jpki, profile, SIGN.cert_ef), read_certificate(jpki, profile, SIGN.ca_ef)
    problems = check_end_entity(cert, ca, "sign", profile.ics.jpki.cert_hierarchy)
    assert not problems, "sign certificate (EF 0001):\n  " + "\n  ".join(problems)
