"""NFC transaction events: an SE application's event reaches only the apps the ACE allows NFC events (AOSP
SecureElementService.isNfcEventAllowed, AccessControlEnforcer.isNfcEventAllowed,
AccessRuleCache.findAccessRule;
SEAC NFC-AR-DO; GSMA TS.26 NFC event access). The companion apps register for the AID's events (nfc.register)
and the test bed makes the SE send one (testbed.nfc_transaction); nfc.events tells who got it."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import test_applets as t

from .support import HandsetUnderTest, filters, rule


def _deliver(handset: HandsetUnderTest, aid: bytes, apps: list) -> dict[str, bool]:  # type: ignore[type-arg]
    # The ACE checks no refresh tag for NFC events (AOSP "Avoid checking refresh tag for NFC Events"): an open
    # call by the first app makes it read rules the test bed has just stored.
    assert handset.can_open(apps[0], aid), f"{apps[0].name} could not open a channel to {aid.hex().upper()}"
    for app in apps:
        handset.client.nfc_register(app, handset.reader, aid)
        handset.client.nfc_events(app)  # drop older events
    handset.client.nfc_transaction(handset.reader, aid, b"\x01\x02")
    return {
        app.name: any(e["aid"] == aid.hex().upper() for e in handset.client.nfc_events(app)) for app in apps
    }


@pytest.mark.requirement("HS-NFC-01")
@pytest.mark.effects("access-rules")
def test_nfc_events_follow_nfc_ar_do(handset: HandsetUnderTest) -> None:
    me, other = handset.allowed, handset.denied
    rules = [rule(t.CTS_SELECTABLE, me.hashes[0], "always", nfc=True),
             rule(t.CTS_SELECTABLE, other.hashes[0], "always", nfc=False)]  # fmt: skip
    with handset.rules(rules):
        got = _deliver(handset, t.CTS_SELECTABLE, [me, other])
        assert got[me.name], "the app whose rule allows NFC events did not get the transaction event"
        assert not got[other.name], "the app whose rule says NFC NEVER got the transaction event"


@pytest.mark.requirement("HS-NFC-02")
@pytest.mark.effects("access-rules")
def test_missing_nfc_rule(handset: HandsetUnderTest) -> None:
    # No NFC-AR-DO: the NFC event follows the APDU access; with APDU filters, from API 29.
    # AOSP AccessRuleCache.findAccessRule: an undefined NFC access takes the APDU access, so a NEVER rule
    # without NFC-AR-DO gives no event.
    me, other, barred = handset.allowed, handset.denied, handset.filtered_app
    rules = [rule(t.CTS_SELECTABLE, me.hashes[0], "always"),
             rule(t.CTS_SELECTABLE, other.hashes[0], filters("00060000/FFFF0000"))]  # fmt: skip
    if barred is not None:
        rules.append(rule(t.CTS_SELECTABLE, barred.hashes[0], "never"))
    with handset.rules(rules):
        got = _deliver(handset, t.CTS_SELECTABLE, [me, other] + ([barred] if barred is not None else []))
        assert got[me.name], "an ALWAYS rule without NFC-AR-DO gave no NFC event"
        if barred is not None:
            assert not got[barred.name], "a NEVER rule without NFC-AR-DO gave an NFC event"
        # AOSP's ARF reader gives a filter condition APDU access ALLOWED, so NFC follows it on every release.
        if handset.android.missing_nfc_follows_apdu or handset.claims.access_rules == "arf":
            assert got[other.name], "a filter rule without NFC-AR-DO gave no NFC event"
        else:
            assert not got[other.name], f"API {handset.android.api} gave an NFC event to a filter rule"


@pytest.mark.requirement("HS-JPKI-NFC")
def test_jpki_applet_events(handset: HandsetUnderTest) -> None:
    # The profile's rules: the JPKI applet's NFC events (a reader in the field, the reader path) reach the
    # JPKI
    # app (nfc: true) only; not the read-only app (nfc: false), not an app no rule names.
    apps = [handset.allowed, handset.denied] + ([handset.filtered_app] if handset.filtered_app else [])
    got = _deliver(handset, handset.jpki, apps)
    assert got[handset.allowed.name], "the JPKI app did not get the JPKI applet's transaction event"
    assert not got[handset.denied.name], "an app no rule names got the JPKI applet's transaction event"
    if handset.filtered_app is not None:
        assert not got[handset.filtered_app.name], "the read-only app (NFC NEVER) got the JPKI applet's event"
