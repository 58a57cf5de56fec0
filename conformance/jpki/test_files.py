"""JPKI-AP files: SELECT EF, READ BINARY, read access per personality, token label (docs/spec/jpki-applet.md:
"File map and access rules", "Reading a file", "Commands", "Token information (EF 0006)", "The phone token
(GP-SE)"). Which EFs are protected comes from the profile (ics.jpki.auth_cert_needs_pin); PINs from
ixit.secrets."""

from __future__ import annotations

import pytest

from jpkikit.harness.preflight import claimed_pairs
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import (
    AUTH,
    EF_AUTH_CA,
    EF_AUTH_CERT,
    EF_CERT_STATUS,
    EF_SIGN_CA,
    EF_SIGN_CERT,
    EF_TOKEN_INFO,
    LABEL_LENGTH,
    LABELS_BY_PERSONALITY,
    SIGN,
)

from .support import SIGN_FUNCTION, pin, said

ALL_EFS = (0x0001, 0x0002, 0x0006, 0x0008, 0x000A, 0x000B, 0x0017, 0x0018, 0x001A, 0x001B)  # the file map
ABSENT_EF = 0x00FF  # not in the file map
CERT_EFS = (EF_SIGN_CERT, EF_SIGN_CA, EF_AUTH_CERT, EF_AUTH_CA)
SIGN_EFS = (SIGN.cert_ef, SIGN.ca_ef, SIGN.key_ef, SIGN.pin_ef)  # none of them in an auth-only applet


def _held(profile, efs) -> list[int]:
    """The EFs of ``efs`` the applet holds: without the signature function, none of the signature EFs."""
    return [fid for fid in efs if profile.ics.jpki.sign_function or fid not in SIGN_EFS]


def _free_efs(profile) -> list[int]:
    free = _held(profile, [EF_SIGN_CA, EF_AUTH_CA, EF_TOKEN_INFO, EF_CERT_STATUS])
    if not profile.ics.jpki.auth_cert_needs_pin:
        free.append(EF_AUTH_CERT)
    return free


@pytest.mark.requirement("JPKI-EF-01")
def test_every_ef_can_be_selected(jpki: JpkiClient, profile) -> None:
    for fid in _held(profile, ALL_EFS):
        r = jpki.select_ef(fid)
        assert r.sw == SW.OK and r.data == b"", f"SELECT EF {fid:04X} (00 A4 02 0C) answered {said(r)}"
    r = jpki.select_ef(ABSENT_EF)
    assert r.sw == SW.FILE_NOT_FOUND and not r.data, (
        f"SELECT of EF {ABSENT_EF:04X}, which the AP does not hold, answered {said(r)}, expected 6A82"
    )


@pytest.mark.requirement("JPKI-EF-02")
def test_free_efs_are_read_without_verify(jpki: JpkiClient, profile) -> None:
    before = {}
    for fid in _free_efs(profile):
        content, last = jpki.read_ef(fid)
        assert last.ok and content, (
            f"EF {fid:04X} is free (jpki-applet.md) but READ BINARY answered {said(last)}"
        )
        before[fid] = content
    for pair in claimed_pairs(profile):
        assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    for fid, content in before.items():
        again, last = jpki.read_ef(fid)
        assert last.ok and again == content, f"EF {fid:04X} reads differently before and after VERIFY"


#: READ BINARY by short EF identifier (P1 = 80 + SFI, ISO/IEC 7816-4 READ BINARY) of a protected EF: 6982
#: where the implementation supports short EF identifiers, 6A86 (incorrect P1) or 6A82 (no EF with that
#: identifier) where it does not. jpki-applet.md names only the 15-bit offset form, so all three stand; the
#: point is that the other addressing gives no data.
SFI_REFUSALS = (SW.SECURITY_STATUS_NOT_SATISFIED, SW.INCORRECT_P1P2, SW.FILE_NOT_FOUND)


def _protected_read(jpki: JpkiClient, profile, fid: int, guard, other) -> None:
    """``fid`` reads only after VERIFY of ``guard``'s PIN, not after ``other``'s (None: no other pair)."""
    r = jpki.select_ef(fid)
    assert r.ok, f"SELECT EF {fid:04X} answered {said(r)}"
    for offset in (0, 4, 0x100):  # the access rule holds at every offset, not only at the header
        r = jpki.read(offset, 4)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
            f"EF {fid:04X} read at offset {offset:04X} without the {guard.name} PIN answered {said(r)}, "
            "expected 6982 and no data"
        )
    r = jpki.send(0x00, 0xB0, 0x80 | fid, 0x00, ne=4)  # the same EF by its short EF identifier
    assert r.sw in SFI_REFUSALS and not r.data, (
        f"EF {fid:04X} read by short EF identifier (P1={0x80 | fid:02X}) without the {guard.name} PIN "
        f"answered {said(r)}, expected 6982 (or 6A86 / 6A82 without short EF identifiers) and no data"
    )
    if other is not None:
        assert jpki.verify(other.pin_ef, pin(profile, other)).ok, f"VERIFY of the {other.name} PIN failed"
        r = jpki.select_ef(fid)
        r = jpki.read(0, 4)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
            f"EF {fid:04X} read after VERIFY of the {other.name} PIN only answered {said(r)}, expected 6982"
        )
    assert jpki.verify(guard.pin_ef, pin(profile, guard)).ok, f"VERIFY of the {guard.name} PIN failed"
    der, last = jpki.read_der(fid)
    assert last.ok and der[:1] == b"\x30", f"EF {fid:04X} after VERIFY of the {guard.name} PIN: {said(last)}"


