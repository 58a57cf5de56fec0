"""The SE's ARA-M answers GET DATA for the rules the profile declares (docs/spec/globalplatform.md, "ARA-M
commands" and "Access rule data objects")."""

from __future__ import annotations

import pytest

from jpkikit.errors import Inconclusive
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one

from .aram import (
    admin_session,
    declared,
    extra_rule,
    get_data,
    read_all,
    refresh_tag,
    rules_of,
    same_rules,
    select_aram,
    store,
)

CHUNK = 32
#: A rule set of more than this many bytes needs [Next] even at Le = 256, and at least ten 32-byte chunks.
LONG = 300


def _shown(rules: list[seac.Rule]) -> str:
    return ", ".join(f"{seac.rule_to_json(r)}" for r in rules) or "none"


@pytest.mark.requirement("ARAM-ALL-01")
def test_get_data_all_returns_the_declared_rules(card, profile) -> None:
    channel = select_aram(card, profile)
    rules = rules_of(read_all(card, channel))
    expected = declared(profile)
    missing = [r for r in expected if r not in rules]
    extra = [r for r in rules if r not in expected]
    assert same_rules(rules, expected), (
        f"GET DATA [All] rules differ from ics.aram.rules ({len(rules)} read, {len(expected)} declared); "
        f"missing: {_shown(missing)}; not declared: {_shown(extra)}"
    )


@pytest.mark.requirement("ARAM-NEXT-01")
@pytest.mark.effects("access-rules")
def test_long_rule_set_comes_in_chunks(card, profile) -> None:
    """Reads a rule set of more than LONG bytes in 32-byte chunks. Where the declared rules are shorter and
    ics.aram.store_data is claimed, the test stores rules of its own until the set is long enough (and
    deletes them again); where it cannot and the declared set fits in one chunk, it cannot decide."""
    channel = select_aram(card, profile)
    whole = read_all(card, channel)
    added: list[seac.Rule] = []
    sc = admin = None
    try:
        if len(whole) <= LONG and profile.ics.aram.store_data:
            sc, admin = admin_session(card, profile)
            while len(whole) <= LONG:
                rule = extra_rule(profile, len(added))
                r = store(sc, admin, Tlv(seac.T_CMD_STORE, rule.encode()))
                assert r.sw == 0x9000, f"STORE DATA F0 of a rule to lengthen the rule set answered {r}"
                added.append(rule)
                whole = read_all(card, channel)
        elif len(whole) <= CHUNK:
            raise Inconclusive(
                f"the declared rule set is {len(whole)} bytes, no longer than one {CHUNK}-byte chunk, and "
                "ics.aram.store_data is false: the kit cannot make the ARA-M answer GET DATA [Next]"
            )
        chunked = read_all(card, channel, le=CHUNK)
        assert chunked == whole, (
            f"the rules read in {CHUNK}-byte chunks ({len(chunked)} bytes) differ from the rules read at "
            f"once ({len(whole)} bytes)"
        )
        assert same_rules(rules_of(chunked), [*declared(profile), *added]), (
            "the rules read in chunks are not the declared rules plus the ones the test stored"
        )
    finally:
        if added and sc is not None:
            for rule in added:
                store(sc, admin, Tlv(seac.T_CMD_DELETE, rule.encode()))


@pytest.mark.requirement("ARAM-SPEC-01")
def test_get_data_specific(card, profile) -> None:
    channel = select_aram(card, profile)
    for rule in declared(profile):
        r = get_data(card, channel, seac.T_SPECIFIC, data=rule.ref.encode())
        assert r.ok, f"GET DATA [Specific] for {seac.rule_to_json(rule)} answered {r}"
        tlv, _ = decode_one(r.data)
        assert tlv.tag == seac.T_SPECIFIC and tlv.value == rule.ar.encode(), (
            f"GET DATA [Specific] answered {r.data.hex().upper()}, expected FF50 {{{rule.ar.encode().hex()}}}"
        )
    nobody = [seac.RefDo(profile.ixit.aids.jpki, bytes(20))]
    # a declared rule's hash with its last byte changed: the whole hash is compared
    hashed = next((r for r in declared(profile) if r.ref.hash), None)
    if hashed is not None:
        changed = hashed.ref.hash[:-1] + bytes((hashed.ref.hash[-1] ^ 0x01,))
        nobody.append(seac.RefDo(hashed.ref.aid, changed, hashed.ref.pkg))
    for ref in nobody:
        r = get_data(card, channel, seac.T_SPECIFIC, data=ref.encode())
        assert r.sw == 0x6A88 or (r.ok and r.data == Tlv(seac.T_SPECIFIC, b"").encode()), (
            f"GET DATA [Specific] for a REF-DO without a rule (hash {ref.hash.hex().upper()}) answered {r}, "
            "expected FF50 00 or 6A88"
        )


@pytest.mark.requirement("ARAM-REF-01")
def test_refresh_tag_is_stable(card, profile) -> None:
    channel = select_aram(card, profile)
    first = refresh_tag(card, channel)
    read_all(card, channel)
    assert refresh_tag(card, channel) == first, "the refresh tag changed although the rules did not"
    if profile.ics.iso7816.logical_channels > 2:
        other = select_aram(card, profile)
        assert refresh_tag(card, other) == first, (
            f"the refresh tag read on logical channel {other} differs from the one on channel {channel}"
        )
    card.reset(cold=True)
    channel = select_aram(card, profile)
    assert refresh_tag(card, channel) == first, "the refresh tag changed across a power cycle"


@pytest.mark.requirement("ARAM-CFG-01")
def test_config(card, profile) -> None:
    channel = select_aram(card, profile)
    device = Tlv(seac.T_DEVICE_CONFIG, Tlv(seac.T_VERSION, b"\x01\x01\x00").encode()).encode()
    r = get_data(card, channel, seac.T_CONFIG, data=device)
    assert r.ok, f"GET DATA [Config] answered {r}"
    outer, end = decode_one(r.data)
    assert outer.tag == seac.T_CONFIG and end == len(r.data), f"not DF21: {r.data.hex().upper()}"
    e5, end = decode_one(outer.value)  # DF21 is primitive by BER coding; its value is E5 (SEAC v1.1 [Config])
    assert e5.tag == seac.T_ARAM_CONFIG and end == len(outer.value), f"DF21 does not hold E5: {r.data.hex()}"
    version = e5.find(seac.T_VERSION)
    assert version is not None and len(version.value) == 3, f"E5 does not hold E6 03: {e5}"
