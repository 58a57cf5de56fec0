"""The ATR a contactless PC/SC reader builds for an ISO/IEC 14443-4 card (PC/SC Part 3 §3.1.3.2.3;
docs/spec/reader.md#what-pcsc-part-3-asks-of-a-contactless-reader): what middleware such as OpenSC sees of a
JPKI card or phone held to the reader (seed 004 p.3; seed 000 §4(4) 課題⑦)."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.pcsc import part3

from .support import card_of_type


def _historical(atr: bytes) -> bytes:
    hist = part3.historical_of(atr)
    assert hist is not None, (
        f"ATR {atr.hex().upper()} is not the PC/SC Part 3 ATR of a contactless card (3B 8n 80 01 "
        f"<historical> TCK)"
    )
    return hist


@pytest.mark.requirement("RW-ATR-01")
def test_type_a_pseudo_atr(card: CardSession, profile: Profile) -> None:
    known = card_of_type(profile, "A")
    atr = card.reset()
    hist = _historical(atr)
    if known.historical is not None:
        assert hist == known.historical, (
            f"the ATR's historical bytes {hist.hex().upper()} are not the card's ATS historical bytes "
            f"{known.historical.hex().upper()}"
        )
    assert card.reset() == atr, "the reader built another ATR for the same card"


@pytest.mark.requirement("RW-ATR-02")
def test_type_b_pseudo_atr(card: CardSession, profile: Profile) -> None:
    known = card_of_type(profile, "B")
    atr = card.reset()
    hist = _historical(atr)
    assert len(hist) == 8, (
        f"a Type B card's ATR carries 8 historical bytes, this one {len(hist)}: {atr.hex().upper()}"
    )
    if known.application_data is not None:
        assert hist[:4] == known.application_data, (
            f"ATR bytes 1-4 {hist[:4].hex().upper()} are not the ATQB application data"
        )
    if known.protocol_info is not None:
        assert hist[4:7] == known.protocol_info, (
            f"ATR bytes 5-7 {hist[4:7].hex().upper()} are not the ATQB protocol info"
        )
    assert hist[7] == (known.mbli & 0x0F) << 4, (
        f"ATR byte 8 is {hist[7]:02X}: high nibble MBLI {known.mbli}, low nibble 0"
    )
