"""Rule resolution, merging and refresh of the Access Control Enforcer: one test per step of SEAC v1.0 §4.2.3
as
docs/spec/globalplatform.md#rule-resolution-on-the-device lists them (AOSP AccessRuleCache.findAccessRule),
the
merging of rules of one REF-DO (AccessRuleCache.putWithMerge; SEAC v1.1 Annex G), PKG-REF-DO
(gpac/REF_DO.java) and the refresh tag (ara/AraController.java). Each test installs its rule set through the
test bed (testbed.store_rules) and restores ics.aram.rules afterwards."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi import test_applets as t

from .support import SELECT_EF_TOKEN_INFO, HandsetUnderTest, filters, raises, rule

ALL = "all"


def _first(app) -> bytes:  # type: ignore[no-untyped-def]
    return app.hashes[0]


@pytest.mark.requirement("HS-ACE-A")
@pytest.mark.effects("access-rules")
def test_exact_rule_beats_aid_all_apps(handset: HandsetUnderTest) -> None:
    app = handset.allowed
    with handset.rules([rule(handset.jpki, _first(app), "always"), rule(handset.jpki, b"", "never")]):
        assert handset.can_open(app), "rule A (AID, app hash) ALWAYS lost to (AID, all apps) NEVER"


@pytest.mark.requirement("HS-ACE-AID-NEVER")
@pytest.mark.effects("access-rules")
def test_specific_aid_with_other_hash_means_never(handset: HandsetUnderTest) -> None:
    with handset.rules([rule(handset.jpki, _first(handset.allowed), "always"), rule(ALL, b"", "always")]):
        assert not handset.can_open(handset.denied), "an app not named by the AID's specific rules was let in"


@pytest.mark.requirement("HS-ACE-B")
@pytest.mark.effects("access-rules")
def test_aid_all_apps_beats_all_aids_hash(handset: HandsetUnderTest) -> None:
    me = handset.denied
    with handset.rules([rule(handset.jpki, b"", "always"), rule(ALL, _first(me), "never")]):
        assert handset.can_open(me), "rule B (AID, all apps) ALWAYS lost to (all AIDs, app hash) NEVER"


@pytest.mark.requirement("HS-ACE-C")
@pytest.mark.effects("access-rules")
def test_all_aids_hash_beats_all_all(handset: HandsetUnderTest) -> None:
    me = handset.allowed
    with handset.rules([rule(ALL, _first(me), "always"), rule(ALL, b"", "never")]):
        assert handset.can_open(me), "rule C (all AIDs, app hash) ALWAYS lost to (all AIDs, all apps) NEVER"


@pytest.mark.requirement("HS-ACE-ALL-NEVER")
@pytest.mark.effects("access-rules")
def test_all_aids_with_other_hash_means_never(handset: HandsetUnderTest) -> None:
    with handset.rules([rule(ALL, _first(handset.allowed), "always"), rule(ALL, b"", "always")]):
        assert not handset.can_open(handset.denied), (
            "an app not named by the all-AIDs rules was let in by rule D"
        )


@pytest.mark.requirement("HS-ACE-D")
@pytest.mark.effects("access-rules")
def test_all_aids_all_apps(handset: HandsetUnderTest) -> None:
    with handset.rules([rule(ALL, b"", "always")]):
        assert handset.can_open(handset.denied), "rule D (all AIDs, all apps) was not applied"


@pytest.mark.requirement("HS-ACE-NONE")
@pytest.mark.effects("access-rules")
def test_no_matching_rule_denies(handset: HandsetUnderTest) -> None:
    with handset.rules([rule(handset.absent, b"", "always")]):
        assert not handset.can_open(handset.allowed), "access granted with no rule for the AID"


@pytest.mark.requirement("HS-ACE-DEFAULT")
@pytest.mark.effects("access-rules")
def test_default_application_rule(handset: HandsetUnderTest) -> None:
    # AOSP AccessRuleCache.getAidRefDo: no AID (and 00 00 00 00 00) -> the rules for C0 00.
    me, other = handset.allowed, handset.denied
    with handset.rules([rule("default", _first(me), "always")]):
        try:
            channel = handset.session(me).open_basic_channel(None)
        except omapi.SecurityError as exc:
            pytest.fail(
                f"the app the default-application rule names was denied the default application: {exc}"
            )
        assert channel is not None, (
            "the app the default-application rule names got no basic channel without AID"
        )
        channel.close()
        handset.client.close_sessions(handset.reader, me)
        with raises(omapi.SecurityError, "the default application by an app its rule does not name"):
            handset.session(other).open_basic_channel(None)
        assert not handset.can_open(me, t.CTS_SELECTABLE), (
            "the default-application rule opened another applet"
        )


@pytest.mark.requirement("HS-MERGE-01")
@pytest.mark.effects("access-rules")
def test_never_wins_in_a_merge(handset: HandsetUnderTest) -> None:
    # putWithMerge: APDU NEVER > filters > ALWAYS, whatever the order of the rules.
    me = _first(handset.allowed)
    merges = (
        [rule(handset.jpki, me, "always"), rule(handset.jpki, me, "never")],
        [rule(handset.jpki, me, "never"), rule(handset.jpki, me, filters("00A40000/FF000000"))],
    )
    for rules in merges:
        with handset.rules(rules):
            assert not handset.can_open(handset.allowed), (
                "a NEVER rule of the REF-DO was overruled in the merge"
            )


@pytest.mark.requirement("HS-MERGE-02")
@pytest.mark.effects("access-rules")
def test_filters_are_joined(handset: HandsetUnderTest) -> None:
    me = _first(handset.allowed)
    rules = [
        rule(handset.jpki, me, filters("00A40200/FFFFFF00")),
        rule(handset.jpki, me, filters("00B00000/FFFF0000")),
    ]
    with handset.rules(rules):
        channel = handset.open(handset.allowed)
        assert channel is not None
        assert channel.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00", "the first rule's filter was lost"
        assert channel.transmit(bytes.fromhex("00B0000020"))[-2] != 0x69, "the second rule's filter was lost"
        with raises(omapi.SecurityError, "VERIFY under joined SELECT/READ filters"):
            channel.transmit(bytes.fromhex("0020008000"))


@pytest.mark.requirement("HS-MERGE-03")
@pytest.mark.effects("access-rules")
def test_filters_restrict_always(handset: HandsetUnderTest) -> None:
    # "APDU (NEVER) > APDU (Filter) > APDU (ALWAYS)": ALWAYS and a filter rule of one REF-DO give the filter,
    # in either order (SEAC v1.1 Annex G; AOSP AccessRuleCache.putWithMerge keeps the filters either way).
    me = _first(handset.allowed)
    always = rule(handset.jpki, me, "always")
    only_select = rule(handset.jpki, me, filters("00A40200/FFFFFF00"))
    for rules, order in (([always, only_select], "after"), ([only_select, always], "before")):
        with handset.rules(rules):
            channel = handset.open(handset.allowed)
            assert channel is not None
            assert channel.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00"
            with raises(omapi.SecurityError, f"READ BINARY outside the filter merged {order} ALWAYS"):
                channel.transmit(bytes.fromhex("00B0000020"))


@pytest.mark.requirement("HS-MERGE-04")
@pytest.mark.effects("access-rules")
def test_missing_apdu_rule_in_a_merge(handset: HandsetUnderTest) -> None:
    # From API 30 a rule without APDU-AR-DO is resolved after merging: with an ALWAYS rule of the same REF-DO
    # the app's commands pass; until API 29 that rule denies the REF-DO's commands. Alone it always denies.
    me = _first(handset.allowed)
    with handset.rules([rule(handset.jpki, me, None, nfc=True)]):
        assert not handset.can_open(handset.allowed), "a rule without APDU-AR-DO gave APDU access"
    with handset.rules([rule(handset.jpki, me, None, nfc=True), rule(handset.jpki, me, "always")]):
        try:
            channel = handset.open(handset.allowed)
        except omapi.SecurityError:
            channel = None
        if handset.android.missing_attributes_after_merge:
            assert channel is not None, "an ALWAYS rule merged with a rule without APDU-AR-DO was denied"
            assert channel.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00"
        else:
            assert channel is not None, f"API {handset.android.api} opens the channel (APDU ALWAYS merged)"
            with raises(omapi.SecurityError, f"transmit on API {handset.android.api} (access DENIED merged)"):
                channel.transmit(SELECT_EF_TOKEN_INFO)


@pytest.mark.requirement("HS-PKG-01")
@pytest.mark.effects("access-rules")
def test_pkg_ref_do_with_aid(handset: HandsetUnderTest) -> None:
    # AOSP gpac/REF_DO: AID + hash + PKG-REF-DO is an error from API 30 (no rule is usable); before, the
    # PKG-REF-DO is skipped.
    me = handset.allowed
    rules = [rule(handset.jpki, _first(me), "always", pkg=me.package or "jp.jpkikit.app.jpki"),
             rule(t.CTS_SELECTABLE, b"", "always")]  # fmt: skip
    with handset.rules(rules):
        if handset.android.pkg_with_aid_is_error:
            assert not handset.can_open(me), (
                f"API {handset.android.api} used a rule with AID, hash and PKG-REF-DO"
            )
            assert not handset.can_open(me, t.CTS_SELECTABLE), (
                "the rules holding an AID + hash + PKG-REF-DO rule were partly used"
            )
        else:
            assert handset.can_open(me), f"API {handset.android.api} did not skip the PKG-REF-DO"


@pytest.mark.requirement("HS-REF-01")
@pytest.mark.effects("access-rules")
def test_rules_refresh_after_update(handset: HandsetUnderTest) -> None:
    allowed, denied = handset.allowed, handset.denied
    assert handset.can_open(allowed), "the allowed app was denied under the profile's rules"
    handset.store_rules([rule(handset.jpki, _first(denied), "always")])
    with raises(omapi.SecurityError, "the allowed app after the rules were replaced"):
        handset.open(allowed)
    assert handset.can_open(denied), "the newly allowed app is still denied: rules not re-read"
    handset.restore_rules()
    assert handset.can_open(allowed), "the restored rules were not re-read"


@pytest.mark.requirement("HS-REF-02")
def test_rules_read_once_per_refresh_tag(handset: HandsetUnderTest) -> None:
    # AOSP AraController.initialize: the refresh tag before every open, all rules only when it changed.
    assert handset.can_open(handset.allowed)
    handset.client.clear_se_trace()
    for _ in range(3):
        assert handset.can_open(handset.allowed)
    trace = handset.trace()
    tags = [c for c in trace if c[0] & 0x80 and c[1:4] == bytes.fromhex("CADF20")]
    reads = [c for c in trace if c[0] & 0x80 and c[1:4] in (bytes.fromhex("CAFF40"), bytes.fromhex("CAFF60"))]
    if handset.claims.access_rules == "aram":
        assert len(tags) >= 3, (
            f"{len(tags)} GET DATA [Refresh tag] for 3 opens: the refresh tag was not checked"
        )
        assert not reads, f"the rules were read again {len(reads)} times although the refresh tag stayed"
    else:
        acrf = [c for c in trace if c[1:5] == bytes.fromhex("A4000402") and c[5:7] == bytes.fromhex("4310")]
        assert not acrf, "EF ACRF was read again although the ACMF refresh tag stayed"
