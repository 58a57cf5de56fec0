"""Channel access per app identity, APDU filters and transmit checks (docs/spec/globalplatform.md, "Rule
resolution on the device" and "Android enforcement"). App identities and APDUs come from ixit.handset.apps;
the target applet is ixit.aids.jpki."""

from __future__ import annotations

import pytest

from jpkikit.errors import ProfileError
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.omapi import errors as omapi

from .support import SELECT_EF_TOKEN_INFO, HandsetUnderTest, rule


@pytest.mark.requirement("HS-OPEN-01")
def test_allowed_app_opens_channel(handset: HandsetUnderTest) -> None:
    channel = handset.open(handset.allowed)
    assert channel is not None, "openLogicalChannel returned null for the allowed app"
    select_response = channel.get_select_response()
    assert select_response is not None and select_response[-2:] == b"\x90\x00", (
        f"getSelectResponse() is {select_response!r}, expected it to end with 9000"
    )
    response = channel.transmit(SELECT_EF_TOKEN_INFO)
    assert response[-2:] == b"\x90\x00", f"SELECT EF 0006 answered {response.hex().upper()}"


@pytest.mark.requirement("HS-DENY-01")
def test_denied_app_gets_security_exception(handset: HandsetUnderTest) -> None:
    session = handset.session(handset.denied, "denied")
    with pytest.raises(omapi.SecurityError):
        session.open_logical_channel(handset.jpki, 0x00)


def _is_ace_traffic(command: bytes, aram_aid: bytes, aram_channels: set[int]) -> bool:
    apdu = CommandApdu.parse(command)
    channel = apdu.channel or 0
    if apdu.cla & 0x80 == 0 and apdu.ins == 0x70:
        return True  # MANAGE CHANNEL (opening/closing the ACE's own channel)
    if apdu.cla & 0x80 == 0 and apdu.ins == 0xA4 and apdu.p1 == 0x04 and apdu.data == aram_aid:
        aram_channels.add(channel)
        return True
    return apdu.cla & 0x80 != 0 and apdu.ins == 0xCA and channel in aram_channels


@pytest.mark.requirement("HS-DENY-02")
def test_denied_open_sends_nothing_for_the_applet(handset: HandsetUnderTest) -> None:
    session = handset.session(handset.denied, "denied")
    handset.client.clear_se_trace()
    with pytest.raises(omapi.SecurityError):
        session.open_logical_channel(handset.jpki, 0x00)
    trace = handset.client.se_trace()
    channels: set[int] = set()
    other = [c.hex().upper() for c in trace if not _is_ace_traffic(c, handset.aram_aid, channels)]
    assert not other, f"the SE received commands for the denied open: {other}"
    assert all(handset.jpki not in c for c in trace), "the SE saw the target AID"


@pytest.mark.requirement("HS-HASH-01")
def test_sha1_and_sha256_hashes_are_matched(handset: HandsetUnderTest) -> None:
    by_length = {len(h): h for h in handset.allowed}
    if set(by_length) != {20, 32}:
        pytest.fail("ixit.handset.apps.allowed must give a SHA-1 and a SHA-256 hash of the allowed app")
    for length, value in sorted(by_length.items()):
        assert handset.can_open([value]), f"the allowed app identified by its {length}-byte hash was denied"


@pytest.mark.requirement("HS-FLT-01")
def test_apdu_filters(handset: HandsetUnderTest) -> None:
    filtered = handset.filtered
    if filtered is None:
        raise ProfileError(
            str(handset.profile.path), "ixit.handset.apps.filtered", "an app with a filter rule"
        )
    channel = handset.open(filtered.hashes)
    assert channel is not None
    response = channel.transmit(filtered.allowed_apdu)
    assert len(response) >= 2, "no response to a command the filters allow"
    with pytest.raises(omapi.SecurityError):
        channel.transmit(filtered.denied_apdu)


@pytest.mark.requirement("HS-TX-01")
def test_select_and_manage_channel_refused_in_transmit(handset: HandsetUnderTest) -> None:
    channel = handset.open(handset.allowed)
    assert channel is not None
    select = CommandApdu(0x00, 0xA4, 0x04, 0x00, handset.jpki, ne=256).to_bytes()
    for command in (select, bytes.fromhex("0070000001")):
        with pytest.raises(omapi.SecurityError):
            channel.transmit(command)


@pytest.mark.requirement("HS-TX-02")
def test_malformed_commands_are_illegal_arguments(handset: HandsetUnderTest) -> None:
    channel = handset.open(handset.allowed)
    assert channel is not None
    for command in ("00A402", "FFB0000020", "0060000000", "0090000000"):
        with pytest.raises(omapi.IllegalArgumentError):
            channel.transmit(bytes.fromhex(command))


@pytest.mark.requirement("HS-ARG-01")
def test_bad_and_absent_aids(handset: HandsetUnderTest) -> None:
    with pytest.raises(omapi.IllegalArgumentError):
        handset.session(handset.allowed).open_logical_channel(b"\xa0\x00\x01", 0x00)
    with handset.rules([rule("all", b"")]):
        with pytest.raises(omapi.NoSuchElementError):
            handset.session(handset.allowed).open_logical_channel(handset.absent, 0x00)
