"""Deliberately non-conforming cards, one fault each, to show every ISO 7816 conformance test can fail.

Each is a factory ``(personality, state) -> card`` for a profile's ``ixit.transport.factory``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from jpkikit.reference.emulator.applet import reply
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card, Channel
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW


class SelectAnything(Card):
    """SELECT of an AID it does not hold answers 9000."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return reply() if response.sw == SW.FILE_NOT_FOUND else response


class SelectReturnsFci(Card):
    """Sends response data although P2=0C asked for none."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return ResponseApdu(b"\x6f\x00", response.sw) if response.ok else response


class NoChannelLimit(Card):
    """Opens one channel more than it claims."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        limit = self.personality.logical_channels
        self.personality = dataclasses.replace(self.personality, logical_channels=limit + 1)
        try:
            return super()._manage_channel(channel, apdu)
        finally:
            self.personality = dataclasses.replace(self.personality, logical_channels=limit)


class CloseBasic(Card):
    """Lets MANAGE CHANNEL close the basic channel (and then re-opens it silently)."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x80 and apdu.p2 == 0:
            self._deselect(self.channels[0])
            return reply()
        return super()._manage_channel(channel, apdu)


class SharedSelection(Card):
    """All channels share the basic channel's selection and session (current EF)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) >= 4 and raw[1] not in (0x70,) and raw[0] & 0x03 and not raw[0] & 0x40:
            number = raw[0] & 0x03
            if number in self.channels:
                self.channels[number] = self.channels[0]
                return super()._process(bytes((raw[0] & ~0x03,)) + raw[1:])
        return super()._process(raw)


class CloseIgnored(Card):
    """MANAGE CHANNEL close answers 9000 but leaves the channel open."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x80:
            return reply()
        return super()._manage_channel(channel, apdu)


class ChannelBitsIgnored(Card):
    """Treats any channel number as the basic channel (a card that does not decode CLA channel bits)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) >= 4 and not raw[0] & 0x40 and raw[0] != 0xFF:
            raw = bytes((raw[0] & ~0x03,)) + raw[1:]
        return super()._process(raw)


class UnknownInsOk(Card):
    """Answers 9000 to instructions it does not know."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        return reply() if response.sw == SW.INS_NOT_SUPPORTED else response


class AnyClass(Card):
    """Processes the reserved CLA 20 as if it were 00."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if raw[:1] == b"\x20":
            raw = b"\x00" + raw[1:]
        return super()._process(raw)


class LenientLength(Card):
    """Takes whatever data follows the header, whatever Lc says."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) > 5 and raw[4] and len(raw) != 5 + raw[4] and len(raw) != 6 + raw[4]:
            raw = raw[:4] + bytes((len(raw) - 5,)) + raw[5:]
        return super()._process(raw)


class MalformedOk(Card):
    """Answers 9000 to an APDU whose length fields do not parse."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        try:
            CommandApdu.parse(raw)
        except Exception:
            return reply()
        return response


class NoExtendedLength(Card):
    """Rejects every extended-length APDU although the personality claims extended length."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) >= 7 and raw[4] == 0:
            return reply(SW.WRONG_LENGTH)
        return super()._process(raw)


class ExtendedAlways(Card):
    """Accepts extended-length APDUs although the personality does not claim them."""

    def __init__(self, personality, state_path=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(
            dataclasses.replace(
                personality, extended_length=True, max_command_data=65535, max_response_data=65536
            ),
            state_path,
        )


def _factory(cls: type[Card]):  # type: ignore[no-untyped-def]
    def make(personality: str | None, state: Path | None) -> Card:
        return cls(get_personality(personality or "gp-se"), state)

    make.__doc__ = cls.__doc__
    return make


select_anything = _factory(SelectAnything)
select_returns_fci = _factory(SelectReturnsFci)
no_channel_limit = _factory(NoChannelLimit)
shared_selection = _factory(SharedSelection)
close_ignored = _factory(CloseIgnored)
close_basic = _factory(CloseBasic)
channel_bits_ignored = _factory(ChannelBitsIgnored)
unknown_ins_ok = _factory(UnknownInsOk)
any_class = _factory(AnyClass)
lenient_length = _factory(LenientLength)
malformed_ok = _factory(MalformedOk)
no_extended_length = _factory(NoExtendedLength)
extended_always = _factory(ExtendedAlways)
