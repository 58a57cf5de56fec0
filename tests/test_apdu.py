"""APDU encode/decode: ISO 7816-4 §5.1 cases 1-4, short and extended, and malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jpkikit.errors import ApduError, KitError
from jpkikit.vocab.iso7816.apdu import (
    CommandApdu,
    ResponseApdu,
    cla_channel,
    cla_secure_messaging,
    cla_with_channel,
)
from jpkikit.vocab.iso7816.sw import SW, describe, retries_left

byte = st.integers(0, 255)


@st.composite
def commands(draw: st.DrawFn) -> CommandApdu:
    extended = draw(st.booleans())
    data = draw(st.binary(max_size=300 if extended else 255))
    ne = draw(st.none() | st.integers(1, 65536 if extended else 256))
    return CommandApdu(draw(byte), draw(byte), draw(byte), draw(byte), data, ne, extended or None)


@given(commands())
def test_command_round_trip(apdu: CommandApdu) -> None:
    raw = apdu.to_bytes()
    back = CommandApdu.parse(raw)
    assert back == apdu
    assert back.is_extended == apdu.is_extended
    assert back.to_bytes() == raw


@given(st.binary(max_size=600))
def test_parse_never_raises_anything_but_apdu_error(raw: bytes) -> None:
    try:
        apdu = CommandApdu.parse(raw)
    except ApduError as exc:
        assert str(exc)
    else:
        assert apdu.to_bytes() == raw


@given(st.binary(min_size=4, max_size=600))
def test_parse_builds_what_the_checked_constructor_builds(raw: bytes) -> None:
    """parse() skips the constructor's validation (issue 16: speed); what it builds must be the same."""
    try:
        apdu = CommandApdu.parse(raw)
    except ApduError:
        return
    checked = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.ne, apdu.extended)
    assert vars(apdu) == vars(checked)
    assert type(apdu.data) is bytes
    assert hash(apdu) == hash(checked)
    assert apdu.is_extended == bool(apdu.extended)  # the emulator's runtime reads the field directly


@pytest.mark.parametrize(
    ("hex_", "case", "nc", "ne", "extended"),
    [
        ("00A40000", 1, 0, None, False),
        ("00B0000000", 2, 0, 256, False),
        ("00B0000010", 2, 0, 16, False),
        ("00A4040C0AD392F000260100000001", 3, 10, None, False),
        ("802A00800301020300", 4, 3, 256, False),
        ("00B00000000000", 2, 0, 65536, True),
        ("00B00000000100", 2, 0, 256, True),
        ("00DA0000000003AABBCC", 3, 3, None, True),
        ("002A9E9A000003AABBCC0000", 4, 3, 65536, True),
    ],
)
def test_cases_per_iso7816_table(hex_: str, case: int, nc: int, ne: int | None, extended: bool) -> None:
    apdu = CommandApdu.parse(bytes.fromhex(hex_))
    assert (apdu.case, len(apdu.data), apdu.ne, apdu.is_extended) == (case, nc, ne, extended)


@pytest.mark.parametrize(
    ("hex_", "needle"),
    [
        ("00A404", "3 bytes"),
        ("00A4040C05D392F0", "Lc=5"),
        ("00A4040C02D392F000AA", "Lc=2"),
        ("00B000000000", "neither short nor extended"),
        ("00DA0000000000AA", "extended Lc is 0000"),
        ("00DA0000000003AABB", "extended Lc=3"),
    ],
)
def test_malformed_commands_name_the_problem(hex_: str, needle: str) -> None:
    with pytest.raises(ApduError, match=needle):
        CommandApdu.parse(bytes.fromhex(hex_))


def test_bad_fields_are_kit_errors() -> None:
    with pytest.raises(KitError, match="CLA"):
        CommandApdu(256, 0, 0, 0)
    with pytest.raises(ApduError, match="Ne must be"):
        CommandApdu(0, 0xB0, 0, 0, ne=0)
    with pytest.raises(ApduError, match="short length forced"):
        CommandApdu(0, 0xB0, 0, 0, ne=257, extended=False)
    with pytest.raises(ApduError, match="at most 65535"):
        CommandApdu(0, 0xD6, 0, 0, bytes(65536))


def test_response_parse() -> None:
    r = ResponseApdu.parse(bytes.fromhex("01029000"))
    assert (r.data, r.sw, r.ok, r.sw1, r.sw2) == (b"\x01\x02", 0x9000, True, 0x90, 0x00)
    with pytest.raises(ApduError, match="at least SW1 SW2"):
        ResponseApdu.parse(b"\x90")


@pytest.mark.parametrize(
    ("cla", "channel"),
    [
        (0x00, 0),
        (0x03, 3),
        (0x80, 0),
        (0x84, 0),
        (0x40, 4),
        (0x4F, 19),
        (0xC1, 5),
        (0x20, None),
        (0xFF, None),
    ],
)
def test_cla_channel_coding(cla: int, channel: int | None) -> None:
    assert cla_channel(cla) == channel


@given(st.sampled_from([0x00, 0x80, 0x10, 0x90]), st.integers(0, 19))
def test_cla_with_channel_round_trip(base: int, channel: int) -> None:
    cla = cla_with_channel(base, channel)
    assert cla_channel(cla) == channel
    assert cla & 0x80 == base & 0x80
    assert cla & 0x10 == base & 0x10  # chaining bit kept
    assert not cla_secure_messaging(cla)


def test_secure_messaging_indication() -> None:
    assert cla_secure_messaging(0x84) and cla_secure_messaging(0x0C) and cla_secure_messaging(0x60)
    assert not cla_secure_messaging(0x00) and not cla_secure_messaging(0x40)


def test_status_word_meanings() -> None:
    assert describe(SW.OK) == "normal processing"
    assert describe(0x6110) == "16 response bytes still available"
    assert describe(0x6C00) == "wrong Le; exact length is 256"
    assert describe(0x63C2) == "verification failed, 2 tries left"
    assert "IEF locked" in describe(SW.REFERENCE_DATA_NOT_USABLE)
    assert retries_left(0x63C1) == 1 and retries_left(0x6300) is None and retries_left(0x9000) is None
    for sw in SW:
        assert describe(sw) != "unknown status word", sw
