"""Basic and logical channels through OMAPI: selected-state isolation, the basic channel and its default
application, the channel limit (the ACE's own channel included), close semantics, selectNext and the channel's
state (javadoc Session/Channel; AOSP Terminal.java, Channel.java; CTS OmapiTest testOpenBasicChannelNullAid,
testCloseChannels, testGetSession, testSelectNext; ISO/IEC 7816-4 logical channels). N =
ics.handset.logical_channels."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi import test_applets as t

from .support import READ_32, SELECT_EF_TOKEN_INFO, HandsetUnderTest, raises

SELECT_EF_CA_CERT = bytes.fromhex("00A4020C020002")  # EF 0002, free (docs/spec/jpki-applet.md, "File map")


@pytest.mark.requirement("HS-CH-01")
def test_logical_channels_keep_their_selection(handset: HandsetUnderTest) -> None:
    # ISO/IEC 7816-4 logical channels: each channel has its own current EF; javadoc
    # Session.openLogicalChannel: each call opens a new channel. EF 0006 holds the token label, space-padded
    # to 32 bytes; a certificate EF starts with 30 82 (docs/spec/jpki-applet.md, "File map", "Reading a
    # file").
    session = handset.session(handset.allowed)
    one = session.open_logical_channel(handset.jpki, 0x00)
    two = session.open_logical_channel(handset.jpki, 0x00)
    assert one is not None and two is not None, "two logical channels could not be opened"
    selected = one.transmit(SELECT_EF_TOKEN_INFO)
    assert selected == b"\x90\x00", f"SELECT EF 0006 on the first channel answered {selected.hex().upper()}"
    first = one.transmit(READ_32)
    label = handset.profile.ics.jpki.token_label.encode("ascii")
    assert first[-2:] == b"\x90\x00" and len(first) == 34 and first[:-2].rstrip(b" \x00") == label, (
        f"READ BINARY of EF 0006 answered {first.hex().upper()}, expected the 32-byte label field of "
        f"{label.decode()!r} and 9000"
    )
    # ISO/IEC 7816-4 status bytes: 6986 command not allowed (no current EF)
    second = two.transmit(READ_32)
    assert second == SW.NO_CURRENT_EF.to_bytes(2, "big"), (
        f"READ BINARY on the second channel, where no EF is selected, answered {second.hex().upper()}, "
        "expected 6986 (no current EF)"
    )
    selected = two.transmit(SELECT_EF_CA_CERT)
    assert selected == b"\x90\x00", f"SELECT EF 0002 on the second channel answered {selected.hex().upper()}"
    other = two.transmit(READ_32)
    assert other[-2:] == b"\x90\x00" and len(other) == 34 and other[:2] == b"\x30\x82", (
        f"READ BINARY of EF 0002 on the second channel answered {other.hex().upper()}, expected 32 bytes "
        "of a certificate (30 82 ...) and 9000"
    )
    again = one.transmit(READ_32)
    assert again == first, (
        f"after SELECT EF 0002 on the second channel, READ BINARY on the first answered "
        f"{again.hex().upper()}, not EF 0006's {first.hex().upper()} again"
    )


@pytest.mark.requirement("HS-CH-02")
def test_basic_channel(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testOpenBasicChannelNonNullAid / NullAid on an eSE; AOSP Terminal ("basic channel in
    # use").
    session = handset.session(handset.allowed)
    basic = session.open_basic_channel(handset.jpki, 0x00)
    assert basic is not None, "openBasicChannel returned null although ics.handset.basic_channel is claimed"
    select_response = basic.get_select_response()
    assert select_response is not None and select_response[-2:] == b"\x90\x00", (
        f"getSelectResponse() of the basic channel is {select_response!r}"
    )
    assert basic.is_basic_channel(), "isBasicChannel() is false for the basic channel"
    assert basic.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00", "SELECT EF failed on the basic channel"
    assert session.open_basic_channel(handset.jpki, 0x00) is None, "a second basic channel was opened"
    basic.close()
    assert not basic.is_open(), "the basic channel is open after close()"


@pytest.mark.requirement("HS-CH-BASIC-DEFAULT")
def test_basic_channel_default_application(handset: HandsetUnderTest) -> None:
    # javadoc Session.openBasicChannel: once another applet was selected on the basic channel,
    # openBasicChannel(null) returns null until a reset; AOSP: until every session of the reader is closed.
    fresh = handset.session(handset.allowed)
    default = fresh.open_basic_channel(None)
    assert default is not None, (
        "openBasicChannel(null) on an eSE returned null (CTS testOpenBasicChannelNullAid)"
    )
    assert default.get_select_response() is None, "getSelectResponse() without AID is not null"
    default.close()
    fresh.close()
    session = handset.session(handset.allowed)
    basic = session.open_basic_channel(handset.jpki)
    assert basic is not None, "openBasicChannel(JPKI) returned null"
    basic.close()
    assert session.open_basic_channel(None) is None, (
        "openBasicChannel(null) gave a channel after an applet was selected on the basic channel"
    )
    handset.client.close_sessions(handset.reader, handset.allowed)
    again = handset.session(handset.allowed).open_basic_channel(None)
    assert again is not None, (
        "openBasicChannel(null) stayed null after every session of the reader was closed"
    )


@pytest.mark.requirement("HS-CH-03")
def test_channel_limit_and_close(handset: HandsetUnderTest) -> None:
    # javadoc Session.openLogicalChannel: null when no logical channel is free; Channel.close frees one.
    n = handset.n
    session = handset.session(handset.allowed)
    channels = [session.open_logical_channel(handset.jpki, 0x00) for _ in range(n - 1)]
    assert all(c is not None for c in channels), f"could not open {n - 1} logical channels"
    assert session.open_logical_channel(handset.jpki, 0x00) is None, f"channel {n} of {n} was opened"
    victim = channels[0]
    assert victim is not None
    victim.close()
    assert victim.is_closed(), "Channel.isOpen() is true after close()"
    with raises(omapi.IllegalStateError, "transmit on a closed channel"):
        victim.transmit(SELECT_EF_TOKEN_INFO)
    again = session.open_logical_channel(handset.jpki, 0x00)
    assert again is not None, "closing a channel did not free it"


@pytest.mark.requirement("HS-CH-ACE")
def test_ace_needs_a_channel_of_its_own(handset: HandsetUnderTest) -> None:
    # AOSP Terminal.setUpChannelAccess: the ACE reads the refresh tag on a logical channel of its own; with
    # every logical channel in use, openBasicChannel returns null although the basic channel is free.
    session = handset.session(handset.allowed)
    channels = [session.open_logical_channel(handset.jpki) for _ in range(handset.n - 1)]
    assert all(c is not None for c in channels), f"could not open {handset.n - 1} logical channels"
    assert session.open_basic_channel(handset.jpki) is None, (
        "openBasicChannel gave a channel while the ACE had no logical channel to check the refresh tag"
    )
    assert channels[0] is not None
    channels[0].close()
    basic = session.open_basic_channel(handset.jpki)
    assert basic is not None, "openBasicChannel returned null with a logical channel free for the ACE"


@pytest.mark.requirement("HS-CLOSE-01")
def test_session_close_closes_channels(handset: HandsetUnderTest) -> None:
    n = handset.n
    session = handset.session(handset.allowed)
    channels = [session.open_logical_channel(handset.jpki, 0x00) for _ in range(n - 1)]
    assert all(c is not None for c in channels)
    session.close()
    for channel in channels:
        assert channel is not None and channel.is_closed(), "a channel stayed open after Session.close()"
        with raises(omapi.IllegalStateError, "transmit on a channel of a closed session"):
            channel.transmit(SELECT_EF_TOKEN_INFO)
    fresh = handset.session(handset.allowed)
    reopened = [fresh.open_logical_channel(handset.jpki, 0x00) for _ in range(n - 1)]
    assert all(c is not None for c in reopened), "the closed session's SE channels were not freed"


@pytest.mark.requirement("HS-CH-SELECT-NEXT")
def test_select_next(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testSelectNext: no further applet -> false, and the applet stays selected.
    session = handset.session(handset.allowed)
    channel = session.open_logical_channel(t.CTS_SELECTABLE)
    assert channel is not None, "openLogicalChannel(CTS applet) returned null"
    assert channel.select_next() is False, "selectNext() is true although no further applet has the AID"
    for command in ("00060000", "800A000001AA"):
        response = channel.transmit(bytes.fromhex(command))
        assert response == b"\x90\x00", (
            f"after selectNext() the applet answered {command} with {response.hex().upper()}"
        )
    default = None if handset.claims.uicc else session.open_logical_channel(None)
    if default is not None:
        with raises(omapi.UnsupportedOperationError, "selectNext() on a channel opened without AID"):
            default.select_next()
    channel.close()
    with raises(omapi.IllegalStateError, "selectNext() on a closed channel"):
        channel.select_next()


@pytest.mark.requirement("HS-CH-OPEN-STATE")
def test_channel_state(handset: HandsetUnderTest) -> None:
    # javadoc Channel.isOpen/isBasicChannel/getSession; CTS OmapiTest#testGetSession.
    session = handset.session(handset.allowed)
    channel = session.open_logical_channel(handset.jpki)
    assert channel is not None
    assert channel.is_open(), "isOpen() is false for a new channel"
    assert not channel.is_basic_channel(), "isBasicChannel() is true for a logical channel"
    assert channel.session() == session.handle, "getSession() is not the session that opened the channel"
    session.close()
    assert session.is_closed(), "the session is not closed after getSession().close()"
    assert not channel.is_open(), "isOpen() is true after its session was closed"