@pytest.mark.requirement("JPKI-EF-03")
@SIGN_FUNCTION
def test_sign_certificate_needs_the_sign_password(jpki: JpkiClient, profile) -> None:
    _protected_read(jpki, profile, EF_SIGN_CERT, SIGN, AUTH)


@pytest.mark.requirement("JPKI-EF-04")
def test_auth_certificate_needs_the_auth_pin(jpki: JpkiClient, profile) -> None:
    _protected_read(jpki, profile, EF_AUTH_CERT, AUTH, SIGN if profile.ics.jpki.sign_function else None)


@pytest.mark.requirement("JPKI-EF-05")
def test_read_binary_takes_a_15_bit_offset(jpki: JpkiClient) -> None:
    assert jpki.select_ef(EF_AUTH_CA).ok, "SELECT of EF 000B failed"
    for length in (4, 0x10, 0xFF, 0x100):  # Le is the number of bytes asked for (00 asks for 256)
        r = jpki.read(0, length)
        assert r.ok and len(r.data) == length, (
            f"READ BINARY of {length} bytes at offset 0000 of EF 000B answered {said(r)}: Le not honoured"
        )
    der, last = jpki.read_der(EF_AUTH_CA)  # free everywhere (file map), and longer than 256 bytes
    assert last.ok, f"reading EF 000B answered {said(last)}"
    assert len(der) > 0x200, f"EF 000B holds {len(der)} bytes; a certificate is expected to exceed 512"
    for offset, length in ((0x100, 0x10), (0x101, 0x20), (0x1FF, 1), (len(der) - 7, 7), (0x0FF, 0x100)):
        r = jpki.read(offset, length)
        assert r.ok and r.data == der[offset : offset + length], (
            f"READ BINARY at offset {offset:04X} (P1={offset >> 8:02X} P2={offset & 0xFF:02X}) answered "
            f"{said(r)}, expected the EF bytes at that offset"
        )


@pytest.mark.requirement("JPKI-EF-06")
def test_read_at_or_past_the_end_answers_6b00(jpki: JpkiClient) -> None:
    for fid in (EF_TOKEN_INFO, EF_AUTH_CA):
        content, last = jpki.read_ef(fid)
        assert last.ok and content, f"reading EF {fid:04X} answered {said(last)}"
        for offset in (len(content), len(content) + 0x100, 0x7FFF):
            r = jpki.read(offset, 1)
            assert r.sw == SW.WRONG_P1P2 and not r.data, (
                f"READ BINARY of EF {fid:04X} ({len(content)} bytes) at offset {offset:04X} answered "
                f"{said(r)}, expected 6B00"
            )


@pytest.mark.requirement("JPKI-EF-07")
def test_certificate_efs_start_with_a_30_82_header(jpki: JpkiClient, profile) -> None:
    for pair in claimed_pairs(profile):
        assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    for fid in _held(profile, CERT_EFS):
        assert jpki.select_ef(fid).ok
        head = jpki.read(0, 4)
        assert head.ok and len(head.data) == 4, (
            f"READ BINARY of 4 bytes of EF {fid:04X} answered {said(head)}"
        )
        assert head.data[:2] == b"\x30\x82", f"EF {fid:04X} starts {head.data.hex()}, not 30 82 LL LL"
        der, last = jpki.read_der(fid)
        announced = ((head.data[2] << 8) | head.data[3]) + 4
        assert last.ok and len(der) == announced, (
            f"EF {fid:04X} announces {announced} bytes but {len(der)} could be read ({said(last)})"
        )


@pytest.mark.requirement("JPKI-TOK-01")
def test_token_label_is_the_claimed_one(jpki: JpkiClient, profile) -> None:
    claimed = profile.ics.jpki.token_label
    expected = LABELS_BY_PERSONALITY.get(profile.ics.personality)
    if expected is not None:
        assert claimed == expected, (
            f"the profile claims personality {profile.ics.personality} with label {claimed!r}; "
            f"docs/spec/jpki-applet.md#token-information-ef-0006 gives {expected!r}"
        )
    label, last = jpki.token_label()
    assert last.ok, f"reading {LABEL_LENGTH} bytes of EF 0006 answered {said(last)}"
    # Clients read exactly 32 bytes and strip trailing spaces and NULs (token information, EF 0006)
    assert len(last.data) == LABEL_LENGTH, (
        f"00 B0 00 00 20 of EF 0006 returned {len(last.data)} bytes, not the {LABEL_LENGTH}-byte label field"
    )
    text = last.data.rstrip(b" \x00")
    assert label == claimed, f"EF 0006 label is {label!r}, the profile claims {claimed!r}"
    assert text == claimed.encode("ascii"), f"EF 0006 label field is {last.data.hex().upper()}"


@pytest.mark.requirement("JPKI-EF-08")
def test_certificate_presence_ef_tells_the_truth(jpki: JpkiClient, profile) -> None:
    content, last = jpki.read_ef(EF_CERT_STATUS)  # free: read before any VERIFY (file map)
    assert last.ok and len(content) == 3, (
        f"EF 0008 holds {content.hex().upper()} ({len(content)} bytes, {said(last)}); 3 bytes expected"
    )
    for pair in claimed_pairs(profile):
        assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
    for index, pair in enumerate((SIGN, AUTH)):  # byte 0: the signature certificate, byte 1: the auth one
        der, last = jpki.read_der(pair.cert_ef)
        present = last.ok and der[:2] == b"\x30\x82"
        expected = 0x8F if present else 0x00
        assert content[index] == expected, (
            f"EF 0008 byte {index} is {content[index]:02X}, but EF {pair.cert_ef:04X} "
            f"{'holds' if present else 'holds no'} certificate: expected {expected:02X}"
        )
