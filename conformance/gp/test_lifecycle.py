"""Application and card life cycles through SET STATUS (GPCS v2.3.1 §5, §11.10, Tables 11-3 to 11-6;
docs/spec/globalplatform.md#life-cycles)."""

from __future__ import annotations

from typing import Any

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession

from . import gp
from .gp import modes, open_session


def _session(card: CardSession, profile: Profile) -> Any:
    return open_session(card, profile, 0x01, modes(profile)[0])


def _card_state(layer: Any) -> int:
    return gp.get_status(layer, 0x80)[0].life_cycle


@pytest.mark.requirement("GP-LC-01")
@pytest.mark.effects("applet-lock")
def test_lock_and_unlock_application(card: CardSession, profile: Profile) -> None:
    aid = profile.ixit.aids.jpki
    layer = _session(card, profile)
    before = gp.status_of(layer, aid)
    assert before is not None and not before & 0x80, f"JPKI application state {before} before the test"
    try:
        r = layer.send(gp.set_status(0x40, 0x80, aid))
        assert r.sw == 0x9000, f"SET STATUS lock answered {r}"
        state = gp.status_of(layer, aid)
        assert state is not None and state & 0x80, f"GET STATUS shows {state} after locking"
        layer.end()
        assert card.select(aid).sw != 0x9000, "a LOCKED application was selected"
        layer = _session(card, profile)
        r = layer.send(gp.set_status(0x40, 0x00, aid))
        assert r.sw == 0x9000, f"SET STATUS unlock answered {r}"
        assert gp.status_of(layer, aid) == before, "unlocking did not restore the previous state"
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
    assert card_state == 0x0F, f"card life cycle is {card_state:02X}, the test needs SECURED (0F)"
    for p2, what in (
        (0x07, "SECURED -> INITIALIZED"),
        (0x01, "SECURED -> OP_READY"),
        (0x0F, "SECURED -> SECURED"),
    ):
        r = layer.send(gp.set_status(0x80, p2))
        assert r.sw != 0x9000, f"illegal card transition {what} was accepted"
        assert _card_state(layer) == 0x0F, f"refused {what} changed the card life cycle"
    r = layer.send(gp.set_status(0x40, 0x00, aid))
    assert r.sw != 0x9000, "unlocking an application that is not locked was accepted"
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
    r = layer.send(gp.set_status(0x80, 0x7F))
    assert r.sw == 0x9000, f"SET STATUS CARD_LOCKED answered {r}"
    try:
        layer.end()
        assert card.select(aid).sw != 0x9000, "an application was selected on a CARD_LOCKED card"
        assert gp.select_sd(card, profile).sw in (0x9000, 0x6283), (
            "the ISD is not selectable on a locked card"
        )
    finally:
        layer = _session(card, profile)
        r = layer.send(gp.set_status(0x80, 0x0F))
    assert r.sw == 0x9000, f"SET STATUS back to SECURED answered {r}"
    layer.end()
    assert card.select(aid).sw == 0x9000, "the application is not selectable after unlocking the card"
