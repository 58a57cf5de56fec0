"""Application and card life cycles through SET STATUS (GPCS v2.3.1 §5, §11.10, Tables 11-3 to 11-6;
docs/spec/globalplatform.md#life-cycles)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.gp.constants import CARD_LOCKED, SECURED, TERMINATED
from jpkikit.vocab.scp03.handshake import initialize_update_command

from . import gp
from .gp import modes, open_session


def _session(card: CardSession, profile: Profile) -> Any:
    return open_session(card, profile, 0x01, modes(profile)[0])


def _card_state(layer: Any) -> int:
    return gp.get_status(layer, 0x80)[0].life_cycle


def _shown(state: int | None) -> str:
    return "not listed" if state is None else f"{state:02X}"


@pytest.mark.requirement("GP-LC-01")
@pytest.mark.effects("applet-lock")
def test_lock_and_unlock_application(card: CardSession, profile: Profile) -> None:
    aid = profile.ixit.aids.jpki
    layer = _session(card, profile)
    before = gp.status_of(layer, aid)
    assert before is not None and not before & 0x80, (
        f"JPKI application state {_shown(before)} before the test"
    )
    try:
        r = layer.send(gp.set_status(0x40, 0x80, aid))
        assert r.sw == 0x9000, f"SET STATUS lock answered {r}"
        state = gp.status_of(layer, aid)
        assert state is not None and state & 0x80, f"GET STATUS shows {_shown(state)} after locking"
        layer.end()
        r = card.select(aid)
        assert r.sw != 0x9000, f"a LOCKED application was selected ({r})"
        card.reset(cold=True)  # the life cycle is persistent (GPCS §5.3)
        r = card.select(aid)
        assert r.sw != 0x9000, f"after a power cycle the LOCKED application was selected ({r})"
        layer = _session(card, profile)
        r = layer.send(gp.set_status(0x40, 0x00, aid))
        assert r.sw == 0x9000, f"SET STATUS unlock answered {r}"
        state = gp.status_of(layer, aid)
        assert state == before, (
            f"unlocking did not restore the previous state: {_shown(state)}, was {before:02X}"
        )
        layer.end()
        assert card.select(aid).sw == 0x9000
    finally:
        layer = _session(card, profile)
        if (gp.status_of(layer, aid) or 0) & 0x80:
            layer.send(gp.set_status(0x40, 0x00, aid))


@pytest.mark.requirement("GP-LC-02")
@pytest.mark.effects("applet-lock", "card-lock")
def test_illegal_transitions(card: CardSession, profile: Profile) -> None:
    aid = profile.ixit.aids.jpki
    layer = _session(card, profile)
    card_state, app_state = _card_state(layer), gp.status_of(layer, aid)
    assert card_state == SECURED, f"card life cycle is {card_state:02X}, the test needs SECURED (0F)"
    for p2, what in (
        (0x07, "SECURED -> INITIALIZED"),
        (0x01, "SECURED -> OP_READY"),
        (0x0F, "SECURED -> SECURED"),
    ):
        r = layer.send(gp.set_status(0x80, p2))
        assert r.sw != 0x9000, f"illegal card transition {what} was accepted"
        state = _card_state(layer)
        assert state == SECURED, f"the refused {what} changed the card life cycle to {state:02X}"
    r = layer.send(gp.set_status(0x40, 0x00, aid))
    assert r.sw != 0x9000, "unlocking an application that is not locked was accepted"
    assert gp.status_of(layer, aid) == app_state, "the refused unlock changed the application's life cycle"
    assert layer.send(gp.set_status(0x40, 0x80, aid)).sw == 0x9000
    try:
        r = layer.send(gp.set_status(0x40, 0x80, aid))
        assert r.sw != 0x9000, "locking an already LOCKED application was accepted"
    finally:
        layer.send(gp.set_status(0x40, 0x00, aid))
    assert gp.status_of(layer, aid) == app_state


@pytest.mark.requirement("GP-LC-03")
@pytest.mark.effects("card-lock")
def test_card_locked(card: CardSession, profile: Profile) -> None:
    aid = profile.ixit.aids.jpki
    layer = _session(card, profile)
    r = layer.send(gp.set_status(0x80, CARD_LOCKED))
    assert r.sw == 0x9000, f"SET STATUS CARD_LOCKED answered {r}"
    try:
        layer.end()
        r = card.select(aid)
        assert r.sw == 0x6A81, f"SELECT of an application on a CARD_LOCKED card answered {r}; 6A81 expected"
        if profile.ics.iso7816.logical_channels > 1:
            opened = card.open_channel()
            assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
            r = card.select(aid, channel=opened.data[0])
            assert r.sw == 0x6A81, (
                f"SELECT of an application on logical channel {opened.data[0]} of a CARD_LOCKED card "
                f"answered {r}; 6A81 expected"
            )
        card.reset(cold=True)  # CARD_LOCKED is persistent (GPCS §5.1.1.4)
        r = card.select(aid)
        assert r.sw == 0x6A81, f"after a power cycle SELECT on the CARD_LOCKED card answered {r}"
        assert gp.select_sd(card, profile).sw in (0x9000, 0x6283), (
            "the ISD is not selectable on a locked card"
        )
    finally:
        layer = _session(card, profile)
        r = layer.send(gp.set_status(0x80, SECURED))
    assert r.sw == 0x9000, f"SET STATUS back to SECURED answered {r}"
    layer.end()
    assert card.select(aid).sw == 0x9000, "the application is not selectable after unlocking the card"


TERMINATE_FROM = [
    pytest.param("SECURED", id="from-secured", marks=pytest.mark.effects("terminate", renewable=True)),
    pytest.param(
        "CARD_LOCKED",
        id="from-card-locked",
        marks=pytest.mark.effects("terminate", "card-lock", renewable=True),
    ),
]


@pytest.mark.requirement("GP-LC-04")
@pytest.mark.parametrize("start", TERMINATE_FROM)
def test_terminated(card: CardSession, profile: Profile, fresh_card: Any, start: str) -> None:
    """Terminates the card: on a new card where the kit can renew one, else on a unit whose profile allows
    it (the safety kernel runs it nowhere else, and last). A unit is terminated once: without renewal only
    the transition from SECURED is exercised."""
    if fresh_card is None and start != "SECURED":
        pytest.skip(
            "not exercised: a unit is terminated only once, so TERMINATED from CARD_LOCKED needs a card the "
            "kit can renew (its own emulator) or a second sacrificial unit"
        )
    session = fresh_card() if fresh_card is not None else card
    aid = profile.ixit.aids.jpki
    layer = _session(session, profile)
    if start == "CARD_LOCKED":
        r = layer.send(gp.set_status(0x80, CARD_LOCKED))
        assert r.sw == 0x9000, f"SET STATUS CARD_LOCKED answered {r}"
    r = layer.send(gp.set_status(0x80, TERMINATED))
    assert r.sw == 0x9000, f"SET STATUS TERMINATED from {start} answered {r}"
    layer.end()
    for when in ("", " after a power cycle"):
        if when:
            session.reset(cold=True)  # TERMINATED is final (GPCS §5.1.1.5)
        r = session.select(aid)
        assert r.sw == 0x6A81, (
            f"SELECT of the JPKI application on a TERMINATED card{when} answered {r}; 6A81 expected"
        )
        r = gp.select_sd(session, profile)
        assert r.sw in (0x9000, 0x6283), f"the ISD is not selectable on a TERMINATED card{when} ({r})"
        r = session.transmit(initialize_update_command(os.urandom(8), 0x00))
        assert r.sw != 0x9000 and r.sw1 not in (0x61, 0x62, 0x63), (
            f"INITIALIZE UPDATE on a TERMINATED card{when} answered {r}; no secure channel may open"
        )
