"""Where the handset's ACE takes its rules from and what it does when they cannot be read (AOSP
AccessControlEnforcer.initialize, ara/AraController.java, ara/AccessRuleApplet.java, arf/ArfController.java):
an ARA-M without refresh tag, without rules, with rules that do not parse or whose [Next] fails; no ARA-M on
an
eSE (full access until API 29, deny from API 30); a UICC's PKCS#15 ARF (seed 000 p.60, 課題⑥), the ARA-M
before
the ARF, neither. The test bed sets the SE up and resets it, so the ACE reads its rules again."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import test_applets as t

from .support import HandsetUnderTest, rule


@pytest.mark.requirement("HS-ARAM-BAD")
@pytest.mark.effects("access-rules")
@pytest.mark.parametrize("fault", ["no-refresh-tag", "malformed-rules", "next-error"])
def test_unusable_aram_denies_everything(handset: HandsetUnderTest, fault: str) -> None:
    with handset.se_state(fault=fault):
        assert not handset.can_open(handset.allowed), f"the allowed app was let in by an ARA-M with {fault}"
        assert not handset.can_open(handset.allowed, t.CTS_SELECTABLE), (
            f"an ARA-M with {fault} still opened the applet every app may use"
        )
    assert handset.can_open(handset.allowed), "after the SE was put back the allowed app stayed denied"


@pytest.mark.requirement("HS-ARAM-EMPTY")
@pytest.mark.effects("access-rules")
def test_aram_without_rules_denies(handset: HandsetUnderTest) -> None:
    # GET DATA [All] answering 6A88: no rules, every app denied.
    with handset.se_state(fault="no-rules"):
        assert not handset.can_open(handset.allowed), "an ARA-M without rules let the allowed app in"


@pytest.mark.requirement("HS-ARAM-ABSENT")
@pytest.mark.effects("access-rules")
def test_ese_without_aram(handset: HandsetUnderTest) -> None:
    with handset.se_state(rule_sources=False):
        granted = handset.can_open(handset.denied)
        if handset.android.ese_full_access_without_rules:
            assert granted, f"an eSE without ARA-M gave no full access on API {handset.android.api}"
        else:
            assert not granted, f"an eSE without ARA-M let an unnamed app in on API {handset.android.api}"


@pytest.mark.requirement("HS-ARF-01")
def test_uicc_rules_from_arf(handset: HandsetUnderTest) -> None:
    # A UICC without ARA-M: the ACE applies the rules of its ARF (the profile's rules are there).
    assert handset.can_open(handset.allowed), "the ARF's rules did not let the allowed app in"
    assert not handset.can_open(handset.denied), "the ARF's rules let the denied app in"
    assert handset.filtered_app is not None
    channel = handset.open(handset.filtered_app)
    assert channel is not None, "the ARF's filter rule gave the filtered app no channel"


@pytest.mark.requirement("HS-ARF-02")
@pytest.mark.effects("access-rules")
def test_arf_refresh(handset: HandsetUnderTest) -> None:
    # The ACMF refresh tag changes with the ARF's rules; the ACE reads EF ACRF and the ACCFs again.
    assert handset.can_open(handset.allowed)
    with handset.rules([rule(handset.jpki, handset.denied.hashes[0], "always")]):
        assert handset.can_open(handset.denied), "the ARF's new rules were not read (ACMF refresh tag)"
        assert not handset.can_open(handset.allowed), "the ARF's old rules stayed in force"


@pytest.mark.requirement("HS-ARF-ARA-FIRST")
@pytest.mark.effects("access-rules")
def test_aram_before_arf(handset: HandsetUnderTest) -> None:
    # A UICC with an ARA-M: its rules decide (the test bed changes the ARA-M's, the ARF keeps the profile's).
    with handset.rules([rule(handset.jpki, handset.denied.hashes[0], "always")]):
        assert handset.can_open(handset.denied), "the ARA-M's rules were not applied on the UICC"
        assert not handset.can_open(handset.allowed), (
            "the ARF's rules were applied although the UICC has an ARA-M"
        )


@pytest.mark.requirement("HS-ARF-NONE")
@pytest.mark.effects("access-rules")
def test_uicc_without_rules(handset: HandsetUnderTest) -> None:
    with handset.se_state(rule_sources=False):
        assert not handset.can_open(handset.allowed), (
            "a UICC with neither ARA-M nor ARF let the allowed app in"
        )
        assert not handset.can_open(handset.denied), "a UICC with neither ARA-M nor ARF let an app in"
