"""Status words for bad commands (ISO/IEC 7816-4 §5.6; docs/spec/jpki-applet.md#status-words), and recovery
after them."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.sw import SW

EF_TOKEN_INFO = b"\x00\x06"  # token information EF (docs/spec/jpki-applet.md#file-map-and-access-rules)
UNUSED_INS = 0xEE  # not assigned in ISO/IEC 7816-4 Table 4, GPCS Table 11-10 or the JPKI command set


@pytest.mark.requirement("ISO-ERR-01")
def test_unknown_instruction(card, profile) -> None:
    assert card.select(profile.ixit.aids.jpki).ok
    r = card.send(0x00, UNUSED_INS, 0x00, 0x00)
    assert r.sw == SW.INS_NOT_SUPPORTED, f"INS {UNUSED_INS:02X} answered {r}"


# CLA 20-3F is reserved for future use (ISO 7816-4 §5.4.1). CLA FF is invalid too, but PC/SC readers take
# FF for their own pseudo-APDUs (PC/SC part 3 §3.2.2.1), so it would not reach the card.
RFU_CLA = 0x20


@pytest.mark.requirement("ISO-ERR-02")
def test_invalid_class(card, profile) -> None:
    assert card.select(profile.ixit.aids.jpki).ok
    r = card.transmit(
        bytes((RFU_CLA, 0xA4, 0x04, 0x0C)) + bytes((len(profile.ixit.aids.jpki),)) + profile.ixit.aids.jpki
    )
    assert r.sw == SW.CLA_NOT_SUPPORTED, f"CLA {RFU_CLA:02X} answered {r}"


@pytest.mark.requirement("ISO-ERR-03")
def test_lc_longer_than_the_data(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    r = card.transmit(bytes((0x00, 0xA4, 0x04, 0x0C, len(aid) + 1)) + aid)
    assert r.sw == SW.WRONG_LENGTH, f"Lc={len(aid) + 1} with {len(aid)} data bytes answered {r}"
    assert card.select(aid).ok
    assert card.send(0x00, 0xA4, 0x02, 0x0C, EF_TOKEN_INFO).ok
    r = card.send(0x00, 0xB0, 0x00, 0x00, b"\x00", ne=32)  # READ BINARY takes no command data
    assert r.sw == SW.WRONG_LENGTH, f"READ BINARY with a data field answered {r}"


@pytest.mark.requirement("ISO-ERR-04")
def test_malformed_apdu_then_recovery(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    # 2 bytes after the header starting 00: neither short nor extended length (ISO 7816-4 §5.1)
    r = card.transmit(bytes((0x00, 0xA4, 0x04, 0x0C, 0x00, 0x00)))
    assert 0x64 <= r.sw1 <= 0x6F, f"a malformed APDU got {r}, not an error status word (§5.6)"
    assert card.select(aid).sw == SW.OK, "the card stopped working after a malformed APDU"
