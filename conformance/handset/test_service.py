"""SEService, Reader and Session as Android has them (android.se.omapi javadoc; CTS OmapiTest
testGetOmapiVersion, testGetReaders, testATR, testCloseSessions, testOmapiReaderReset, testGetSession;
docs/android-behaviours.md). Version-dependent expectations follow ics.handset.android_api."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.atr import atr_problem
from jpkikit.vocab.omapi import agent_protocol as protocol
from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi.android import READER_PREFIXES, UICC_PREFIX

from .support import SELECT_EF_TOKEN_INFO, HandsetUnderTest, raises


@pytest.mark.requirement("HS-SVC-VERSION")
def test_omapi_version(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testGetOmapiVersion ("3.3" from API 30); "3.2" before (SEService.getVersion).
    expected = handset.android.omapi_version
    got = handset.client.version(handset.allowed)
    assert got == expected, (
        f"SEService.getVersion() is {got!r}, Android API {handset.android.api} gives {expected!r}"
    )


@pytest.mark.requirement("HS-SVC-READERS")
def test_readers(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testGetReaders: names SIM<n>/eSE<n>/SD<n>, every reader's SE present.
    present = handset.client.readers_present(handset.allowed)
    assert handset.reader in present, f"getReaders() does not list {handset.reader}: {sorted(present)}"
    for name, is_present in present.items():
        assert name.startswith(READER_PREFIXES), f"reader name {name!r} is not SIM<n>, eSE<n> or SD<n>"
        assert is_present, f"Reader {name}: isSecureElementPresent() is false"
    assert handset.client.reader_present(handset.reader, handset.allowed), (
        f"Reader.isSecureElementPresent() of {handset.reader} is false"
    )


@pytest.mark.requirement("HS-SVC-UICC-SLOT")
def test_uicc_reader_by_slot(handset: HandsetUnderTest) -> None:
    # SEService.getUiccReader (API 30); CTS OmapiTest#testGetReaders checks it against getReaders().
    uicc = sorted(r for r in handset.client.readers(handset.allowed) if r.startswith(UICC_PREFIX))
    for slot in range(1, len(uicc) + 1):
        got = handset.client.uicc_reader(slot, handset.allowed)
        assert got == f"{UICC_PREFIX}{slot}", (
            f"getUiccReader({slot}) is {got!r}, expected {UICC_PREFIX}{slot}"
        )
    for slot in (0, -1, len(uicc) + 1):
        with raises(omapi.IllegalArgumentError, f"getUiccReader({slot})"):
            handset.client.uicc_reader(slot, handset.allowed)


@pytest.mark.requirement("HS-SVC-RESET")
def test_reset_needs_privilege(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testOmapiReaderReset: Reader.reset() without SECURE_ELEMENT_PRIVILEGED_OPERATION.
    try:
        with raises(omapi.SecurityError, "Reader.reset() by an unprivileged app"):
            handset.client.reset_reader(handset.reader, handset.allowed)
    except protocol.AgentProtocolError as exc:
        if exc.code == protocol.UNSUPPORTED:
            pytest.fail(f"Reader.reset() is not available on API {handset.android.api}: {exc}")
        raise


@pytest.mark.requirement("HS-SES-CLOSE-ALL")
def test_close_sessions(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testCloseSessions; javadoc Reader.closeSessions.
    one, two = handset.session(handset.allowed), handset.session(handset.allowed)
    channel = one.open_logical_channel(handset.jpki)
    assert channel is not None, "openLogicalChannel returned null for the allowed app"
    assert not one.is_closed() and not two.is_closed(), "a new session is already closed"
    handset.client.close_sessions(handset.reader, handset.allowed)
    assert one.is_closed() and two.is_closed(), "Reader.closeSessions() left a session open"
    assert not channel.is_open(), "Reader.closeSessions() left a channel of its sessions open"


@pytest.mark.requirement("HS-SES-CLOSED")
def test_closed_session(handset: HandsetUnderTest) -> None:
    # AOSP SecureElementService.SecureElementSession: "Session is closed"; javadoc Session.close.
    session = handset.session(handset.allowed)
    session.close()
    assert session.is_closed(), "Session.isClosed() is false after close()"
    with raises(omapi.IllegalStateError, "openLogicalChannel on a closed session"):
        session.open_logical_channel(handset.jpki)
    with raises(omapi.IllegalStateError, "openBasicChannel on a closed session"):
        session.open_basic_channel(handset.jpki)
    session.close()  # closing twice is harmless


@pytest.mark.requirement("HS-SES-CLOSE-CHANNELS")
def test_close_channels(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testCloseChannels; javadoc Session.closeChannels.
    session = handset.session(handset.allowed)
    a, b = session.open_logical_channel(handset.jpki), session.open_logical_channel(handset.jpki)
    assert a is not None and b is not None, "two logical channels could not be opened"
    session.close_channels()
    assert not a.is_open() and not b.is_open(), "Session.closeChannels() left a channel open"
    assert not session.is_closed(), "Session.closeChannels() closed the session"
    again = session.open_logical_channel(handset.jpki)
    assert again is not None, "the session could not open a channel after closeChannels()"
    assert again.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00", "a channel after closeChannels() fails"


@pytest.mark.requirement("HS-SES-ATR")
def test_uicc_atr(handset: HandsetUnderTest) -> None:
    # CTS OmapiTest#testATR: a UICC reader's Session.getATR() is not null.
    atr = handset.session(handset.allowed).get_atr()
    assert atr, f"Session.getATR() of UICC reader {handset.reader} is null"
    # and it is the UICC's ATR, not any bytes: the structure of ISO/IEC 7816-3 §8.2 (TS, T0, interface
    # bytes, historical bytes, TCK), which ETSI TS 102 221 §6.3 requires of a UICC's ATR
    problem = atr_problem(atr)
    assert problem is None, (
        f"Session.getATR() of UICC reader {handset.reader} is {atr.hex().upper()}, not an ATR: {problem}"
    )
