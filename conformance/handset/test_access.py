"""Channel access per app identity and APDU filters (docs/spec/globalplatform.md, "Rule resolution on the
device" and "Android enforcement"; AOSP AccessControlEnforcer.java, AccessRuleCache.java; CTS
AccessControlTest).
App identities and APDUs come from ixit.handset.apps; the target applet is ixit.aids.jpki."""

from __future__ import annotations

import pytest

from jpkikit.errors import ProfileError
from jpkikit.host.handset_client import AppRef
from jpkikit.vocab.iso7816.apdu import cla_channel
from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi.android import channel_cla

from .support import SELECT_EF_TOKEN_INFO, HandsetUnderTest, filters, raises, rule


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
    session = handset.session(handset.denied)
    with raises(omapi.SecurityError, "openLogicalChannel(JPKI) by the denied app"):
        session.open_logical_channel(handset.jpki, 0x00)


@pytest.mark.requirement("HS-DENY-02")
def test_denied_open_sends_nothing_for_the_applet(handset: HandsetUnderTest) -> None:
    session = handset.session(handset.denied)
    handset.client.clear_se_trace()
    with raises(omapi.SecurityError, "openLogicalChannel(JPKI) by the denied app"):
        session.open_logical_channel(handset.jpki, 0x00)
    trace = handset.trace()
    other = handset.target_traffic(trace)
    assert not other, f"the SE received commands for the denied open: {other}"
    assert all(handset.jpki not in c for c in trace), "the SE saw the target AID"


@pytest.mark.requirement("HS-HASH-01")
def test_sha1_and_sha256_hashes_are_matched(handset: HandsetUnderTest) -> None:
    # SEAC DeviceAppID-REF-DO; AOSP Hash_REF_DO ("Add support for SHA-256 Hash_REF_DO", API 29).
    by_length = {len(h): h for h in handset.allowed.hashes}
    if set(by_length) != {20, 32}:
        raise ProfileError(
            str(handset.profile.path), "ixit.handset.apps.allowed", "a SHA-1 and a SHA-256 hash"
        )
    sha1 = AppRef("allowed-sha1", (by_length[20],), handset.allowed.package)
    assert handset.can_open(sha1), "the allowed app identified by its 20-byte hash was denied"
    sha256 = AppRef("allowed-sha256", (by_length[32],), handset.allowed.package)
    if handset.android.sha256_hashes:
        assert handset.can_open(sha256), "the allowed app identified by its 32-byte hash was denied"
    else:
        assert not handset.can_open(sha256), f"API {handset.android.api} matched a 32-byte hash"


@pytest.mark.requirement("HS-HASH-ORDER")
def test_sha1_rule_decides_before_sha256(handset: HandsetUnderTest) -> None:
    # AOSP AccessRuleCache.findAccessRuleInternal: the app's hashes in order (SHA-1, then SHA-256); the first
    # REF-DO found decides, rules of other REF-DOs are not merged.
    by_length = {len(h): h for h in handset.allowed.hashes}
    sha1, sha256 = by_length[20], by_length[32]
    with handset.rules([rule(handset.jpki, sha1, "never"), rule(handset.jpki, sha256, "always")]):
        assert not handset.can_open(handset.allowed), (
            "the SHA-256 rule ALWAYS won over the app's SHA-1 rule NEVER"
        )
    with handset.rules([rule(handset.jpki, sha1, "always"), rule(handset.jpki, sha256, "never")]):
        assert handset.can_open(handset.allowed), (
            "the SHA-256 rule NEVER won over the app's SHA-1 rule ALWAYS"
        )


