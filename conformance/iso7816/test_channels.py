"""Logical channels: MANAGE CHANNEL and channel bits in CLA (ISO/IEC 7816-4 §5.4.1, §7.1, §11.1.2;
GPCS v2.3.1 §11.7). The number of channels comes from the profile (ics.iso7816.logical_channels)."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.sw import SW

EF_TOKEN_INFO = b"\x00\x06"  # token information EF (docs/spec/jpki-applet.md#file-map-and-access-rules)


def _open(card) -> int:
    r = card.open_channel()
    assert r.sw == SW.OK and len(r.data) == 1, f"MANAGE CHANNEL open answered {r}"
    return r.data[0]


@pytest.mark.requirement("ISO-CH-01")
def test_open_channels_up_to_the_claimed_number(card, profile) -> None:
    claimed = profile.ics.iso7816.logical_channels
    numbers = [_open(card) for _ in range(claimed - 1)]
    assert sorted(numbers) == list(range(1, claimed)), f"channel numbers handed out: {numbers}"
    r = card.open_channel()
    assert r.sw == SW.FUNCTION_NOT_SUPPORTED, f"opening channel {claimed + 1} of {claimed} answered {r}"
    for number in numbers:  # the refusal must not have disturbed the open channels
        assert card.select(profile.ixit.aids.jpki, channel=number).ok, f"channel {number} stopped working"


@pytest.mark.requirement("ISO-CH-02")
def test_selection_is_per_channel(card, profile) -> None:
    one, two = _open(card), _open(card)
    assert card.select(profile.ixit.aids.jpki, channel=one).ok
    assert card.send(0x00, 0xA4, 0x02, 0x0C, EF_TOKEN_INFO, channel=one).ok
    label = card.read_binary(0, 32, channel=one)
    assert label.ok and len(label.data) == 32, f"READ BINARY on channel {one} answered {label}"

    other = card.read_binary(0, 32, channel=two)
    assert not (other.ok and other.data == label.data), "the EF selected on one channel was read on another"
    second = card.select(profile.ixit.aids.jpki, channel=two)
    if second.ok:  # multi-selectable: the new channel has its own current EF, i.e. none yet (§7.1)
        fresh = card.read_binary(0, 32, channel=two)
        assert not fresh.ok, f"no EF is current on channel {two} yet, but READ BINARY answered {fresh}"
    else:  # GPCS §11.9.2.2: an application that is not multi-selectable is refused with 6985
        assert second.sw == SW.CONDITIONS_NOT_SATISFIED, f"second SELECT on channel {two} answered {second}"
    again = card.read_binary(0, 32, channel=one)
    assert again.ok and again.data == label.data, "selecting on one channel disturbed another"


@pytest.mark.requirement("ISO-CH-03")
def test_closed_channel_is_unusable(card, profile) -> None:
    number = _open(card)
    assert card.select(profile.ixit.aids.jpki, channel=number).ok
    r = card.close_channel(number)
    assert r.sw == SW.OK, f"MANAGE CHANNEL close answered {r}"
    after = card.select(profile.ixit.aids.jpki, channel=number)
    assert after.sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED, f"a command on closed channel {number} got {after}"


@pytest.mark.requirement("ISO-CH-04")
def test_basic_channel_cannot_be_closed(card, profile) -> None:
    r = card.close_channel(0)
    assert 0x67 <= r.sw1 <= 0x6F, f"MANAGE CHANNEL close of the basic channel answered {r}, not an error"
    assert card.select(profile.ixit.aids.jpki).ok, "the basic channel stopped working"


@pytest.mark.requirement("ISO-CH-05")
def test_channel_bits_rejected_without_logical_channels(card, profile) -> None:
    r = card.select(profile.ixit.aids.jpki, channel=1)
    assert r.sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED, f"CLA with channel 1 answered {r}"
    opened = card.open_channel()
    refusals = (SW.LOGICAL_CHANNEL_NOT_SUPPORTED, SW.FUNCTION_NOT_SUPPORTED, SW.INS_NOT_SUPPORTED)
    assert opened.sw in refusals, f"MANAGE CHANNEL open on a basic-channel-only card answered {opened}"
