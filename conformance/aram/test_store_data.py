"""Rules added and removed with STORE DATA through the issuer's secure channel (SEAC v1.1 Table 5-1;
docs/spec/globalplatform.md#store-data-to-the-ara-m). Key sets come from ixit.gp.keysets; the ARA-M uses the
ISD's secure channel."""

from __future__ import annotations

import pytest

from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.tlv import Tlv

from ..gp.gp import keyset
from .aram import declared, read_all, refresh_tag, rules_of, same_rules, select_aram, store


def _extra_rule(profile) -> seac.Rule:
    """A rule the declared set does not hold: the JPKI AID for an app whose hash is 20 bytes of 5A."""
    return seac.Rule(seac.RefDo(profile.ixit.aids.jpki, b"\x5a" * 20), seac.ArDo("never", False))


@pytest.mark.requirement("ARAM-STO-01")
@pytest.mark.effects("access-rules")
def test_store_data_adds_and_removes_a_rule(card, profile) -> None:
    channel = select_aram(card, profile)  # reads here, plain
    admin = select_aram(card, profile)  # STORE DATA here, in the SCP03 session
    before = refresh_tag(card, channel)
    extra = _extra_rule(profile)
    sc = Scp03Layer(card.transport, keyset(profile).keys, channel=admin)
    sc.open(0x01)
    r = store(sc, admin, Tlv(seac.T_CMD_STORE, extra.encode()))
    assert r.ok, f"STORE DATA F0 (store rule) answered {r}"
    try:
        added = refresh_tag(card, channel)
        assert same_rules(rules_of(read_all(card, channel)), [*declared(profile), extra]), (
            "GET DATA [All] after STORE DATA does not hold the declared rules plus the stored one"
        )
        assert added != before, "the refresh tag did not change when a rule was stored"
    finally:
        r = store(sc, admin, Tlv(seac.T_CMD_DELETE, extra.encode()))
    assert r.ok, f"STORE DATA F1 (delete rule) answered {r}"
    assert same_rules(rules_of(read_all(card, channel)), declared(profile)), "the rule was not removed"
    removed = refresh_tag(card, channel)
    assert removed not in (before, added), "the refresh tag did not change when a rule was deleted"


@pytest.mark.requirement("ARAM-STO-02")
@pytest.mark.effects("access-rules")
def test_store_data_needs_the_secure_channel(card, profile) -> None:
    channel = select_aram(card, profile)
    before_tag, before_rules = refresh_tag(card, channel), read_all(card, channel)
    r = card.send(
        0x80, 0xE2, 0x90, 0x00, Tlv(seac.T_CMD_STORE, _extra_rule(profile).encode()).encode(), channel=channel
    )
    assert r.sw1 in (0x69, 0x6A), f"STORE DATA without a secure channel answered {r}"
    assert read_all(card, channel) == before_rules, "the rules changed without a secure channel"
    assert refresh_tag(card, channel) == before_tag, "the refresh tag changed without a secure channel"
