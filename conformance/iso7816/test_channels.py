"""Logical channels: MANAGE CHANNEL and channel bits in CLA (ISO/IEC 7816-4 §5.4.1, §7.1, §11.1.2;
GPCS v2.3.1 §11.7). The number of channels comes from the profile (ics.iso7816.logical_channels)."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import SELECT_TOKEN_INFO

from ..jpki.support import said


def _open(card) -> int:
    r = card.open_channel()
    assert r.sw == SW.OK and len(r.data) == 1, f"MANAGE CHANNEL open answered {said(r)}"
    return r.data[0]


@pytest.mark.requirement("ISO-CH-01")
def test_open_channels_up_to_the_claimed_number(card, profile) -> None:
    claimed = profile.ics.iso7816.logical_channels
    numbers = [_open(card) for _ in range(claimed - 1)]
    assert sorted(numbers) == list(range(1, claimed)), f"channel numbers handed out: {numbers}"
    r = card.open_channel()  # GPCS §11.7: no further channel available, 6A81
    assert r.sw == SW.FUNCTION_NOT_SUPPORTED and not r.data, (
        f"opening channel {claimed + 1} of {claimed} answered {said(r)}, expected 6A81"
    )
    for number in numbers:  # the refusal must not have disturbed the open channels
        assert card.select(profile.ixit.aids.jpki, channel=number).ok, f"channel {number} stopped working"


@pytest.mark.requirement("ISO-CH-02")
def test_selection_is_per_channel(card, profile) -> None:
    one, two = _open(card), _open(card)
    assert card.select(profile.ixit.aids.jpki, channel=one).ok
    assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO, channel=one).ok
    label = card.read_binary(0, 32, channel=one)
    assert label.ok and len(label.data) == 32, f"READ BINARY on channel {one} answered {said(label)}"

    # What channel two answers depends on what is current there (the default application, or nothing): the
    # check is that it is not channel one's EF.
    other = card.read_binary(0, 32, channel=two)
    assert not (other.ok and other.data == label.data), "the EF selected on one channel was read on another"
    absent = card.select(profile.ixit.aids.absent, channel=two)
    assert absent.sw == SW.FILE_NOT_FOUND, (
        f"SELECT of ixit.aids.absent on channel {two} answered {said(absent)}"
    )
    second = card.select(profile.ixit.aids.jpki, channel=two)
    if second.ok:  # multi-selectable: the new channel has its own current EF, i.e. none yet (§7.1)
        fresh = card.read_binary(0, 32, channel=two)
        # ISO/IEC 7816-4 status bytes: 6986 command not allowed (no current EF)
        assert fresh.sw == SW.NO_CURRENT_EF and not fresh.data, (
            f"no EF is current on channel {two} yet, but READ BINARY answered {said(fresh)}, expected 6986"
        )
    else:  # GPCS §11.9.2.2: an application that is not multi-selectable is refused with 6985
        assert second.sw == SW.CONDITIONS_NOT_SATISFIED, (
            f"second SELECT on channel {two} answered {said(second)}"
        )
    again = card.read_binary(0, 32, channel=one)
    assert again.ok and again.data == label.data, "selecting on one channel disturbed another"


@pytest.mark.requirement("ISO-CH-03")
def test_closed_channel_is_unusable(card, profile) -> None:
    number = _open(card)
    assert card.select(profile.ixit.aids.jpki, channel=number).ok
    r = card.close_channel(number)
    assert r.sw == SW.OK, f"MANAGE CHANNEL close answered {said(r)}"
    after = card.select(profile.ixit.aids.jpki, channel=number)
    assert after.sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED, (
        f"a command on closed channel {number} got {said(after)}"
    )


#: MANAGE CHANNEL close of the basic channel: neither ISO/IEC 7816-4 nor GPCS §11.7 names the refusal. 6A86
#: (incorrect P1-P2: P2 = 00 names the basic channel, which cannot be closed) and 6A81 (function not
#: supported) are the two status words that say what happened; anything else (a warning, 6700, 6D00) does not.
BASIC_CLOSE_REFUSALS = (SW.INCORRECT_P1P2, SW.FUNCTION_NOT_SUPPORTED)


@pytest.mark.requirement("ISO-CH-04")
def test_basic_channel_cannot_be_closed(card, profile) -> None:
    assert card.select(profile.ixit.aids.jpki).ok
    assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok
    label = card.read_binary(0, 32)
    assert label.ok, f"READ BINARY of EF 0006 answered {said(label)}"
    r = card.close_channel(0)
    assert r.sw in BASIC_CLOSE_REFUSALS and not r.data, (
        f"MANAGE CHANNEL close of the basic channel answered {said(r)}, expected 6A86 or 6A81"
    )
    again = card.read_binary(0, 32)
    assert again.ok and again.data == label.data, (
        f"after the refused close, READ BINARY on the basic channel answered {said(again)}: its selection "
        "was lost"
    )
    assert card.select(profile.ixit.aids.jpki).ok, "the basic channel stopped working"


#: MANAGE CHANNEL open on a card with the basic channel only: 6881 (logical channels not supported), 6A81
#: (function not supported) or 6D00 (the card has no MANAGE CHANNEL instruction at all) each say "no
#: channel"; which one a single-channel card gives is not fixed by ISO/IEC 7816-4.
OPEN_REFUSALS = (SW.LOGICAL_CHANNEL_NOT_SUPPORTED, SW.FUNCTION_NOT_SUPPORTED, SW.INS_NOT_SUPPORTED)


@pytest.mark.requirement("ISO-CH-05")
def test_channel_bits_rejected_without_logical_channels(card, profile) -> None:
    assert card.select(profile.ixit.aids.jpki).ok
    assert card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO).ok
    label = card.read_binary(0, 32)
    assert label.ok, f"READ BINARY of EF 0006 answered {said(label)}"
    for aid in (profile.ixit.aids.jpki, profile.ixit.aids.absent):
        r = card.select(aid, channel=1)
        assert r.sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED and not r.data, (
            f"CLA with channel 1 answered {said(r)}"
        )
        again = card.read_binary(0, 32)
        assert again.ok and again.data == label.data, (
            f"a SELECT with CLA 01 changed the basic channel's selection (READ BINARY answered {said(again)})"
        )
    opened = card.open_channel()
    assert opened.sw in OPEN_REFUSALS and not opened.data, (
        f"MANAGE CHANNEL open on a basic-channel-only card answered {said(opened)}"
    )
