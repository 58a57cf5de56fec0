"""COMPUTE DIGITAL SIGNATURE 80 2A 00 80: PKCS#1 v1.5 type 1 over the DigestInfo given, checked against the
certificate's public key with the kit's strict verifier; refused without VERIFY and for data that cannot be
padded (docs/spec/jpki-applet.md: "Commands", "Signing", "Security state"). The key size comes from the
certificate, the PINs from ixit.secrets."""

from __future__ import annotations

import pytest

from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import KeyPair
from jpkikit.vocab.jpki.pkcs1 import digest_info_of, max_data_length

from .support import (
    PAIR_PARAMS,
    filler,
    other_pair,
    pin,
    public_key,
    read_certificate,
    said,
    signature_problem,
)

HASHES = ("sha1", "sha256", "sha384", "sha512")
LENGTH_ERRORS = (SW.WRONG_LENGTH, SW.CONDITIONS_NOT_SATISFIED)  # jpki-applet.md, "Signing": 6700 or 6985


@pytest.mark.requirement("JPKI-SIG-01")
@pytest.mark.parametrize("hash_name", HASHES)
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_signature_verifies_with_the_certificate(
    jpki: JpkiClient, profile, pair: KeyPair, hash_name: str
) -> None:
    key = public_key(read_certificate(jpki, profile, pair.cert_ef))
    k = key.key_size // 8
    data = digest_info_of(hash_name, f"jpkikit conformance {pair.name} {hash_name}".encode())
    assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    r = jpki.sign(pair.key_ef, data)
    assert r.sw == SW.OK, f"{pair.name} key: 80 2A 00 80 with a {hash_name} DigestInfo answered {said(r)}"
    assert len(r.data) == k, f"{pair.name} key: signature of {len(r.data)} bytes, the modulus has {k}"
    problem = signature_problem(key, data, r.data)
    assert not problem, f"{pair.name} key, {hash_name}: {problem}"


@pytest.mark.requirement("JPKI-SIG-02")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_no_signature_without_verify(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    data = digest_info_of("sha256", b"unauthorised")
    r = jpki.sign(pair.key_ef, data)
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
        f"{pair.name} key without any VERIFY answered {said(r)}, expected 6982 and no signature"
    )
    # The key named in P2 (80 + its short EF identifier; single source: myna-card) is the same key under the
    # same rule: 6982 where P2 key references are supported, 6A86 (incorrect P2) where they are not.
    p2 = 0x80 | pair.key_ef
    r = jpki.send(0x80, 0x2A, 0x00, p2, data, 256)
    assert r.sw in (SW.SECURITY_STATUS_NOT_SATISFIED, SW.INCORRECT_P1P2) and not r.data, (
        f"{pair.name} key named in P2 ({p2:02X}) without any VERIFY answered {said(r)}, "
        "expected 6982 (or 6A86) and no signature"
    )
    if (other := other_pair(profile, pair)) is None:
        return
    assert jpki.verify(other.pin_ef, pin(profile, other)).ok, f"VERIFY of the {other.name} PIN failed"
    r = jpki.sign(pair.key_ef, data)
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
        f"{pair.name} key with only the {other.name} PIN verified answered {said(r)}, expected 6982"
    )


@pytest.mark.requirement("JPKI-SIG-03")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_data_that_cannot_be_padded_is_refused(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    key = public_key(read_certificate(jpki, profile, pair.cert_ef))
    longest = max_data_length(key.key_size // 8)
    assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    for data in (b"", filler(longest + 1)):
        r = jpki.sign(pair.key_ef, data)
        assert r.sw in LENGTH_ERRORS and not r.data, (
            f"{pair.name} key: 80 2A with {len(data)} bytes of data answered {said(r)}, expected 6700 or 6985"
        )
    for data in (b"\x5a", filler(longest)):
        r = jpki.sign(pair.key_ef, data)
        assert r.ok, f"{pair.name} key: 80 2A with {len(data)} bytes (1..k-11 is allowed) answered {said(r)}"
        problem = signature_problem(key, data, r.data)
        assert not problem, f"{pair.name} key, {len(data)} bytes: {problem}"
