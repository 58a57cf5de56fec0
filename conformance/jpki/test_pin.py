"""PIN behaviour of the JPKI application: retry query, VERIFY, blocking, security state, CHANGE REFERENCE
DATA (docs/spec/jpki-applet.md: "Commands", "Status words", "PIN rules", "PIN states and blocking", "Security
state"). Try limits and rules come from ics.jpki.auth_pin / sign_pin, values from ixit.secrets; every test
leaves both PINs at their profile value with full counters (support.restore)."""

from __future__ import annotations

import warnings

import pytest

from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW, retries_left
from jpkikit.vocab.jpki.card import AUTH, PAIRS, SIGN, KeyPair

from ..provisioning.support import reset_pin
from .support import other_value, pin, restore, rule_breakers, rules

PAIR_IDS = [p.name for p in PAIRS]


def _query(jpki: JpkiClient, pair: KeyPair) -> int:
    r = jpki.retry_query(pair.pin_ef)
    left = retries_left(r.sw)
    assert left is not None and not r.data, f"the {pair.name} PIN retry query (00 20 00 80) answered {r}"
    return left


def _full(jpki: JpkiClient, profile, pair: KeyPair) -> int:
    """Verify the right PIN (resets the counter), re-select (clears the state); the claimed maximum."""
    assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the right {pair.name} PIN failed"
    assert jpki.select_ap().ok
    return rules(profile, pair).tries


