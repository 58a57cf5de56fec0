"""GetResponseLayer: 61xx / 6Cxx handling (ISO 7816-3 §12.2, 7816-4 GET RESPONSE) against a scripted link."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jpkikit.errors import MalformedResponse
from jpkikit.host.card_session import GetResponseLayer, get_response_cla, with_short_le
from jpkikit.host.link import Transport

H = bytes.fromhex


class ScriptedLink(Transport):
    """Answers each command with the next scripted response and records what was sent."""

    description = "scripted"

    def __init__(self, *responses: str) -> None:
        self.responses = [H(r) for r in responses]
        self.sent: list[bytes] = []
        self.resets: list[bool] = []
        self.closed = False

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(command)
        if not self.responses:
            raise AssertionError(f"unexpected command {command.hex()}")
        return self.responses.pop(0)

    def reset(self, cold: bool = False) -> bytes:
        self.resets.append(cold)
        return H("3B00")

    @property
    def atr(self) -> bytes:
        return H("3B00")

    def close(self) -> None:
        self.closed = True


def test_plain_response_passes_through() -> None:
    link = ScriptedLink("01029000")
    assert GetResponseLayer(link).transmit(H("00B0000002")) == H("01029000")
    assert link.sent == [H("00B0000002")]


def test_61xx_chain_is_collected() -> None:
    link = ScriptedLink("6104", "AABBCCDD6102", "EEFF9000")
    layer = GetResponseLayer(link)
    assert layer.transmit(H("00A4040007A000000001010100")) == H("AABBCCDDEEFF9000")
    assert link.sent[1:] == [H("00C0000004"), H("00C0000002")]


def test_61xx_keeps_data_of_the_first_response_and_final_error_sw() -> None:
    link = ScriptedLink("11226102", "33446F00")
    assert GetResponseLayer(link).transmit(H("00CA010000")) == H("112233446F00")


def test_6100_asks_for_256_bytes() -> None:
    link = ScriptedLink("6100", "00" * 256 + "9000")
    assert GetResponseLayer(link).transmit(H("80CA9F7F00")) == bytes(256) + H("9000")
    assert link.sent[1] == H("00C0000000")


@pytest.mark.parametrize(
    ("cla", "expected"),
    [
        (0x00, 0x00),
        (0x03, 0x03),  # channel 3
        (0x0C, 0x00),  # SM bits dropped
        (0x13, 0x03),  # command chaining dropped, channel kept
        (0x80, 0x00),  # GP proprietary, channel 0
        (0x84, 0x00),  # GP SCP03, channel 0
        (0x87, 0x03),  # GP SCP03, channel 3
        (0x41, 0x41),  # further interindustry: channel 5
        (0x6F, 0x4F),  # channel 19 with SM and chaining
        (0xC2, 0x42),  # GP further, channel 6
        (0xE5, 0x45),  # GP further with SM, channel 9
    ],
)
def test_get_response_cla_keeps_the_channel(cla: int, expected: int) -> None:
    assert get_response_cla(cla) == expected
    link = ScriptedLink("6101", "AA9000")
    GetResponseLayer(link).transmit(bytes([cla]) + H("CA000000"))
    assert link.sent[1] == bytes([expected]) + H("C0000001")


def test_6cxx_case2_replaces_le() -> None:
    link = ScriptedLink("6C08", "01020304050607089000")
    assert GetResponseLayer(link).transmit(H("00B0000000")) == H("01020304050607089000")
    assert link.sent == [H("00B0000000"), H("00B0000008")]


def test_6cxx_case4_replaces_trailing_le() -> None:
    link = ScriptedLink("6C10", "00" * 16 + "9000")
    layer = GetResponseLayer(link)
    assert layer.transmit(H("0088000004DEADBEEF00")) == bytes(16) + H("9000")
    assert link.sent[1] == H("0088000004DEADBEEF10")


@pytest.mark.parametrize(
    ("command", "retry"),
    [("00B00000", "00B0000004"), ("00D6000002AABB", "00D6000002AABB04")],  # case 1 / case 3: append
)
def test_6cxx_case1_and_case3_append_le(command: str, retry: str) -> None:
    link = ScriptedLink("6C04", "112233449000")
    assert GetResponseLayer(link).transmit(H(command)) == H("112233449000")
    assert link.sent[1] == H(retry)


def test_6c00_means_256() -> None:
    assert with_short_le(H("00B0000010"), 0) == H("00B0000000")


def test_6cxx_then_61xx() -> None:
    link = ScriptedLink("6C05", "6105", "01020304059000")
    assert GetResponseLayer(link).transmit(H("00CB3FFF00")) == H("01020304059000")
    assert link.sent == [H("00CB3FFF00"), H("00CB3FFF05"), H("00C0000005")]


def test_get_response_answered_6cxx_is_reissued() -> None:
    link = ScriptedLink("6100", "6C03", "AABBCC9000")
    assert GetResponseLayer(link).transmit(H("00CA000000")) == H("AABBCC9000")
    assert link.sent[1:] == [H("00C0000000"), H("00C0000003")]


def test_extended_command_6cxx_is_passed_up() -> None:
    link = ScriptedLink("6C10")
    command = H("00B000000000100000")  # not short: no short Le to fix
    assert GetResponseLayer(link).transmit(command) == H("6C10")
    assert link.sent == [command]


def test_repeated_6cxx_raises() -> None:
    link = ScriptedLink("6C08", "6C08")
    with pytest.raises(MalformedResponse, match="6C08 again"):
        GetResponseLayer(link).transmit(H("00B0000000"))
    assert len(link.sent) == 2


def test_endless_61xx_is_bounded() -> None:
    link = ScriptedLink(*(["6101"] + ["AA6101"] * 10))
    with pytest.raises(MalformedResponse, match="after 8 GET RESPONSE"):
        GetResponseLayer(link, max_get_response=8).transmit(H("00CA000000"))
    assert len(link.sent) == 9


def test_default_bound_is_64() -> None:
    link = ScriptedLink(*(["6100"] * 70))
    with pytest.raises(MalformedResponse, match="64 GET RESPONSE"):
        GetResponseLayer(link).transmit(H("00CA000000"))
    assert len(link.sent) == 65


def test_short_response_raises() -> None:
    with pytest.raises(MalformedResponse, match="too short"):
        GetResponseLayer(ScriptedLink("90")).transmit(H("00A40000"))


def test_reset_atr_close_pass_through() -> None:
    link = ScriptedLink()
    layer = GetResponseLayer(link)
    assert layer.reset(cold=True) == H("3B00")
    assert layer.atr == H("3B00")
    layer.close()
    assert link.resets == [True]
    assert link.closed


@given(
    data=st.binary(max_size=3000),
    chunks=st.lists(st.integers(min_value=1, max_value=256), min_size=1, max_size=40),
    final=st.sampled_from(["9000", "6282", "6A82"]),
)
def test_any_61xx_chunking_reassembles(data: bytes, chunks: list[int], final: str) -> None:
    """However the card splits its answer into GET RESPONSE chunks, the layer returns it whole."""
    pieces, rest = [], data
    for size in chunks:
        if not rest:
            break
        pieces.append(rest[:size])
        rest = rest[size:]
    if rest:
        pieces.append(rest)
    pieces = pieces or [b""]
    responses = [f"61{len(pieces[0]) & 0xFF:02X}"]  # first answer: no data, 61xx announcing piece 0
    for i, piece in enumerate(pieces):
        sw = f"61{len(pieces[i + 1]) & 0xFF:02X}" if i + 1 < len(pieces) else final
        responses.append(piece.hex() + sw)
    link = ScriptedLink(*responses)
    assert GetResponseLayer(link, max_get_response=len(pieces)).transmit(H("00CA000000")) == data + H(final)
    assert [c[4] for c in link.sent[1:]] == [len(p) & 0xFF for p in pieces]
