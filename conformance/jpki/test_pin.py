"""PIN behaviour of the JPKI application: retry query, VERIFY, blocking, security state, CHANGE REFERENCE
DATA (docs/spec/jpki-applet.md: "Commands", "Status words", "PIN rules", "PIN states and blocking", "Security
state"). Try limits and rules come from ics.jpki.auth_pin / sign_pin, values from ixit.secrets; every test
leaves both PINs at their profile value with full counters (support.restore).

A test never spends a PIN's last try on the unit. Where a claimed rule leaves nothing to spend (one try), the
part that would block the PIN runs on a new card where the kit can renew the implementation (``fresh_card``),
and is inconclusive, with the reason, where it cannot.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from jpkikit.errors import Inconclusive, ProfileError
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.secrets import Secret
from jpkikit.vocab.iso7816.sw import SW, retries_left
from jpkikit.vocab.jpki.applications import CARD_FACE_AID
from jpkikit.vocab.jpki.card import CHARSETS, MAX_PIN_BYTES, SIGN, KeyPair

from ..provisioning.support import reset_pin
from .support import PAIR_PARAMS, other_pair, other_value, pin, restore, rule_breakers, rules, said, shifted

#: A VERIFY value of a length or charset the rules do not allow may be refused before any comparison:
#: jpki-applet.md ("PIN rules") says the card compares bytes, and leaves open whether VERIFY checks the
#: format first. So such a value is either compared (63Cx, one try spent) or refused with 6700 (wrong
#: length) or 6A80 (wrong data, ISO/IEC 7816-4 status bytes) with no try spent; never 9000.
FORMAT_REFUSALS = (SW.WRONG_LENGTH, SW.WRONG_DATA)


def _query(jpki: JpkiClient, pair: KeyPair) -> int:
    r = jpki.retry_query(pair.pin_ef)
    left = retries_left(r.sw)
    assert left is not None and not r.data, (
        f"the {pair.name} PIN retry query (00 20 00 80) answered {said(r)}"
    )
    return left


def _full(jpki: JpkiClient, profile, pair: KeyPair) -> int:
    """Verify the right PIN (resets the counter), re-select (clears the state); the claimed maximum."""
    assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the right {pair.name} PIN failed"
    assert jpki.select_ap().ok
    return rules(profile, pair).tries


@contextmanager
def _new_card(profile, fresh_card: Callable[[], CardSession]) -> Iterator[tuple[JpkiClient, CardSession]]:
    session = fresh_card()
    try:
        client = JpkiClient(session, profile.ixit.aids.jpki)
        assert client.select_ap().ok, "SELECT of the JPKI application on a new card failed"
        yield client, session
    finally:
        session.close()


def _wrong_values(right: Secret, pin_rules: Any) -> list[tuple[str, Secret, bool]]:
    """Wrong values of the PIN, each with what it is and whether it breaks the rules: first those an inexact
    comparison would take for the PIN (its lowercase form, a prefix, the PIN with a byte more: the card
    compares bytes, PIN rules), then values of valid format one character away."""
    out: list[tuple[str, Secret, bool]] = []
    lowered = right.derive("lowercase", str.lower)
    if lowered != right:
        out.append(("its lowercase form", lowered, not pin_rules.allows(lowered.reveal())))
    if len(right) > 1:
        prefix = right.derive("without its last character", lambda v: v[:-1])
        out.append(("the PIN without its last character", prefix, not pin_rules.allows(prefix.reveal())))
    if len(right) < MAX_PIN_BYTES:
        extra = CHARSETS[pin_rules.charset][0]
        longer = right.derive("one more character", lambda v: v + extra)
        out.append(("the PIN with one more character", longer, not pin_rules.allows(longer.reveal())))
    for step in (1, 2, 3):
        out.append((f"a valid value one character away ({step})", other_value(right, pin_rules, step), False))
    return out


def _wrong_verify(
    jpki: JpkiClient, pair: KeyPair, n: int, what: str, value: Secret, odd: bool, left: int
) -> int:
    """Send wrong value ``n``; check the answer and return the tries left after it."""
    r = jpki.verify(pair.pin_ef, value)
    if odd and r.sw in FORMAT_REFUSALS:  # refused for its format: allowed, if it spent nothing
        assert _query(jpki, pair) == left, (
            f"{pair.name} PIN: VERIFY of {what} was refused ({said(r)}) but spent a try"
        )
        return left
    assert retries_left(r.sw) == left - 1 and not r.data, (
        f"{pair.name} PIN: wrong VERIFY {n} ({what}) answered {said(r)}, expected 63C{left - 1:X}"
    )
    return left - 1


@pytest.mark.requirement("JPKI-PIN-01")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_retry_query_reports_tries_and_spends_none(
    jpki: JpkiClient, profile, fresh_card, pair: KeyPair
) -> None:
    maximum = _full(jpki, profile, pair)
    for _ in range(maximum + 1):
        left = _query(jpki, pair)
        assert left == maximum, f"{pair.name} PIN: query answered 63C{left:X}, the ICS claims {maximum} tries"
    wrong = other_value(pin(profile, pair), rules(profile, pair))

    def drop(client: JpkiClient) -> None:  # x drops with a wrong VERIFY, and only with it
        r = client.verify(pair.pin_ef, wrong)
        assert retries_left(r.sw) == maximum - 1, f"{pair.name} PIN: a wrong VERIFY answered {said(r)}"
        for _ in range(maximum + 1):
            left = _query(client, pair)
            assert left == maximum - 1, (
                f"{pair.name} PIN: after one wrong VERIFY the query answered 63C{left:X}, "
                f"expected 63C{maximum - 1:X}"
            )

    if maximum >= 2:
        drop(jpki)
    elif fresh_card is not None:  # one try: the wrong VERIFY blocks the PIN, so on a new card only
        with _new_card(profile, fresh_card) as (client, _):
            drop(client)
    else:
        raise Inconclusive(
            f"the {pair.name} PIN has one try (ics.jpki.{pair.name}_pin.tries): the query spends nothing, "
            "but that a wrong VERIFY lowers it cannot be checked without blocking the unit's PIN"
        )


@pytest.mark.requirement("JPKI-PIN-02")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_retry_query_with_le_answers_6700(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    maximum = _full(jpki, profile, pair)
    assert jpki.select_ef(pair.pin_ef).ok
    r = jpki.send(0x00, 0x20, 0x00, 0x80, ne=256)  # 00 20 00 80 00
    assert r.sw == SW.WRONG_LENGTH and not r.data, f"{pair.name} PIN: 00 20 00 80 00 answered {said(r)}"
    assert _query(jpki, pair) == maximum, f"{pair.name} PIN: 00 20 00 80 00 spent an attempt"


def _persisted(jpki: JpkiClient, session: CardSession, pair: KeyPair, left: int) -> None:
    """The counter is persistent data (ISO/IEC 7816-4: the retry counter of the reference data): neither a
    warm reset nor a power cycle gives a try back (a counter kept in RAM would make a torn VERIFY free)."""
    for cold, what in ((False, "a warm reset"), (True, "a power cycle")):
        session.reset(cold=cold)
        assert jpki.select_ap().ok, f"SELECT of the JPKI application after {what} failed"
        found = _query(jpki, pair)
        assert found == left, (
            f"{pair.name} PIN: after {what} the query answered 63C{found:X}, expected 63C{left:X}"
        )


@pytest.mark.requirement("JPKI-PIN-03")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_wrong_verify_costs_one_try_and_right_restores(
    jpki: JpkiClient, card, profile, fresh_card, pair: KeyPair
) -> None:
    maximum = _full(jpki, profile, pair)
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    wrong = _wrong_values(right, pin_rules)
    left = maximum
    for n, (what, value, odd) in enumerate(wrong[: maximum - 1], 1):  # never the last try on the unit
        left = _wrong_verify(jpki, pair, n, what, value, odd, left)
        assert _query(jpki, pair) == left, f"{pair.name} PIN: the query disagrees with the last VERIFY"
    if maximum >= 2:
        _persisted(jpki, card, pair, left)
    r = jpki.verify(pair.pin_ef, right)
    assert r.sw == SW.OK and not r.data, f"{pair.name} PIN: right VERIFY answered {said(r)}"
    assert jpki.select_ap().ok
    assert _query(jpki, pair) == maximum, f"{pair.name} PIN: a right VERIFY did not reset the counter"
    if maximum >= 2:
        return
    # One try: every wrong value blocks the PIN, so each goes to a new card of its own.
    if fresh_card is None:
        raise Inconclusive(
            f"the {pair.name} PIN has one try (ics.jpki.{pair.name}_pin.tries): a wrong VERIFY would block "
            "the unit's PIN, so how wrong values are counted cannot be checked here"
        )
    for what, value, odd in wrong[:3]:
        with _new_card(profile, fresh_card) as (client, session):
            left = _wrong_verify(client, pair, 1, what, value, odd, 1)
            _persisted(client, session, pair, left)


@pytest.mark.requirement("JPKI-PIN-04")
@pytest.mark.effects("pin-block", renewable=True)
@pytest.mark.parametrize("pair", PAIR_PARAMS)
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
            assert r.sw == 0x63C0 | left, (
                f"{pair.name} PIN: wrong VERIFY answered {said(r)}, expected 63C{left:X}"
            )
        for value in (right, wrong, right):
            r = jpki.verify(pair.pin_ef, value)
            assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
                f"{pair.name} PIN blocked: VERIFY answered {said(r)}, not 6984"
            )
            assert _query(jpki, pair) == 0, f"{pair.name} PIN blocked: the query must keep answering 63C0"
        for cold, what in ((False, "a warm reset"), (True, "a power cycle")):  # the block is persistent
            session.reset(cold=cold)
            assert jpki.select_ap().ok
            assert _query(jpki, pair) == 0, f"{pair.name} PIN blocked: after {what} the query is not 63C0"
            r = jpki.verify(pair.pin_ef, right)
            assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
                f"{pair.name} PIN blocked: after {what} the right VERIFY answered {said(r)}, not 6984"
            )
        assert jpki.select_ap().ok
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
            f"blocked {pair.name} key signed: {said(r)}"
        )
        if (other := other_pair(profile, pair)) is not None:
            assert jpki.verify(other.pin_ef, pin(profile, other)).ok, (
                f"blocking {pair.name} blocked {other.name}"
            )
    finally:
        if session is not card:
            session.close()
        elif not reset_pin(card, profile, pair.name):  # the unit itself: put the PIN back where it can be
            message = f"the {pair.name} PIN of the unit stays blocked (no provisioning command set)"
            warnings.warn(message, stacklevel=1)


@pytest.mark.requirement("JPKI-PIN-05")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_reselect_and_reset_clear_the_verified_state(jpki: JpkiClient, card, profile, pair: KeyPair) -> None:
    def verified_sign() -> None:
        assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.ok, f"{pair.name} key: signing right after VERIFY answered {said(r)}"

    verified_sign()
    assert jpki.select_ap().ok
    r = jpki.sign(pair.key_ef, b"\x01")
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
        f"{pair.name} key after re-SELECT of the AP signed: {said(r)}"
    )
    if pair is SIGN:
        assert jpki.verify(SIGN.pin_ef, pin(profile, SIGN)).ok
        assert jpki.select_ap().ok
        assert jpki.select_ef(SIGN.cert_ef).ok
        r = jpki.read(0, 4)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"EF 0001 after re-SELECT answered {said(r)}"
    for cold, what in ((False, "a reset"), (True, "a power cycle")):
        verified_sign()
        card.reset(cold=cold)
        assert jpki.select_ap().ok
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"{pair.name} key after {what} signed: {said(r)}"


@pytest.mark.requirement("JPKI-PIN-06")
@pytest.mark.effects("pin-change")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_change_reference_data_only_after_verify(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    """Changes the PIN to a value derived from the profile's (its last character shifted) and back.
    Should a failure stop it half-way, the PIN is that derived value; the teardown tries it.

    Refusals are 6982 (security status not satisfied): CHANGE REFERENCE DATA needs the PIN verified in the
    current selection (jpki-applet.md, "Commands"), the condition ISO/IEC 7816-4 answers with 6982."""
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    new = other_value(right, pin_rules)
    other = other_pair(profile, pair)

    def refused(when: str) -> None:
        r = jpki.change(pair.pin_ef, new)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
            f"{pair.name} PIN: CHANGE REFERENCE DATA {when} answered {said(r)}, expected 6982"
        )

    try:
        maximum = _full(jpki, profile, pair)
        refused("without VERIFY")
        assert jpki.verify(pair.pin_ef, right).ok, (
            f"{pair.name} PIN: the right value no longer verifies after a refused CHANGE"
        )
        assert jpki.select_ap().ok
        refused("after VERIFY and a re-SELECT of the application")
        if other is not None:
            assert jpki.verify(other.pin_ef, pin(profile, other)).ok, f"VERIFY of the {other.name} PIN failed"
            refused(f"after VERIFY of the {other.name} PIN only")
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: VERIFY failed"
        r = jpki.change(pair.pin_ef, new)
        assert r.sw == SW.OK, f"{pair.name} PIN: CHANGE REFERENCE DATA after VERIFY answered {said(r)}"
        assert jpki.select_ap().ok
        r = jpki.verify(pair.pin_ef, right)
        assert retries_left(r.sw) == maximum - 1, (
            f"{pair.name} PIN: the old value after CHANGE answered {said(r)}"
        )
        assert jpki.verify(pair.pin_ef, new).ok, f"{pair.name} PIN: the new value does not verify"
        assert jpki.change(pair.pin_ef, right).ok, f"{pair.name} PIN: changing back failed"
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: the restored value does not verify"
    finally:
        restore(jpki, profile, {pair.name: [new]})


@pytest.mark.requirement("JPKI-PIN-07")
@pytest.mark.effects("pin-change")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_change_refuses_values_outside_the_rules(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    breakers = rule_breakers(right, pin_rules)
    try:
        for why, (value, allowed) in breakers.items():
            assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: VERIFY failed"
            r = jpki.change(pair.pin_ef, value)
            expected = " or ".join(f"{sw:04X}" for sw in allowed)
            assert r.sw in allowed and not r.data, (
                f"{pair.name} PIN: CHANGE to a value {why} answered {said(r)}, expected {expected}"
            )
            assert jpki.select_ap().ok
            assert jpki.verify(pair.pin_ef, right).ok, (
                f"{pair.name} PIN: the right value no longer verifies after the refused CHANGE to a value "
                f"{why}"
            )
        assert jpki.select_ap().ok
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: the old value no longer verifies"
    finally:
        restore(jpki, profile, {pair.name: [value for value, _ in breakers.values()]})


@pytest.mark.requirement("JPKI-PIN-08")
@pytest.mark.effects("pin-tries")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_verify_longer_than_16_bytes_answers_6700(jpki: JpkiClient, profile, pair: KeyPair) -> None:
    maximum = _full(jpki, profile, pair)
    right, pin_rules = pin(profile, pair), rules(profile, pair)
    alphabet = CHARSETS[pin_rules.charset]
    if maximum >= 2:  # at the limit: 16 bytes are a VERIFY value like any other (costs one try, restored)
        at_limit = right.derive("16 bytes", lambda v: (shifted(v, pin_rules.charset) + alphabet * 16)[:16])
        odd = not pin_rules.allows(at_limit.reveal())
        _wrong_verify(jpki, pair, 1, "a wrong value of 16 bytes", at_limit, odd, maximum)
        assert jpki.verify(pair.pin_ef, right).ok, f"{pair.name} PIN: VERIFY of the right value failed"
    r = jpki.verify(pair.pin_ef, right.derive("17 bytes", lambda v: (v * 17)[:17]))
    assert r.sw == SW.WRONG_LENGTH, f"{pair.name} PIN: VERIFY with 17 bytes answered {said(r)}, expected 6700"
    assert _query(jpki, pair) == maximum, f"{pair.name} PIN: the over-long VERIFY spent an attempt"


def _other_application(profile) -> bytes:
    """ixit.aids.other, or the card-face AP when the ICS claims the card-only applications."""
    if profile.ixit.aids.other is not None:
        return profile.ixit.aids.other
    if profile.ics.jpki.card_aps_present:
        return CARD_FACE_AID
    raise ProfileError(
        str(profile.path), "ixit.aids.other", "not given: the kit needs another application it may select"
    )


@pytest.mark.requirement("JPKI-PIN-10")
@pytest.mark.parametrize("pair", PAIR_PARAMS)
def test_selecting_another_application_clears_the_verified_state(
    jpki: JpkiClient, card, profile, pair: KeyPair
) -> None:
    other = _other_application(profile)

    def verify() -> None:
        assert jpki.verify(pair.pin_ef, pin(profile, pair)).ok, f"VERIFY of the {pair.name} PIN failed"
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.ok, f"{pair.name} key: signing right after VERIFY answered {said(r)}"

    verify()
    r = card.select(other)
    if r.sw != SW.OK:
        raise Inconclusive(
            f"SELECT of the other application ixit.aids.other answered {said(r)}; it must be selectable"
        )
    r = jpki.sign(pair.key_ef, b"\x01")  # the JPKI application is no longer current on the channel
    assert not (r.ok and r.data), f"{pair.name} key: 80 2A signed after SELECT of another application"
    assert jpki.select_ap().ok, "SELECT of the JPKI application after the other one failed"
    r = jpki.sign(pair.key_ef, b"\x01")
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
        f"{pair.name} key after selecting another application and the JPKI AP again answered {said(r)}, "
        "expected 6982"
    )
    if pair is SIGN:
        assert jpki.select_ef(SIGN.cert_ef).ok
        r = jpki.read(0, 4)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
            f"EF 0001 after selecting another application and the JPKI AP again answered {said(r)}, "
            "expected 6982"
        )
    if profile.ics.iso7816.logical_channels < 2:
        return
    # The security state is per logical channel (jpki-applet.md, "Security state"): the other application
    # selected on another channel leaves the basic channel's verified state as it was.
    verify()
    opened = card.open_channel()
    assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
    number = opened.data[0]
    try:
        r = card.select(other, channel=number)
        if r.sw != SW.OK:
            raise Inconclusive(f"SELECT of ixit.aids.other on channel {number} answered {said(r)}")
        r = jpki.sign(pair.key_ef, b"\x01")
        assert r.ok, (
            f"{pair.name} key: selecting another application on channel {number} cleared the basic channel's "
            f"verified state ({said(r)})"
        )
    finally:
        card.close_channel(number)
