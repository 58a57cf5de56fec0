"""Session.openLogicalChannel / openBasicChannel as Android answers them: the order of its checks, P2, the
SE's
status words on the SELECT, the select response, and the UICC's restrictions (AOSP SecureElementService.java,
Terminal.java; the SE HAL contract ISecureElement; javadoc Session.openLogicalChannel; CTS OmapiTest
testP2Value, testWrongAid, testLongSelectResponse, testOpenBasicChannelNullAid)."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi import test_applets as t
from jpkikit.vocab.omapi.android import P2_VALUES

from .support import HandsetUnderTest, raises

SHORT_AID = bytes.fromhex("A000000151")[:4]
LONG_AID = bytes(17)


@pytest.mark.requirement("HS-ORDER-01")
def test_check_order(handset: HandsetUnderTest) -> None:
    # AOSP: closed session, then P2, then AID length, then access, then the SE.
    closed = handset.session(handset.denied)
    closed.close()
    with raises(omapi.IllegalStateError, "closed session + bad P2 + bad AID, denied app"):
        closed.open_logical_channel(SHORT_AID, 0x01)
    session = handset.session(handset.denied)
    with raises(omapi.UnsupportedOperationError, "P2 01 + bad AID, denied app"):
        session.open_logical_channel(SHORT_AID, 0x01)
    with raises(omapi.IllegalArgumentError, "bad AID, denied app"):
        session.open_logical_channel(SHORT_AID, 0x00)
    with raises(omapi.SecurityError, "absent AID the denied app has no rule for"):
        session.open_logical_channel(handset.absent, 0x00)


@pytest.mark.requirement("HS-P2-01")
def test_accepted_p2_values_are_sent(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testP2Value: the SELECT carries the app's P2 (the CTS applet's INS F4 echoes it).
    session = handset.session(handset.allowed)
    for p2 in P2_VALUES:
        channel = session.open_logical_channel(t.CTS_SELECTABLE, p2)
        assert channel is not None, f"openLogicalChannel(CTS applet, P2 {p2:02X}) returned null"
        echo = channel.transmit(bytes((0x00, t.INS_CHECK_P2, 0x00, 0x00, 0x00)))
        channel.close()
        assert echo[-2:] == b"\x90\x00" and echo[:-2] == bytes((p2,)), (
            f"the SELECT for P2 {p2:02X} reached the applet with P2 {echo[:-2].hex().upper()}"
        )


@pytest.mark.requirement("HS-P2-02")
def test_unsupported_p2(handset: HandsetUnderTest) -> None:
    # AOSP SecureElementService: any other P2 throws UnsupportedOperationException before anything is sent.
    session = handset.session(handset.allowed)
    handset.client.clear_se_trace()
    for p2 in (0x01, 0x02, 0x10, 0xFF):
        with raises(omapi.UnsupportedOperationError, f"openLogicalChannel with P2 {p2:02X}"):
            session.open_logical_channel(handset.jpki, p2)
        if handset.claims.basic_channel:
            with raises(omapi.UnsupportedOperationError, f"openBasicChannel with P2 {p2:02X}"):
                session.open_basic_channel(handset.jpki, p2)
    sent = handset.target_traffic(handset.trace())
    assert not sent, f"commands reached the SE for an unsupported P2: {sent}"


@pytest.mark.requirement("HS-SEL-SW-01")
def test_select_warnings_open_the_channel(handset: HandsetUnderTest) -> None:
    # javadoc Session.openLogicalChannel: 9000 and the warnings 62xx/63xx keep the channel open, and
    # getSelectResponse returns the status word received.
    session = handset.session(handset.allowed)
    for sw in (0x6283, 0x6310):
        channel = session.open_logical_channel(t.KIT_SELECT_SW[sw])
        assert channel is not None, f"a SELECT answered {sw:04X} (a warning) did not open the channel"
        response = channel.get_select_response()
        assert response is not None and response[-2:] == sw.to_bytes(2, "big"), (
            f"getSelectResponse() after a SELECT answered {sw:04X} is {response!r}"
        )
        channel.close()


@pytest.mark.requirement("HS-SEL-SW-02")
def test_select_errors(handset: HandsetUnderTest) -> None:
    # SE HAL ISecureElement.openLogicalChannel and the eSE HALs' mapping: 6A86 UnsupportedOperationException,
    # 6999/6985 NoSuchElementException (6985: an applet that is not multi-selectable, selected elsewhere),
    # other errors IOException; the channel is closed again (all channels stay usable afterwards).
    session = handset.session(handset.allowed)
    cases = [
        (t.KIT_SELECT_SW[0x6A86], omapi.UnsupportedOperationError),
        (t.KIT_SELECT_SW[0x6999], omapi.NoSuchElementError),
        (t.KIT_SELECT_SW[0x6F00], omapi.OmapiIOError),
    ]
    for aid, kind in cases * 2:  # twice: a channel left open by a failed SELECT would run out
        with raises(kind, f"SELECT {aid.hex().upper()}"):
            session.open_logical_channel(aid)
    single = session.open_logical_channel(t.KIT_SINGLE)
    assert single is not None, "the non-multi-selectable test applet could not be opened"
    with raises(omapi.NoSuchElementError, "a second channel to a non-multi-selectable applet (6985)"):
        session.open_logical_channel(t.KIT_SINGLE)
    single.close()
    channels = [session.open_logical_channel(handset.jpki) for _ in range(handset.n - 1)]
    assert all(c is not None for c in channels), "failed SELECTs left SE channels open"


@pytest.mark.requirement("HS-SEL-LONG")
def test_long_select_response(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testLongSelectResponse: the whole BER-TLV select response and 9000.
    channel = handset.session(handset.allowed).open_logical_channel(t.CTS_LONG_SELECT)
    assert channel is not None, "openLogicalChannel(CTS long-select applet) returned null"
    response = channel.get_select_response()
    expected = t.long_select_response() + b"\x90\x00"
    assert response == expected, (
        f"getSelectResponse() is {len(response or b'')} bytes, {len(expected)} expected (data and 9000)"
    )


@pytest.mark.requirement("HS-CH-UICC-NULL")
def test_uicc_logical_channel_without_aid(handset: HandsetUnderTest) -> None:
    # android.se.omapi.Session.openLogicalChannel: "NULL AID not supported" on a SIM reader -> null.
    assert handset.session(handset.allowed).open_logical_channel(None) is None, (
        "openLogicalChannel(null) on a UICC reader returned a channel"
    )


@pytest.mark.requirement("HS-CH-UICC-BASIC")
def test_uicc_basic_channel(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testOpenBasicChannelNullAid / NonNullAid: null on a UICC.
    session = handset.session(handset.allowed)
    for aid in (None, handset.jpki, t.CTS_SELECTABLE):
        channel = session.open_basic_channel(aid)
        assert channel is None, (
            f"openBasicChannel({aid.hex().upper() if aid else 'null'}) on a UICC gave a channel"
        )


@pytest.mark.requirement("HS-ARG-01")
def test_bad_and_absent_aids(handset: HandsetUnderTest) -> None:
    # javadoc Session.openLogicalChannel; CTS OmapiTest#testWrongAid (NoSuchElementException).
    from .support import rule

    session = handset.session(handset.allowed)
    for aid in (b"\xa0\x00\x01", SHORT_AID, LONG_AID):
        with raises(omapi.IllegalArgumentError, f"openLogicalChannel with a {len(aid)}-byte AID"):
            session.open_logical_channel(aid, 0x00)
    with handset.rules([rule("all", b"")]):
        with raises(omapi.NoSuchElementError, "openLogicalChannel(ixit.aids.absent)"):
            handset.session(handset.allowed).open_logical_channel(handset.absent, 0x00)