@pytest.mark.requirement("HS-FLT-01")
def test_apdu_filters(handset: HandsetUnderTest) -> None:
    # GP SEAC APDU-AR-DO: a command a filter matches goes to the applet as the app sent it (AOSP
    # Channel.transmit: only the channel number goes into CLA) and the applet's answer comes back unchanged; a
    # command no filter matches throws SecurityException (AOSP AccessControlEnforcer.checkCommand).
    filtered = handset.filtered
    if filtered is None or handset.filtered_app is None:
        raise ProfileError(
            str(handset.profile.path), "ixit.handset.apps.filtered", "an app with a filter rule"
        )
    command = filtered.allowed_apdu
    # the applet's own answer, on a fresh channel of the allowed app (rule ALWAYS) in the same state
    plain = handset.open(handset.allowed)
    assert plain is not None, "openLogicalChannel returned null for the allowed app"
    expected = plain.transmit(command)
    plain.close()
    traced = handset.claims.testbed
    if traced:
        handset.client.clear_se_trace()
    channel = handset.open(handset.filtered_app)
    assert channel is not None, "openLogicalChannel returned null for the filtered app"
    response = channel.transmit(command)
    assert response == expected, (
        f"the command the filters allow ({command.hex().upper()}) answered {response.hex().upper()} through "
        f"the filter, the applet answers it {expected.hex().upper()} on the allowed app's channel"
    )
    if traced:
        number, sent = forwarded(handset, handset.trace())
        as_sent = bytes((channel_cla(command[0], number, handset.android.api),)) + command[1:]
        assert sent == [as_sent], (
            f"for the command the filters allow ({command.hex().upper()}) the SE received "
            f"{[c.hex().upper() for c in sent]} on the filtered app's channel {number}, expected "
            f"{as_sent.hex().upper()} once"
        )
    with raises(omapi.SecurityError, "transmit of a command no filter allows"):
        channel.transmit(filtered.denied_apdu)


def forwarded(handset: HandsetUnderTest, trace: list[bytes]) -> tuple[int | None, list[bytes]]:
    """The channel where the SE last saw ixit.aids.jpki selected by DF name, and the commands it received on
    that channel after the SELECT (the ACE's own traffic left out)."""
    traffic = [bytes.fromhex(c) for c in handset.target_traffic(trace)]
    selects = [i for i, c in enumerate(traffic) if c[1:4] == b"\xa4\x04\x00" and handset.jpki in c]
    assert selects, f"the SE trace holds no SELECT of ixit.aids.jpki: {[c.hex().upper() for c in traffic]}"
    number = cla_channel(traffic[selects[-1]][0])
    return number, [c for c in traffic[selects[-1] + 1 :] if cla_channel(c[0]) == number]


@pytest.mark.requirement("HS-FLT-02")
def test_filter_compares_header_and_mask(handset: HandsetUnderTest) -> None:
    # AOSP CommandApdu.compareHeaders: (CLA INS P1 P2 AND mask) == filter header; CTS AccessControlTest AID_40
    # (authorised 00 06 00 00 and A0 06 00 00, unauthorised 80 06 ...). Filter 00060000/7FFFFFFF: b8 of CLA
    # free.
    from jpkikit.vocab.omapi import test_applets as t

    me = handset.allowed
    with handset.rules(
        [rule(t.CTS_SELECTABLE, me.hashes[0], filters("00060000/7FFFFFFF", "000A0000/FFFF00FF"))]
    ):
        channel = handset.open(me, t.CTS_SELECTABLE)
        assert channel is not None, "openLogicalChannel(CTS applet) with a filter rule returned null"
        for allowed in ("00060000", "80060000", "000A7F00", "000A0100"):
            response = channel.transmit(
                bytes.fromhex(allowed) + (b"\x01\xaa" if allowed[2:4] == "0A" else b"")
            )
            assert response[-2:] == b"\x90\x00", (
                f"{allowed} matches a filter and answered {response.hex().upper()}"
            )
        for denied in ("00060100", "00070000", "000A0001"):
            with raises(omapi.SecurityError, f"transmit({denied}) which no filter matches"):
                channel.transmit(bytes.fromhex(denied))
