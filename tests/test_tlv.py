"""BER-TLV (ISO 7816-4 §6.3) round trips and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jpkikit.errors import TlvError
from jpkikit.vocab.iso7816.tlv import Tlv, decode, decode_one, encode, length_bytes, tag_bytes

single_tags = st.integers(0x01, 0xFE).filter(lambda t: t & 0x1F != 0x1F)
two_byte_tags = (
    st.integers(0x1F, 0xFF)
    .filter(lambda t: t & 0x1F == 0x1F)
    .flatmap(lambda first: st.integers(0x1F, 0x7F).map(lambda second: (first << 8) | second))
)
tags = single_tags | two_byte_tags


@st.composite
def tlvs(draw: st.DrawFn, depth: int = 2) -> Tlv:
    tag = draw(tags)
    if depth and tag.to_bytes((tag.bit_length() + 7) // 8, "big")[0] & 0x20 and draw(st.booleans()):
        return Tlv.build(tag, draw(st.lists(tlvs(depth - 1), max_size=3)))
    return Tlv(tag, draw(st.binary(max_size=300)))


@given(st.lists(tlvs(), max_size=4))
def test_round_trip(items: list[Tlv]) -> None:
    raw = encode(items)
    assert decode(raw) == items
    for item in items:
        if item.constructed and item.value:
            try:
                children = item.children()
            except TlvError:
                continue
            assert encode(children) == item.value


@given(st.binary(max_size=200))
def test_decode_never_raises_anything_but_tlv_error(raw: bytes) -> None:
    try:
        items = decode(raw)
    except TlvError as exc:
        assert "offset" in str(exc)
    else:  # lengths may have been coded non-minimally, so compare after a second round
        assert decode(encode(items)) == items
        assert sum(len(i.value) for i in items) <= len(raw)


def test_known_encodings() -> None:
    assert Tlv(0x5F51, b"\x3b").encode() == bytes.fromhex("5F51013B")
    assert Tlv(0x9F7F, bytes(42)).encode()[:3] == bytes.fromhex("9F7F2A")
    assert length_bytes(0x80) == b"\x81\x80" and length_bytes(0x1234) == b"\x82\x12\x34"
    outer = Tlv.build(0xE0, [Tlv(0xC0, bytes.fromhex("013088"))])
    assert outer.encode() == bytes.fromhex("E005C003013088")
    assert outer.find(0xC0) == Tlv(0xC0, bytes.fromhex("013088"))
    assert decode_one(bytes.fromhex("8101AAFF"), 0) == (Tlv(0x81, b"\xaa"), 3)


@pytest.mark.parametrize(
    ("hex_", "needle"),
    [
        ("5F", "cut short"),
        ("8180", "indefinite|length field"),
        ("8185000000000000", "at most 4"),
        ("810301", "announces 3 value bytes"),
        ("1F00", "leading zero"),
        ("9F", "cut short"),
        ("8182", "needs 2 bytes"),
    ],
)
def test_malformed(hex_: str, needle: str) -> None:
    with pytest.raises(TlvError, match=needle):
        decode(bytes.fromhex(hex_))


def test_bad_tags_rejected() -> None:
    with pytest.raises(TlvError):
        tag_bytes(0x1F)
    with pytest.raises(TlvError):
        Tlv(0, b"")
    with pytest.raises(TlvError, match="primitive"):
        Tlv(0x80, b"").children()
