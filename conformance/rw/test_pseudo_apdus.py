"""The reader's own commands, PC/SC pseudo-APDUs (class FF, never sent to the card; PC/SC Part 3 §3.2.2.1.3):
GET DATA of the UID (FF CA 00 00) and of the ATS historical bytes (FF CA 01 00), with their length rules."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.pcsc import part3

from .support import card_of_type, claims, known_card, raw

UID_LENGTHS = {"A": (4, 7, 10), "B": (4,)}


@pytest.mark.requirement("RW-UID-01")
def test_get_data_uid(card: CardSession, profile: Profile) -> None:
    known = known_card(profile)
    session = raw(card)
    first = session.transmit(part3.get_data(part3.GetData.UID))
    assert first.sw == SW.OK, f"GET DATA UID (FF CA 00 00 00) answered {first}"
    assert len(first.data) in UID_LENGTHS[known.type], (
        f"GET DATA UID gave {len(first.data)} bytes; a Type {known.type} UID/PUPI is "
        f"{UID_LENGTHS[known.type]}"
    )
    if known.uid is not None:
        assert first.data == known.uid, (
            f"GET DATA UID gave {first.data.hex().upper()}, the card's is {known.uid.hex().upper()}"
        )
    again = session.transmit(part3.get_data(part3.GetData.UID))
    assert again.data == first.data, "GET DATA UID changed within one activation of the card"


@pytest.mark.requirement("RW-HIST-01")
def test_get_data_historical_bytes(card: CardSession, profile: Profile) -> None:
    card_of_type(profile, "A")
    atr = card.reset()
    r = raw(card).transmit(part3.get_data(part3.GetData.HISTORICAL))
    assert r.sw == SW.OK, f"GET DATA historical bytes (FF CA 01 00 00) answered {r}"
    assert r.data == part3.historical_of(atr), (
        f"GET DATA gave {r.data.hex().upper()}, the ATR carries {atr.hex().upper()}: not the ATS "
        f"historical bytes"
    )


@pytest.mark.requirement("RW-PA-01")
def test_pseudo_apdu_length_rules(card: CardSession, profile: Profile) -> None:
    assert claims(profile).get_uid
    session = raw(card)
    uid = session.transmit(part3.get_data(part3.GetData.UID)).data
    n = len(uid)
    short = session.transmit(part3.get_data(part3.GetData.UID, n - 1))
    assert short.sw == (part3.SW1_WRONG_LE << 8) | n and not short.data, (
        f"GET DATA UID with Le={n - 1} (less than the {n} bytes) answered {short}, not 6C{n:02X}"
    )
    long = session.transmit(part3.get_data(part3.GetData.UID, n + 1))
    assert long.sw == part3.SW_MORE_THAN_AVAILABLE and long.data == uid, (
        f"GET DATA UID with Le={n + 1} answered {long}, not the UID with 6282"
    )
    exact = session.transmit(part3.get_data(part3.GetData.UID, n))
    assert exact.sw == SW.OK and exact.data == uid, f"GET DATA UID with Le={n} answered {exact}"
    unknown = session.transmit(part3.get_data(0xFF))
    assert unknown.sw == part3.SW_NOT_SUPPORTED, (
        f"GET DATA with P1 FF (not defined) answered {unknown}, not 6A81"
    )
