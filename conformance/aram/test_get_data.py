"""The SE's ARA-M answers GET DATA for the rules the profile declares (docs/spec/globalplatform.md, "ARA-M
commands" and "Access rule data objects")."""

from __future__ import annotations

import pytest

from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one

from .aram import declared, get_data, read_all, refresh_tag, rules_of, same_rules, select_aram

CHUNK = 32


@pytest.mark.requirement("ARAM-ALL-01")
def test_get_data_all_returns_the_declared_rules(card, profile) -> None:
    channel = select_aram(card, profile)
    rules = rules_of(read_all(card, channel))
    expected = declared(profile)
    assert same_rules(rules, expected), (
        f"ARA-M rules {[seac.rule_to_json(r) for r in rules]} differ from ics.aram.rules "
        f"{[seac.rule_to_json(r) for r in expected]}"
    )


@pytest.mark.requirement("ARAM-NEXT-01")
def test_long_rule_set_comes_in_chunks(card, profile) -> None:
    channel = select_aram(card, profile)
    whole = read_all(card, channel)
    chunked = read_all(card, channel, le=CHUNK)
    assert chunked == whole, "the rules read in 32-byte chunks differ from the rules read at once"


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
    nobody = seac.RefDo(profile.ixit.aids.jpki, bytes(20))
    r = get_data(card, channel, seac.T_SPECIFIC, data=nobody.encode())
    assert r.sw == 0x6A88 or (r.ok and r.data == Tlv(seac.T_SPECIFIC, b"").encode()), (
        f"GET DATA [Specific] for a REF-DO without a rule answered {r}, expected FF50 00 or 6A88"
    )


@pytest.mark.requirement("ARAM-REF-01")
def test_refresh_tag_is_stable(card, profile) -> None:
    channel = select_aram(card, profile)
    first = refresh_tag(card, channel)
    read_all(card, channel)
    assert refresh_tag(card, channel) == first, "the refresh tag changed although the rules did not"


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
