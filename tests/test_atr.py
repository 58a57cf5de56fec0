"""The ATR structure check (ISO/IEC 7816-3 §8.2) of jpkikit.vocab.iso7816.atr."""

from __future__ import annotations

import re

import pytest

from jpkikit.vocab.iso7816.atr import AtrError, atr_problem, parse_atr
from jpkikit.vocab.pcsc.part3 import type_a_atr


def test_t0_only_atr_has_no_tck_and_a_t1_atr_has_one() -> None:
    plain = parse_atr(bytes.fromhex("3B02 1450".replace(" ", "")))  # T0 = 02: two historical bytes, T=0
    assert plain.protocols == (0,) and plain.historical == b"\x14\x50" and plain.tck is None
    contactless = parse_atr(type_a_atr(b"\x80\x31\x80\x65\xb0"))  # PC/SC Part 3: TD1 80, TD2 01 (T=1)
    assert contactless.protocols == (0, 1) and contactless.historical == bytes.fromhex("80318065B0")
    assert contactless.tck == 0xE0


def test_t15_needs_tck_too() -> None:
    sim = bytes.fromhex("3B9B96801FC74A504B494B49542D53494D61")
    assert parse_atr(sim).protocols == (0, 15) and parse_atr(sim).tck == 0x61
    assert "TCK 60" in (atr_problem(sim[:-1] + b"\x60") or "")


@pytest.mark.parametrize(
    ("atr", "problem"),
    [
        ("3B", "1 bytes: an ATR has at least TS and T0"),
        ("9000", "TS is 90"),
        ("3B8C8001", "T0 announces 12 historical bytes, 0 follow"),
        ("3BF0", "the interface bytes announced run past the end"),
        ("3B021450FF", "1 bytes after the historical bytes, and only T=0 is indicated"),
        ("3B808001", "0 bytes after the historical bytes where TCK (one byte) must end the ATR"),
        ("3B80800100", "TCK 00 does not make the XOR of T0 to TCK zero"),
    ],
)
def test_malformed_atrs_say_what_is_wrong(atr: str, problem: str) -> None:
    with pytest.raises(AtrError, match=re.escape(problem)):
        parse_atr(bytes.fromhex(atr))