@pytest.mark.requirement("JPKI-PIN-01")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_retry_query_reports_tries_and_spends_none(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    maximum = _full(jpki, profile, pair)
    for _ in range(maximum + 1):
        left = _query(jpki, pair)
        assert left == maximum, f"{pair.name} PIN: query answered 63C{left:X}, the ICS claims {maximum} tries"
    if maximum >= 2:
        r = jpki.verify(pair.pin_ef, other_value(pin(profile, pair), rules(profile, pair)))
        assert retries_left(r.sw) == maximum - 1, f"{pair.name} PIN: a wrong VERIFY answered {r}"
        for _ in range(maximum + 1):
            assert _query(jpki, pair) == maximum - 1, f"{pair.name} PIN: the query spent an attempt"


@pytest.mark.requirement("JPKI-PIN-02")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_retry_query_with_le_answers_6700(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    maximum = _full(jpki, profile, pair)
    assert jpki.select_ef(pair.pin_ef).ok
    r = jpki.send(0x00, 0x20, 0x00, 0x80, ne=256)  # 00 20 00 80 00
    assert r.sw == SW.WRONG_LENGTH and not r.data, f"{pair.name} PIN: 00 20 00 80 00 answered {r}"
    assert _query(jpki, pair) == maximum, f"{pair.name} PIN: 00 20 00 80 00 spent an attempt"


@pytest.mark.requirement("JPKI-PIN-03")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_wrong_verify_costs_one_try_and_right_restores(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    maximum = _full(jpki, profile, pair)
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    wrong = [other_value(right, pin_rules, step) for step in (1, 2, 3)]
    lowered = right.derive("lowercase", str.lower)
    if lowered != right:
        wrong.insert(0, lowered)  # bytes are compared as sent: lowercase is a wrong value (PIN rules)
    expected = maximum
    for value in wrong[: maximum - 1]:  # never the last try: the shared card must not block
        r = jpki.verify(pair.pin_ef, value)
        expected -= 1
        assert retries_left(r.sw) == expected and not r.data, (
            f"{pair.name} PIN: wrong VERIFY {maximum - expected} answered {r}, expected 63C{expected:X}"
        )
        assert _query(jpki, pair) == expected
    r = jpki.verify(pair.pin_ef, right)
    assert r.sw == SW.OK and not r.data, f"{pair.name} PIN: right VERIFY answered {r}"
    assert jpki.select_ap().ok
    assert _query(jpki, pair) == maximum, f"{pair.name} PIN: a right VERIFY did not reset the counter"


@pytest.mark.requirement("JPKI-PIN-04")
@pytest.mark.effects("pin-block", renewable=True)
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_exhausted_pin_blocks_with_63c0_then_6984(card, profile, fresh_card, pair: KeyPair) -> None:
    """Blocks a PIN: on a new card where the kit can renew one, else on a unit whose profile allows it (the
    safety kernel does not run it anywhere else). Blocking cannot be undone over the card interface."""
    session = fresh_card() if fresh_card is not None else card
    try:
        jpki = JpkiClient(session, profile.ixit.aids.jpki)
        assert jpki.select_ap().ok
        maximum = rules(profile, pair).tries
        right = pin(profile, pair)
        wrong = other_value(right, rules(profile, pair))
        for left in range(maximum - 1, -1, -1):
            r = jpki.verify(pair.pin_ef, wrong)
            assert r.sw == 0x63C0 | left, f"{pair.name} PIN: wrong VERIFY answered {r}, expected 63C{left:X}"
        for value in (right, wrong, right):
            r = jpki.verify(pair.pin_ef, value)
            assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
                f"{pair.name} PIN blocked: VERIFY answered {r}, not 6984"
            )
            assert _query(jpki, pair) == 0, f"{pair.name} PIN blocked: the query must keep answering 63C0"
        assert jpki.select_ap().ok
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, f"blocked {pair.name} key signed: {r}"
        other = SIGN if pair is AUTH else AUTH
        assert jpki.verify(other.pin_ef, pin(profile, other)).ok, f"blocking {pair.name} blocked {other.name}"
    finally:
        if session is not card:
            session.close()
        elif not reset_pin(card, profile, pair.name):  # the unit itself: put the PIN back where it can be
            message = f"the {pair.name} PIN of the unit stays blocked (no provisioning command set)"
            warnings.warn(message, stacklevel=1)


@pytest.mark.requirement("JPKI-PIN-05")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_reselect_and_reset_clear_the_verified_state(jpki: JpkiClient, card, profile, pair: KeyPair) -> None:
    def verified_sign() -> None:
        assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.ok, f"{pair.name} key: signing right after VERIFY answered {r}"

    verified_sign()
    assert jpki.select_ap().ok
    r = jpki.sign(pair.key_ef, b"\x01")
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"{pair.name} key after re-SELECT of the AP signed: {r}"
    if pair is SIGN:
        assert jpki.verify(SIGN.pin_ef, pin(profile, SIGN)).ok
        assert jpki.select_ap().ok
        assert jpki.select_ef(SIGN.cert_ef).ok
        r = jpki.read(0, 4)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"EF 0001 after re-SELECT answered {r}"
    verified_sign()
    card.reset()
    assert jpki.select_ap().ok
    r = jpki.sign(pair.key_ef, b"\x01")
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"{pair.name} key after a reset signed: {r}"


@pytest.mark.requirement("JPKI-PIN-06")
@pytest.mark.effects("pin-change")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_change_reference_data_only_after_verify(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    """Changes the PIN to a value derived from the profile's (its last character shifted) and back.
    Should a failure stop it half-way, the PIN is that derived value; the teardown tries it."""
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    new = other_value(right, pin_rules)
    try:
        maximum = _full(jpki, profile, pair)
        r = jpki.change(pair.pin_ef, new)
        assert r.sw != SW.OK, f"{pair.name} PIN: CHANGE REFERENCE DATA without VERIFY was accepted ({r})"
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: VERIFY failed"
        r = jpki.change(pair.pin_ef, new)
        assert r.sw == SW.OK, f"{pair.name} PIN: CHANGE REFERENCE DATA after VERIFY answered {r}"
        assert jpki.select_ap().ok
        r = jpki.verify(pair.pin_ef, right)
        assert retries_left(r.sw) == maximum - 1, f"{pair.name} PIN: the old value after CHANGE answered {r}"
        assert jpki.verify(pair.pin_ef, new).ok, f"{pair.name} PIN: the new value does not verify"
        assert jpki.change(pair.pin_ef, right).ok, f"{pair.name} PIN: changing back failed"
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: the restored value does not verify"
    finally:
        restore(jpki, profile, {pair.name: [new]})


@pytest.mark.requirement("JPKI-PIN-07")
@pytest.mark.effects("pin-change")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_change_refuses_values_outside_the_rules(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    breakers = rule_breakers(right, pin_rules)
    try:
        for why, value in breakers.items():
            assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: VERIFY failed"
            r = jpki.change(pair.pin_ef, value)
            assert r.sw != SW.OK, f"{pair.name} PIN: CHANGE to a value {why} was accepted ({r})"
        assert jpki.select_ap().ok
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: the old value no longer verifies"
    finally:
        restore(jpki, profile, {pair.name: list(breakers.values())})


@pytest.mark.requirement("JPKI-PIN-08")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_verify_longer_than_16_bytes_answers_6700(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    maximum = _full(jpki, profile, pair)
    right = pin(profile, pair)
    r = jpki.verify(pair.pin_ef, right.derive("17 bytes", lambda v: (v * 17)[:17]))
    assert r.sw == SW.WRONG_LENGTH, f"{pair.name} PIN: VERIFY with 17 bytes answered {r}, expected 6700"
    assert _query(jpki, pair) == maximum, f"{pair.name} PIN: the over-long VERIFY spent an attempt"
