"""COMPUTE DIGITAL SIGNATURE P1 values besides 00: the card's SHA-256 and RSASSA-PSS schemes where the ICS
claims them (ics.jpki.signature_schemes), and 6A86 for a P1 no source defines (docs/spec/jpki-applet.md,
"Commands": the signature scheme table, single source). Signatures are checked against the certificate's
public key with the kit's own verifiers (jpkikit.vocab.jpki.signature_schemes, .pkcs1)."""

from __future__ import annotations

import hashlib

import pytest

from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.apdu import ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import KeyPair
from jpkikit.vocab.jpki.pkcs1 import digest_info_of
from jpkikit.vocab.jpki.signature_schemes import (
    OPTIONAL_SCHEMES,
    PREHASHED,
    PSS,
    SignatureScheme,
    verify_scheme,
)

from .support import PAIR_PARAMS, filler, pin, public_key, read_certificate, said, signature_problem

#: Wrong lengths for the schemes that take one SHA-256 hash: the source names 6985 or 6700 for them (as for
#: P1 00's length errors, jpki-applet.md "Signing").
LENGTH_ERRORS = (SW.WRONG_LENGTH, SW.CONDITIONS_NOT_SATISFIED)
#: P1 values no public source defines (jpki-applet.md, "Commands": outside 00 to 05), low, high, and the
#: bit patterns a decoder that masks P1 would fold onto a defined scheme (0F, 10, 80).
UNDEFINED_P1 = (0x06, 0x07, 0x0F, 0x10, 0x80, 0xFF)


def _sign(jpki: JpkiClient, pair: KeyPair, p1: int, data: bytes) -> ResponseApdu:
    """SELECT the key EF, then 80 2A P1 80 Lc <data> 00 (jpki-applet.md, "Commands")."""
    r = jpki.select_ef(pair.key_ef)
    return r if not r.ok else jpki.send(0x80, 0x2A, p1, 0x80, data, 256)


def _data(scheme: SignatureScheme, pair: KeyPair) -> bytes:
    message = f"jpkikit signature scheme {scheme:02X} {pair.name}".encode()
    return hashlib.sha256(message).digest() if scheme in PREHASHED else message


@pytest.mark.requirement("JPKI-SIG-04")
@pytest.mark.parametrize("scheme", OPTIONAL_SCHEMES, ids=[f"p1-{s:02x}" for s in OPTIONAL_SCHEMES])
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_claimed_signature_scheme(jpki: JpkiClient, profile, pair: KeyPair, scheme: SignatureScheme) -> None:
    if scheme not in profile.ics.jpki.signature_schemes:
        pytest.skip(f"not applicable: ics.jpki.signature_schemes does not claim P1 {scheme:02X}")
    key = public_key(read_certificate(jpki, profile, pair.cert_ef))
    k = key.key_size // 8
    data = _data(scheme, pair)
    assert jpki.select_ap().ok  # read_certificate verified both PINs; the re-SELECT clears them
    r = _sign(jpki, pair, scheme, data)
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
        f"{pair.name} key, P1 {scheme:02X}, without VERIFY answered {said(r)}, expected 6982"
    )
    assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    r = _sign(jpki, pair, scheme, data)
    assert r.sw == SW.OK and len(r.data) == k, (
        f"{pair.name} key: 80 2A {scheme:02X} 80 answered {said(r)}, expected a {k}-byte signature and 9000"
    )
    problem = verify_scheme(scheme, key, data, r.data)
    assert not problem, f"{pair.name} key, P1 {scheme:02X}: {problem}"
    if scheme in PSS:  # the salt is random (single source), so a second signature of the same hash differs
        again = _sign(jpki, pair, scheme, data)
        assert again.ok and not verify_scheme(scheme, key, data, again.data), (
            f"{pair.name} key, P1 {scheme:02X}: the second signature answered {said(again)} or does not "
            "verify"
        )
        assert again.data != r.data, (
            f"{pair.name} key, P1 {scheme:02X}: two RSASSA-PSS signatures of one hash are identical (no salt)"
        )
    if scheme in PREHASHED:  # exactly one SHA-256 hash
        for length in (31, 33):
            r = _sign(jpki, pair, scheme, filler(length))
            assert r.sw in LENGTH_ERRORS and not r.data, (
                f"{pair.name} key: 80 2A {scheme:02X} 80 with {length} bytes (a hash is 32) answered "
                f"{said(r)}, expected 6700 or 6985"
            )


@pytest.mark.requirement("JPKI-SIG-05")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_undefined_p1_answers_6a86(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    key = public_key(read_certificate(jpki, profile, pair.cert_ef))
    assert jpki.select_ap().ok
    assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    data = digest_info_of("sha256", b"jpkikit undefined P1")
    for p1 in UNDEFINED_P1:
        r = _sign(jpki, pair, p1, data)
        assert r.sw == SW.INCORRECT_P1P2 and not r.data, (
            f"{pair.name} key: 80 2A {p1:02X} 80, a P1 no source defines, answered {said(r)}, expected 6A86"
        )
    r = jpki.sign(pair.key_ef, data)  # the refusals changed nothing: P1 00 still signs, verified
    assert r.ok, f"{pair.name} key: after the refused P1 values, 80 2A 00 80 answered {said(r)}"
    problem = signature_problem(key, data, r.data)
    assert not problem, f"{pair.name} key, P1 00 after the refused P1 values: {problem}"
