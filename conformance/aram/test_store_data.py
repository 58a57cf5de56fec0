"""Rules added and removed with STORE DATA through the issuer's secure channel (SEAC v1.1 Table 5-1;
docs/spec/globalplatform.md#store-data-to-the-ara-m). Key sets come from ixit.gp.keysets; the ARA-M uses the
ISD's secure channel."""

from __future__ import annotations

import pytest

from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.tlv import Tlv

from .aram import (
    admin_session,
    declared,
    extra_rule,
    read_all,
    refresh_tag,
    rules_of,
    same_rules,
    select_aram,
    store,
)


@pytest.mark.requirement("ARAM-STO-01")
@pytest.mark.effects("access-rules")
def test_store_data_adds_and_removes_a_rule(card, profile) -> None:
    channel = select_aram(card, profile)  # reads here, plain
    before = refresh_tag(card, channel)
    extra = extra_rule(profile)
    sc, admin = admin_session(card, profile)  # STORE DATA here, in the SCP03 session
    r = store(sc, admin, Tlv(seac.T_CMD_STORE, extra.encode()))
    assert r.sw == 0x9000, f"STORE DATA F0 (store rule) answered {r}"
    try:
        added = refresh_tag(card, channel)
        assert same_rules(rules_of(read_all(card, channel)), [*declared(profile), extra]), (
            "GET DATA [All] after STORE DATA does not hold the declared rules plus the stored one"
        )
        assert added != before, "the refresh tag did not change when a rule was stored"
        card.reset(cold=True)  # the rules live in persistent memory, the refresh tag with them
        channel = select_aram(card, profile)
        assert same_rules(rules_of(read_all(card, channel)), [*declared(profile), extra]), (
            "after a power cycle GET DATA [All] no longer holds the stored rule"
        )
        assert refresh_tag(card, channel) == added, "the refresh tag changed across a power cycle"
    finally:
        sc, admin = admin_session(card, profile)
        r = store(sc, admin, Tlv(seac.T_CMD_DELETE, extra.encode()))
    assert r.sw == 0x9000, f"STORE DATA F1 (delete rule) answered {r}"
    after = rules_of(read_all(card, channel))
    assert extra not in after, "STORE DATA F1 answered 9000 but the rule was not removed"
    assert same_rules(after, declared(profile)), (
        "after STORE DATA F1 of the stored rule GET DATA [All] does not equal ics.aram.rules"
    )
    removed = refresh_tag(card, channel)
    assert removed not in (before, added), "the refresh tag did not change when a rule was deleted"


@pytest.mark.requirement("ARAM-STO-02")
@pytest.mark.effects("access-rules")
def test_store_data_needs_the_secure_channel(card, profile) -> None:
    channel = select_aram(card, profile)
    before_tag, before_rules = refresh_tag(card, channel), read_all(card, channel)
    command = Tlv(seac.T_CMD_STORE, extra_rule(profile).encode()).encode()
    r = card.send(0x80, 0xE2, 0x90, 0x00, command, channel=channel)
    assert r.sw == 0x6982, (
        f"STORE DATA without a secure channel answered {r}; 6982 expected (SEAC v1.1, security status not "
        "satisfied)"
    )
    if profile.ics.iso7816.logical_channels > 2:
        # a session belongs to its logical channel (Amd D §5.6): one on another channel authorises nothing
        _, admin = admin_session(card, profile)
        r = card.send(0x80, 0xE2, 0x90, 0x00, command, channel=channel)
        assert r.sw == 0x6982, (
            f"STORE DATA on channel {channel}, with an SCP03 session open on channel {admin} only, answered "
            f"{r}; 6982 expected"
        )
    assert read_all(card, channel) == before_rules, "the rules changed without a secure channel"
    assert refresh_tag(card, channel) == before_tag, "the refresh tag changed without a secure channel"
