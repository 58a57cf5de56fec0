"""Extended length (ISO/IEC 7816-4 §5.1), as the profile claims it (ics.iso7816.extended_length, up to
ics.iso7816.max_command_data and max_response_data): at each claimed limit, one under it and just past the
short limits (256 data bytes, Ne 257); one byte past the command data claim a refusal (6700) or the command
processed as sent, never in part, since an implementation may take more than it announces."""

from __future__ import annotations

import pytest

from jpkikit.errors import Inconclusive
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.apdu import (
    EXT_MAX_NC,
    EXT_MAX_NE,
    SHORT_MAX_NC,
    SHORT_MAX_NE,
    CommandApdu,
    ResponseApdu,
)
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import AUTH, EF_AUTH_CA, SELECT_TOKEN_INFO
from jpkikit.vocab.jpki.signature_schemes import HASHING, SignatureScheme, verify_scheme

from ..jpki.support import filler, pin, public_key, read_certificate, restore, said


def _one_response(card, command: CommandApdu) -> ResponseApdu:
    """``command`` sent below the kit's 61xx collector (the tracer is the layer above the link): the one
    response APDU the implementation gave, so that data handed out in GET RESPONSE pieces shows as 61xx."""
    return ResponseApdu.parse(card.tracer.transmit(command.to_bytes()))


@pytest.mark.requirement("ISO-EXT-01")
def test_extended_length_accepted(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    r = card.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid, extended=True))
    assert r.sw == SW.OK and not r.data, f"case 3E SELECT answered {said(r)}, expected 9000 and no data"
    r = card.transmit(CommandApdu(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO, extended=True))
    assert r.sw == SW.OK and not r.data, f"case 3E SELECT of EF 0006 answered {said(r)}"
    short = card.read_binary(0, 32)
    assert short.ok
    r = card.transmit(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=32, extended=True))
    assert r.sw == SW.OK and r.data == short.data, f"case 2E READ BINARY of 32 bytes answered {said(r)}"


@pytest.mark.requirement("ISO-EXT-01")
def test_extended_read_returns_the_data_asked_for(card, profile) -> None:
    jpki = JpkiClient(card, profile.ixit.aids.jpki)
    assert jpki.select_ap().ok
    content, last = jpki.read_ef(EF_AUTH_CA)  # short reads; EF 000B is free everywhere (file map)
    assert last.ok, f"reading EF 000B with short READ BINARY answered {last}"
    if len(content) <= SHORT_MAX_NE:
        raise Inconclusive(f"EF 000B holds {len(content)} bytes: no EF to read more than 256 bytes from")
    claim = profile.ics.iso7816.max_response_data
    for offset in (0, 0x100):
        left = len(content) - offset
        wanted = {SHORT_MAX_NE + 1, claim - 1, claim, min(left, claim), min(left, claim) - 1, EXT_MAX_NE}
        for ne in sorted(n for n in wanted if SHORT_MAX_NE < n <= claim or n == EXT_MAX_NE):
            expected = content[offset : offset + min(ne, claim)]
            r = _one_response(card, CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, ne=ne, extended=True))
            shown = "Le 0000" if ne == EXT_MAX_NE else f"Ne={ne}"
            # 9000, or 6282 (end of file before Ne bytes, ISO/IEC 7816-4 status bytes) when fewer came
            allowed = (SW.OK,) if len(expected) == ne else (SW.OK, SW.END_OF_FILE)
            assert r.sw in allowed, (
                f"case 2E READ BINARY at offset {offset:04X}, {shown} (max_response_data {claim}) answered "
                f"{said(r)}, expected {len(expected)} bytes in one response"
            )
            assert r.data == expected, (
                f"case 2E READ BINARY at offset {offset:04X}, {shown} (max_response_data {claim}) returned "
                f"{len(r.data)} bytes, expected the {len(expected)} bytes short reads return there"
            )


@pytest.mark.requirement("ISO-EXT-01")
def test_extended_command_data_up_to_the_claim(card, profile) -> None:
    claim = profile.ics.iso7816.max_command_data
    if claim <= SHORT_MAX_NC:
        pytest.skip(f"not applicable: ics.iso7816.max_command_data is {claim}: no data field above 255 bytes")
    hashing = [SignatureScheme(p1) for p1 in profile.ics.jpki.signature_schemes if p1 in HASHING]
    if not hashing:
        raise Inconclusive(
            "no claimed command takes more than 255 data bytes: the kit sends long data fields with a "
            "COMPUTE DIGITAL SIGNATURE scheme in which the card hashes (P1 01, 03 or 05 in "
            "ics.jpki.signature_schemes)"
        )
    scheme = (
        SignatureScheme.SHA256_DIGEST_INFO if SignatureScheme.SHA256_DIGEST_INFO in hashing else hashing[0]
    )
    jpki = JpkiClient(card, profile.ixit.aids.jpki)
    assert jpki.select_ap().ok
    try:
        key = public_key(read_certificate(jpki, profile, AUTH.cert_ef))
        assert jpki.select_ap().ok
        assert jpki.verify(AUTH.pin_ef, pin(profile, AUTH)).ok, "VERIFY of the auth PIN failed"
        assert jpki.select_ef(AUTH.key_ef).ok
        for length in sorted({SHORT_MAX_NC + 1, claim - 1, claim}):
            message = filler(length)
            command = CommandApdu(0x80, 0x2A, scheme, 0x80, message, ne=256, extended=True)
            r = card.transmit(command)
            assert r.sw == SW.OK, (
                f"case 4E 80 2A {scheme:02X} 80 with {length} data bytes (max_command_data {claim}) answered "
                f"{said(r)}"
            )
            problem = verify_scheme(scheme, key, message, r.data)
            assert not problem, (
                f"case 4E 80 2A {scheme:02X} 80 with {length} data bytes: the signature is not that of all "
                f"{length} bytes ({problem})"
            )
        past = claim + 1  # past the claim: refused with 6700, or processed as sent, never in part
        if past <= EXT_MAX_NC:
            message = filler(past)
            r = card.transmit(CommandApdu(0x80, 0x2A, scheme, 0x80, message, ne=256, extended=True))
            if not (r.sw == SW.WRONG_LENGTH and not r.data):
                assert r.sw == SW.OK, (
                    f"case 4E 80 2A {scheme:02X} 80 with {past} data bytes (one past max_command_data "
                    f"{claim}) answered {said(r)}, expected 6700 or a signature of all {past} bytes"
                )
                problem = verify_scheme(scheme, key, message, r.data)
                assert not problem, (
                    f"case 4E 80 2A {scheme:02X} 80 with {past} data bytes (one past max_command_data "
                    f"{claim}) was signed, but not over all {past} bytes ({problem})"
                )
    finally:
        restore(jpki, profile)


@pytest.mark.requirement("ISO-EXT-02")
def test_extended_length_rejected_when_not_claimed(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    expected = profile.ics.iso7816.extended_length_reject_sw
    r = card.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid, extended=True))
    assert r.sw == expected and not r.data, (
        f"case 3E SELECT answered {said(r)}, the profile says {expected:04X}"
    )
    assert card.select(aid).ok, "the card stopped working after an extended-length APDU"
    assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok
    r = card.transmit(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=32, extended=True))
    assert r.sw == expected and not r.data, (
        f"case 2E READ BINARY answered {said(r)}, the profile says {expected:04X}"
    )
    assert card.read_binary(0, 32).ok, "the card stopped working after an extended-length READ BINARY"
    assert card.select(aid).ok, "the card stopped working after an extended-length APDU"
