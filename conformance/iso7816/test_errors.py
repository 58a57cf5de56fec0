"""Status words for bad commands (ISO/IEC 7816-4 §5.6; docs/spec/jpki-applet.md#status-words), and that a
refused command changes nothing: the EF current before it reads the same bytes afterwards."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.apdu import ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import SELECT_TOKEN_INFO

from ..jpki.support import said

#: Not assigned in ISO/IEC 7816-4 Table 4, GPCS Table 11-10 or the JPKI command set (02 is the statement's
#: example; EE is far from every assigned value).
UNUSED_INS = (0x02, 0xEE)


def _current_label(card, profile) -> bytes:
    """Select the JPKI application and its EF 0006; the 32 label bytes READ BINARY returns."""
    assert card.select(profile.ixit.aids.jpki).ok, "SELECT of the JPKI application failed"
    assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok, "SELECT of EF 0006 failed"
    label = card.read_binary(0, 32)
    assert label.ok, f"READ BINARY of EF 0006 answered {said(label)}"
    return label.data


def _unchanged(card, profile, label: bytes, after: str) -> None:
    """A refused command changes nothing (ISO/IEC 7816-4 §5.6: an error leaves the state as it was)."""
    r = card.read_binary(0, 32)
    assert r.ok and r.data == label, (
        f"after {after}, READ BINARY of the current EF answered {said(r)}: state lost"
    )
    assert card.select(profile.ixit.aids.jpki).ok, f"the card stopped working after {after}"


@pytest.mark.requirement("ISO-ERR-01")
def test_unknown_instruction(card, profile) -> None:
    label = _current_label(card, profile)
    for ins in UNUSED_INS:
        r = card.send(0x00, ins, 0x00, 0x00)
        assert r.sw == SW.INS_NOT_SUPPORTED and not r.data, f"INS {ins:02X} answered {said(r)}, expected 6D00"
        _unchanged(card, profile, label, f"INS {ins:02X}")
        assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok


# CLA 20-3F is reserved for future use (ISO 7816-4 §5.4.1). CLA FF is invalid too, but PC/SC readers take
# FF for their own pseudo-APDUs (PC/SC part 3 §3.2.2.1), so it would not reach the card.
RFU_CLA = (0x20, 0x30)


@pytest.mark.requirement("ISO-ERR-02")
def test_invalid_class(card, profile) -> None:
    label = _current_label(card, profile)
    aid = profile.ixit.aids.jpki
    for cla in RFU_CLA:
        r = card.transmit(bytes((cla, 0xA4, 0x04, 0x0C, len(aid))) + aid)
        assert r.sw == SW.CLA_NOT_SUPPORTED and not r.data, f"CLA {cla:02X} answered {said(r)}, expected 6E00"
        assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok
        r = card.transmit(bytes((cla, 0xB0, 0x00, 0x00, 0x20)))
        assert r.sw == SW.CLA_NOT_SUPPORTED and not r.data, (
            f"READ BINARY with CLA {cla:02X} answered {said(r)}, expected 6E00"
        )
        _unchanged(card, profile, label, f"CLA {cla:02X}")
        assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok


@pytest.mark.requirement("ISO-ERR-03")
def test_lc_longer_than_the_data(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    r = card.transmit(bytes((0x00, 0xA4, 0x04, 0x0C, len(aid) + 1)) + aid)
    assert r.sw == SW.WRONG_LENGTH, f"Lc={len(aid) + 1} with {len(aid)} data bytes answered {said(r)}"
    label = _current_label(card, profile)
    r = card.send(0x00, 0xB0, 0x00, 0x00, b"\x00", ne=32)  # READ BINARY takes no command data
    assert r.sw == SW.WRONG_LENGTH and not r.data, f"READ BINARY with a data field answered {said(r)}"
    _unchanged(card, profile, label, "READ BINARY with a data field")


#: Byte strings that are not command APDUs (ISO/IEC 7816-4 §5.1), and what each may be answered with: a
#: length field that cannot be decoded is a wrong length (6700); for fewer than four bytes ISO/IEC 7816-4
#: names no status word, and 6700 (wrong length) and 6F00 (no precise diagnosis) are the two that fit.
MALFORMED: dict[str, tuple[bytes, tuple[int, ...]]] = {
    "extended length field cut short": (bytes.fromhex("00A4040C000A"), (SW.WRONG_LENGTH,)),
    "two bytes, no full header": (bytes.fromhex("00A4"), (SW.WRONG_LENGTH, SW.NO_PRECISE_DIAGNOSIS)),
}


@pytest.mark.requirement("ISO-ERR-04")
@pytest.mark.parametrize("what", list(MALFORMED), ids=["cut-extended", "short-header"])
def test_malformed_apdu_then_recovery(card, profile, what: str) -> None:
    raw, allowed = MALFORMED[what]
    label = _current_label(card, profile)
    r: ResponseApdu = card.transmit(raw)
    expected = " or ".join(f"{sw:04X}" for sw in allowed)
    assert r.sw in allowed and not r.data, f"a malformed APDU ({what}) got {said(r)}, expected {expected}"
    _unchanged(card, profile, label, f"a malformed APDU ({what})")
