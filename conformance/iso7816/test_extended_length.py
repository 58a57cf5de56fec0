"""Extended length (ISO/IEC 7816-4 §5.1), as the profile claims it (ics.iso7816.extended_length)."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.sw import SW

EF_TOKEN_INFO = b"\x00\x06"  # token information EF (docs/spec/jpki-applet.md#file-map-and-access-rules)


@pytest.mark.requirement("ISO-EXT-01")
def test_extended_length_accepted(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    r = card.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid, extended=True))
    assert r.sw == SW.OK, f"case 3E SELECT answered {r}"
    assert card.transmit(CommandApdu(0x00, 0xA4, 0x02, 0x0C, EF_TOKEN_INFO, extended=True)).ok
    short = card.read_binary(0, 256)
    assert short.ok
    ne = min(profile.ics.iso7816.max_response_data, 65536)
    r = card.transmit(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=ne, extended=True))
    assert r.sw in (SW.OK, SW.END_OF_FILE), f"case 2E READ BINARY with Ne={ne} answered {r}"
    assert r.data.startswith(short.data[: len(r.data)]) and len(r.data) >= len(short.data)


@pytest.mark.requirement("ISO-EXT-02")
def test_extended_length_rejected_when_not_claimed(card, profile) -> None:
    aid = profile.ixit.aids.jpki
    r = card.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid, extended=True))
    expected = profile.ics.iso7816.extended_length_reject_sw
    assert r.sw == expected, f"case 3E SELECT answered {r}, the profile says {expected:04X}"
    assert card.select(aid).ok, "the card stopped working after an extended-length APDU"
