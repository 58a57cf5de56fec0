"""Basic and logical channels through OMAPI: selected-state isolation, the channel limit, close semantics
(docs/spec/globalplatform.md#android-enforcement; ISO/IEC 7816-4 logical channels). N =
ics.handset.logical_channels."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import errors as omapi

from .support import READ_32, SELECT_EF_TOKEN_INFO, HandsetUnderTest


@pytest.mark.requirement("HS-CH-01")
def test_logical_channels_keep_their_selection(handset: HandsetUnderTest) -> None:
    session = handset.session(handset.allowed)
    one = session.open_logical_channel(handset.jpki, 0x00)
    two = session.open_logical_channel(handset.jpki, 0x00)
    assert one is not None and two is not None, "two logical channels could not be opened"
    assert one.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00"
    first = one.transmit(READ_32)
    assert first[-2:] == b"\x90\x00" and len(first) == 34, f"READ BINARY answered {first.hex().upper()}"
    second = two.transmit(READ_32)
    assert second != first, "the EF selected on one logical channel was read on another"


@pytest.mark.requirement("HS-CH-02")
def test_basic_channel(handset: HandsetUnderTest) -> None:
    session = handset.session(handset.allowed)
    basic = session.open_basic_channel(handset.jpki, 0x00)
    assert basic is not None, "openBasicChannel returned null although ics.handset.basic_channel is claimed"
    select_response = basic.get_select_response()
    assert select_response is not None and select_response[-2:] == b"\x90\x00"
    assert session.open_basic_channel(handset.jpki, 0x00) is None, "a second basic channel was opened"


@pytest.mark.requirement("HS-CH-03")
def test_channel_limit_and_close(handset: HandsetUnderTest) -> None:
    n = handset.claims.logical_channels
    session = handset.session(handset.allowed)
    channels = [session.open_logical_channel(handset.jpki, 0x00) for _ in range(n - 1)]
    assert all(c is not None for c in channels), f"could not open {n - 1} logical channels"
    assert session.open_logical_channel(handset.jpki, 0x00) is None, f"channel {n} of {n} was opened"
    victim = channels[0]
    assert victim is not None
    victim.close()
    assert victim.is_closed()
    with pytest.raises(omapi.IllegalStateError):
        victim.transmit(SELECT_EF_TOKEN_INFO)
    again = session.open_logical_channel(handset.jpki, 0x00)
    assert again is not None, "closing a channel did not free it"


@pytest.mark.requirement("HS-CLOSE-01")
def test_session_close_closes_channels(handset: HandsetUnderTest) -> None:
    n = handset.claims.logical_channels
    session = handset.session(handset.allowed)
    channels = [session.open_logical_channel(handset.jpki, 0x00) for _ in range(n - 1)]
    assert all(c is not None for c in channels)
    session.close()
    for channel in channels:
        assert channel is not None and channel.is_closed(), "a channel stayed open after Session.close()"
        with pytest.raises(omapi.IllegalStateError):
            channel.transmit(SELECT_EF_TOKEN_INFO)
    fresh = handset.session(handset.allowed)
    reopened = [fresh.open_logical_channel(handset.jpki, 0x00) for _ in range(n - 1)]
    assert all(c is not None for c in reopened), "the closed session's SE channels were not freed"
