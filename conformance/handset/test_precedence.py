"""Rule precedence of the Access Control Enforcer, one test per step of SEAC v1.0 §4.2.3 as
docs/spec/globalplatform.md#rule-resolution-on-the-device lists them, and rule refresh. Each test installs
its rule set through the test bed (testbed.store_rules) and restores ics.aram.rules afterwards."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import errors as omapi

from .support import HandsetUnderTest, rule

ALL = "all"


def _first(hashes: tuple[bytes, ...]) -> bytes:
    return hashes[0]


@pytest.mark.requirement("HS-ACE-A")
@pytest.mark.effects("access-rules")
def test_exact_rule_beats_aid_all_apps(handset: HandsetUnderTest) -> None:
    app = _first(handset.allowed)
    with handset.rules([rule(handset.jpki, app, "always"), rule(handset.jpki, b"", "never")]):
        assert handset.can_open([app]), "rule A (AID, app hash) ALWAYS lost to (AID, all apps) NEVER"


@pytest.mark.requirement("HS-ACE-AID-NEVER")
@pytest.mark.effects("access-rules")
def test_specific_aid_with_other_hash_means_never(handset: HandsetUnderTest) -> None:
    other, me = _first(handset.allowed), _first(handset.denied)
    with handset.rules([rule(handset.jpki, other, "always"), rule(ALL, b"", "always")]):
        assert not handset.can_open([me]), "an app not named by the AID's specific rules was let in"


@pytest.mark.requirement("HS-ACE-B")
@pytest.mark.effects("access-rules")
def test_aid_all_apps_beats_all_aids_hash(handset: HandsetUnderTest) -> None:
    me = _first(handset.denied)
    with handset.rules([rule(handset.jpki, b"", "always"), rule(ALL, me, "never")]):
        assert handset.can_open([me]), "rule B (AID, all apps) ALWAYS lost to (all AIDs, app hash) NEVER"


@pytest.mark.requirement("HS-ACE-C")
@pytest.mark.effects("access-rules")
def test_all_aids_hash_beats_all_all(handset: HandsetUnderTest) -> None:
    me = _first(handset.allowed)
    with handset.rules([rule(ALL, me, "always"), rule(ALL, b"", "never")]):
        assert handset.can_open([me]), "rule C (all AIDs, app hash) ALWAYS lost to (all AIDs, all apps) NEVER"


@pytest.mark.requirement("HS-ACE-ALL-NEVER")
@pytest.mark.effects("access-rules")
def test_all_aids_with_other_hash_means_never(handset: HandsetUnderTest) -> None:
    other, me = _first(handset.allowed), _first(handset.denied)
    with handset.rules([rule(ALL, other, "always"), rule(ALL, b"", "always")]):
        assert not handset.can_open([me]), "an app not named by the all-AIDs rules was let in by rule D"


@pytest.mark.requirement("HS-ACE-D")
@pytest.mark.effects("access-rules")
def test_all_aids_all_apps(handset: HandsetUnderTest) -> None:
    with handset.rules([rule(ALL, b"", "always")]):
        assert handset.can_open([_first(handset.denied)]), "rule D (all AIDs, all apps) was not applied"


@pytest.mark.requirement("HS-ACE-NONE")
@pytest.mark.effects("access-rules")
def test_no_matching_rule_denies(handset: HandsetUnderTest) -> None:
    with handset.rules([rule(handset.absent, b"", "always")]):
        assert not handset.can_open([_first(handset.allowed)]), "access granted with no rule for the AID"


@pytest.mark.requirement("HS-REF-01")
@pytest.mark.effects("access-rules")
def test_rules_refresh_after_update(handset: HandsetUnderTest) -> None:
    allowed, denied = handset.allowed, handset.denied
    assert handset.can_open(allowed), "the allowed app was denied under the profile's rules"
    handset.store_rules([rule(handset.jpki, _first(denied), "always")])
    with pytest.raises(omapi.SecurityError):
        handset.open(allowed)
    assert handset.can_open(denied), "the newly allowed app is still denied: rules not re-read"
    handset.restore_rules()
    assert handset.can_open(allowed), "the restored rules were not re-read"
