"""The JPKI rules on the handset (seed 004 p.13: only apps whose certificate hash the SP registered reach the
JPKI applet; seed 000 p.60 課題⑥ for the SIM design; ics.aram.rules): only the JPKI app has full access, on
every way into the applet; the read-only app reaches only SELECT EF and READ BINARY, and its other commands
never reach the SE."""

from __future__ import annotations

import pytest

from jpkikit.errors import ProfileError
from jpkikit.vocab.omapi import errors as omapi

from .support import SELECT_EF_TOKEN_INFO, HandsetUnderTest, raises

#: JPKI card commands a read-only app must not send (docs/spec/jpki-applet.md#commands).
WRITES = {
    "VERIFY": "0020008000",
    "CHANGE REFERENCE DATA": "0024000004" + "31323334",
    "RESET RETRY COUNTER": "002C0300",
    "UPDATE BINARY": "00D6000001AA",
    "COMPUTE DIGITAL SIGNATURE": "802A008023" + "3021300906052B0E03021A05000414" + "00" * 20 + "00",
    "PERFORM SECURITY OPERATION": "002A9E9A0433221100",
}


@pytest.mark.requirement("HS-JPKI-ONLY")
def test_only_the_jpki_app_has_full_access(handset: HandsetUnderTest) -> None:
    channel = handset.open(handset.allowed)
    assert channel is not None, "the JPKI app got no channel to the JPKI applet"
    for app in (handset.denied,):
        with raises(omapi.SecurityError, f"openLogicalChannel(JPKI) by {app.name}"):
            handset.open(app)
        if handset.claims.basic_channel:
            with raises(omapi.SecurityError, f"openBasicChannel(JPKI) by {app.name}"):
                handset.session(app).open_basic_channel(handset.jpki)
    if not handset.claims.uicc:
        # AOSP AID_REF_DO: a rule's AID matches only that AID, not a longer one that starts with it
        for app in (handset.denied, handset.allowed):
            with raises(omapi.SecurityError, f"openLogicalChannel(JPKI AID + 00 padding) by {app.name}"):
                handset.open(app, handset.jpki + b"\x00")


@pytest.mark.requirement("HS-JPKI-READONLY")
def test_read_only_app(handset: HandsetUnderTest) -> None:
    if handset.filtered_app is None:
        raise ProfileError(str(handset.profile.path), "ixit.handset.apps.filtered", "the read-only app")
    channel = handset.open(handset.filtered_app)
    assert channel is not None, "the read-only app got no channel to the JPKI applet"
    assert channel.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00", "the read-only app could not SELECT EF"
    read = channel.transmit(bytes.fromhex("00B0000020"))
    assert read[-2:] == b"\x90\x00", f"the read-only app's READ BINARY answered {read.hex().upper()}"
    handset.client.clear_se_trace()
    for name, command in WRITES.items():
        with raises(omapi.SecurityError, f"{name} by the read-only app"):
            channel.transmit(bytes.fromhex(command))
    sent = handset.target_traffic(handset.trace())
    assert not sent, f"commands the read-only app may not send reached the SE: {sent}"
