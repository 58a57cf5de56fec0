"""Channel.transmit as Android does it: what it refuses, what it sends (the channel number in the CLA), and
what
it does with 61xx and 6Cxx (javadoc Channel.transmit; AOSP Channel.java, CommandApduValidator.java,
Terminal.java; CTS OmapiTest testSecurityExceptionInTransmit, testTransmitApdu, testStatusWordTransmit,
testSegmentedResponseTransmit). The CTS applet's commands are in jpkikit/vocab/omapi/test_applets.py."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi import test_applets as t
from jpkikit.vocab.omapi.android import channel_cla

from .support import HandsetUnderTest, raises


def _cts_channel(handset: HandsetUnderTest):  # type: ignore[no-untyped-def]
    channel = handset.session(handset.allowed).open_logical_channel(t.CTS_SELECTABLE)
    assert channel is not None, "openLogicalChannel(CTS applet) returned null"
    return channel


@pytest.mark.requirement("HS-TX-01")
def test_select_and_manage_channel_refused_in_transmit(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest ILLEGAL_COMMANDS_TRANSMIT, with the CLA variations AOSP counts as ISO (b8 = 0, not 001x).
    channel = handset.open(handset.allowed)
    assert channel is not None
    select = "00A40404" + "10" + t.CTS_SELECTABLE.hex()
    for command in ("00700000", "00708000", "0070000001", select, "01A404000A" + handset.jpki.hex(),
                    "41A404000A" + handset.jpki.hex(), "0C700000"):  # fmt: skip
        with raises(omapi.SecurityError, f"transmit({command[:10]}..)"):
            channel.transmit(bytes.fromhex(command))


@pytest.mark.requirement("HS-TX-02")
def test_malformed_commands_are_illegal_arguments(handset: HandsetUnderTest) -> None:
    # AOSP CommandApduValidator: fewer than 4 bytes, CLA FF, INS 6x and 9x.
    channel = handset.open(handset.allowed)
    assert channel is not None
    cases = ["", "00", "00A402", "FFB0000020", "0060000000", "006F0000", "0090000000", "009F0000"]
    for command in cases:
        with raises(omapi.IllegalArgumentError, f"transmit({command or 'empty'})"):
            channel.transmit(bytes.fromhex(command))


@pytest.mark.requirement("HS-TX-03")
def test_inconsistent_lengths_are_illegal_arguments(handset: HandsetUnderTest) -> None:
    # AOSP CommandApduValidator: Lc inconsistent with the length (short and extended), extended Lc 0000.
    channel = handset.open(handset.allowed)
    assert channel is not None
    cases = ["00B0000002AA", "00D6000003AABB", "00D6000001AABBCC", "00D600000000", "00D600000000020A",
             "00D600000000020A0B0C", "00D60000000000AABB"]  # fmt: skip
    for command in cases:
        with raises(omapi.IllegalArgumentError, f"transmit({command})"):
            channel.transmit(bytes.fromhex(command))


@pytest.mark.requirement("HS-TX-NULL")
def test_transmit_null(handset: HandsetUnderTest) -> None:
    # javadoc Channel.transmit: NullPointerException if command is NULL.
    channel = handset.open(handset.allowed)
    assert channel is not None
    with raises(omapi.NullPointerError, "transmit(null)"):
        channel.transmit(None)


@pytest.mark.requirement("HS-TX-CASES")
def test_transmit_cases(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testTransmitApdu (NO_DATA_APDU and DATA_APDU) with CLA 00, 80 and 94. CLA A0 of CTS is
    # left out: ISO/IEC 7816-4 reserves 20-3F, and an SE may refuse A0-BF.
    channel = _cts_channel(handset)
    for cla in (0x00, 0x80, 0x94):
        for command in (bytes((cla, 0x06, 0, 0)), bytes((cla, 0x0A, 0, 0, 1, 0xAA))):
            response = channel.transmit(command)
            assert response == b"\x90\x00", f"{command.hex().upper()} answered {response.hex().upper()}"
        for command in (bytes((cla, 0x08, 0, 0, 0)), bytes((cla, 0x0C, 0, 0, 1, 0xAA, 0))):
            response = channel.transmit(command)
            assert len(response) == 258 and response[-2:] == b"\x90\x00", (
                f"{command.hex().upper()} answered {len(response)} bytes, 256 data bytes and 9000 expected"
            )


@pytest.mark.requirement("HS-TX-SW")
def test_status_words_reach_the_app(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testStatusWordTransmit: the warning and its data unchanged, the command unmodified.
    channel = _cts_channel(handset)
    for index, sw in enumerate(t.SW_62XX, start=1):
        bare = channel.transmit(bytes((0x00, t.INS_SW_62XX, index, 0x06)))
        assert bare == sw.to_bytes(2, "big"), (
            f"warning {sw:04X} without data reached the app as {bare.hex().upper()}"
        )
        data = channel.transmit(bytes((0x00, t.INS_SW_62XX, index, 0x08, 0x00)))
        assert len(data) >= 5 and data[-2:] == sw.to_bytes(2, "big"), (
            f"warning {sw:04X} with data reached the app as {data.hex().upper()}"
        )
        command = bytes((0x00, t.INS_SW_62XX, index, 0x0C, 0x01, 0xAA, 0x00))
        echo = channel.transmit(command)
        assert echo[1 : len(command)] == command[1:] and echo[-2:] == sw.to_bytes(2, "big"), (
            f"the SE received {echo[:-2].hex().upper()} for {command.hex().upper()} (warning {sw:04X})"
        )


@pytest.mark.requirement("HS-TX-61")
def test_segmented_responses(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testSegmentedResponseTransmit: 61xx chains of 2048 bytes and of 7FFF bytes (128 GET
    # RESPONSE), under CLA 00 and 94.
    channel = _cts_channel(handset)
    commands = ["00C2080000", "00C4080002123400", "00C6080000", "00C8080002123400", "00C27FFF00",
                "94C2080000"]  # fmt: skip
    for command in commands:
        raw = bytes.fromhex(command)
        expected = raw[2] << 8 | raw[3]
        response = channel.transmit(raw)
        assert len(response) == expected + 2 and response[-2:] == b"\x90\x00" and response[-3] == 0xFF, (
            f"{command} returned {len(response) - 2} data bytes with SW {response[-2:].hex().upper()}, "
            f"{expected} bytes and 9000 expected"
        )


@pytest.mark.requirement("HS-TX-6C")
def test_6cxx(handset: HandsetUnderTest) -> None:
    # AOSP Terminal.transmit: 6Cxx -> the command again with Le = xx; from API 30 a 61xx that answers it is
    # collected (CTS OmapiTest: 6CFF+61XX gives 2048 bytes); until API 29 the 61xx reaches the app.
    channel = _cts_channel(handset)
    response = channel.transmit(bytes.fromhex("00CF080000"))
    if handset.android.resend_after_6c_collects_61:
        assert len(response) == 2050 and response[-2:] == b"\x90\x00", (
            f"6CFF then 61xx gave {len(response) - 2} bytes and {response[-2:].hex().upper()}: 2048 and "
            f"9000 expected"
        )
    else:
        assert len(response) == 0xFF + 2 and response[-2] == 0x61, (
            f"on API {handset.android.api} 6CFF then 61xx gave {len(response) - 2} bytes and "
            f"{response[-2:].hex().upper()}: 255 bytes and 61xx expected"
        )


@pytest.mark.requirement("HS-TX-CLA")
def test_channel_number_in_cla(handset: HandsetUnderTest) -> None:
    # AOSP Channel.setChannelToClassByte (GPCS v2.3.1 §11.1.4): whatever channel bits the app sends, the SE
    # gets the channel's number; channels 4-19 in the further interindustry coding. The kit's echo applet
    # returns the CLA it received.
    session = handset.session(handset.allowed)
    channels = [session.open_logical_channel(t.KIT_ECHO_CLA) for _ in range(handset.n - 1)]
    assert all(c is not None for c in channels), f"could not open {handset.n - 1} channels to the echo applet"
    numbers: list[int] = []
    for channel in channels:
        assert channel is not None
        seen: set[int] = set()
        for cla in (0x00, 0x03, 0x0C, 0x80, 0x84, 0x4C):
            echo = channel.transmit(bytes((cla, t.INS_ECHO_CLA, 0x00, 0x00, 0x00)))
            assert len(echo) == 4 and echo[-2:] == b"\x90\x00", (
                f"the echo applet answered app CLA {cla:02X} with {echo.hex().upper()}"
            )
            number = echo[1]
            seen.add(number)
            expected = channel_cla(cla, number, handset.android.api)
            assert echo[0] == expected, (
                f"app CLA {cla:02X} on channel {number} reached the SE as {echo[0]:02X}, "
                f"Android API {handset.android.api} sends {expected:02X}"
            )
        assert len(seen) == 1, (
            f"one OMAPI channel reached SE channels {sorted(seen)} depending on the app's CLA"
        )
        numbers += seen
    assert len(set(numbers)) == len(numbers), f"two OMAPI channels share SE channels: {numbers}"
