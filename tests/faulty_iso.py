"""Deliberately non-conforming cards, one fault each, to show every ISO 7816 conformance test can fail.

Each is a factory ``(personality, state) -> card`` for a profile's ``ixit.transport.factory``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from jpkikit.reference.emulator.applet import reply
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card, Channel
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_channel
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv, decode


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


# -- more faults ---------------------------------------------------------------------------------------


def _with_channel(raw: bytes, number: int) -> bytes:
    return bytes(((raw[0] & 0xFC) | number,)) + raw[1:]


class SelectWarning6283(Card):
    """SELECT of an application answers the warning 6283 (selected file deactivated) instead of 9000, though
    the application is selected and works."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return ResponseApdu(response.data, 0x6283) if response.ok and apdu.data else response


class SelectFciOnly(Card):
    """SELECT by DF name knows only P2=00 (FCI): the P2=0C every JPKI client sends is refused with 6A86."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p2 == 0x0C and apdu.data:
            return reply(SW.INCORRECT_P1P2)
        return super()._select_by_name(channel, apdu)


class FailedSelectDeselects(Card):
    """A SELECT that fails (6A82) deselects the application current on the channel."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        if response.sw == SW.FILE_NOT_FOUND:
            self._deselect(channel)
        return response


class Absent6A86(Card):
    """SELECT of an AID it does not hold answers 6A86 instead of 6A82."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return reply(SW.INCORRECT_P1P2) if response.sw == SW.FILE_NOT_FOUND else response


class AidPrefixMatch(Card):
    """Compares AIDs without their last byte: an AID that differs from a registered one in the last byte
    selects it."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.data and apdu.data not in self.registry:
            for aid in self.registry:
                if len(aid) == len(apdu.data) and aid[:-1] == apdu.data[:-1]:
                    apdu = dataclasses.replace(apdu, data=aid)
                    break
        return super()._select_by_name(channel, apdu)


class SelectNoData6700(Card):
    """SELECT by DF name without a data field answers 6700: the default application cannot be selected so."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        return reply(SW.WRONG_LENGTH) if not apdu.data else super()._select_by_name(channel, apdu)


class DefaultFciLies(Card):
    """SELECT without data selects the default application, but its FCI names the JPKI AID as DF name."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        if apdu.data or not response.ok:
            return response
        jpki = next(a for a in self.registry if a.startswith(bytes.fromhex("D392F0")))
        fci = decode(response.data)[0]
        rest = b"".join(c.encode() for c in fci.children() if c.tag != 0x84)
        return ResponseApdu(Tlv(0x6F, Tlv(0x84, jpki).encode() + rest).encode(), response.sw)


class DefaultWithoutFci(Card):
    """SELECT without data selects the default application but returns no FCI."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return ResponseApdu(b"", response.sw) if not apdu.data else response


class NoImplicitSelection(Card):
    """After a reset nothing is selected on the basic channel; the default application must be selected."""

    def _clear_transient(self) -> None:
        super()._clear_transient()
        self._deselect(self.channels[0])


class JpkiImplicitlySelected(Card):
    """After a reset the JPKI application, not the claimed default application, is selected."""

    def _clear_transient(self) -> None:
        super()._clear_transient()
        jpki = next((e for a, e in self.registry.items() if a.startswith(bytes.fromhex("D392F0"))), None)
        if jpki is not None:
            self._make_selected(self.channels[0], jpki)


class ChannelNumbersRepeat(Card):
    """MANAGE CHANNEL open hands out channel 1 every time (the number of a free channel is not looked up)."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x00 and apdu.p2 == 0x00 and apdu.ne == 1 and not apdu.data:
            if 1 in self.channels:
                self._deselect(self.channels.pop(1))
            self.channels[1] = Channel(1)
            return reply(SW.OK, b"\x01")
        return super()._manage_channel(channel, apdu)


class OneChannelShort(Card):
    """Opens one logical channel fewer than it claims."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x00 and len(self.channels) >= self.personality.logical_channels - 1:
            return reply(SW.FUNCTION_NOT_SUPPORTED)
        return super()._manage_channel(channel, apdu)


class NoChannel6A84(Card):
    """With every channel open, MANAGE CHANNEL open answers 6A84 (not enough memory) instead of 6A81."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._manage_channel(channel, apdu)
        return reply(SW.NOT_ENOUGH_MEMORY) if response.sw == SW.FUNCTION_NOT_SUPPORTED else response


class RefusalClosesLast(Card):
    """Refusing a channel beyond the claim closes the last channel opened."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._manage_channel(channel, apdu)
        if apdu.p1 == 0x00 and response.sw == SW.FUNCTION_NOT_SUPPORTED:
            self._deselect(self.channels.pop(max(self.channels)))
        return response


class FailedSelectClearsOtherChannels(Card):
    """A failed SELECT deselects the application on every other logical channel too."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        if response.sw == SW.FILE_NOT_FOUND:
            for other in self.channels.values():
                if other is not channel:
                    self._deselect(other)
        return response


class SelectCopiesCurrentEf(Card):
    """An application selected on a channel while it is selected on another gets that channel's current EF."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        if response.ok:
            for other in self.channels.values():
                if other is not channel and other.selected is channel.selected and "ef" in other.session:
                    channel.session["ef"] = other.session["ef"]
        return response


class NotMultiselectable6A82(Card):
    """An application already selected on another channel is refused with 6A82 (not 6985: GPCS §11.9.2.2)."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        entry = self.registry.get(apdu.data)
        if entry is not None and entry is not channel.selected and self._selected_elsewhere(entry, channel):
            return reply(SW.FILE_NOT_FOUND)
        return super()._select_by_name(channel, apdu)


class ClosedChannel6E00(Card):
    """A command on a channel that is not open answers 6E00 (class not supported) instead of 6881."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        return reply(SW.CLA_NOT_SUPPORTED) if response.sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED else response


class CloseOnlyFromItself(Card):
    """MANAGE CHANNEL close of another channel is refused with 6A86: a channel can only close itself."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x80 and apdu.p2 not in (0, channel.number):
            return reply(SW.INCORRECT_P1P2)
        return super()._manage_channel(channel, apdu)


class CloseBasicWarning(Card):
    """MANAGE CHANNEL close of the basic channel answers the warning 6283 (selected file deactivated)."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x80 and apdu.p2 == 0 and channel.number == 0:
            return reply(0x6283)
        return super()._manage_channel(channel, apdu)


class CloseBasicClearsSelection(Card):
    """MANAGE CHANNEL close of the basic channel is refused with 6A86, but its selection is cleared."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._manage_channel(channel, apdu)
        if apdu.p1 == 0x80 and apdu.p2 == 0 and channel.number == 0:
            self._deselect(channel)
        return response


class CloseBasic6700(Card):
    """MANAGE CHANNEL close of the basic channel is refused with 6700 (wrong length)."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 == 0x80 and apdu.p2 == 0 and channel.number == 0:
            return reply(SW.WRONG_LENGTH)
        return super()._manage_channel(channel, apdu)


class ChannelBits6E00(Card):
    """A basic-channel-only card answers 6E00 (class not supported) to a CLA with channel bits."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        return reply(SW.CLA_NOT_SUPPORTED) if response.sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED else response


class ChannelBitsExecuted(Card):
    """A command with channel bits is run on the basic channel, then answered 6881."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) >= 4 and not raw[0] & 0x40 and raw[0] & 0x03 and raw[0] != 0xFF:
            super()._process(_with_channel(raw, 0))
            return reply(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
        return super()._process(raw)


class ManageChannelOpens(Card):
    """A basic-channel-only card answers MANAGE CHANNEL open with a channel number (that it cannot use)."""

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if self.personality.logical_channels <= 1 and apdu.p1 == 0x00:
            return reply(SW.OK, b"\x01")
        return super()._manage_channel(channel, apdu)


def _map_sw(source: int, target: int, when: Callable[[bytes], bool]) -> type[Card]:
    class Mapped(Card):
        def _process(self, raw: bytes) -> ResponseApdu:
            response = super()._process(raw)
            return reply(target) if response.sw == source and when(raw) else response

    return Mapped


class UnknownIns6E00(_map_sw(SW.INS_NOT_SUPPORTED, SW.CLA_NOT_SUPPORTED, lambda raw: raw[1] in (0x02, 0xEE))):
    """An unknown instruction is answered 6E00 (class not supported) instead of 6D00."""


class UnknownIns6F00(
    _map_sw(SW.INS_NOT_SUPPORTED, SW.NO_PRECISE_DIAGNOSIS, lambda raw: raw[1] in (0x02, 0xEE))
):
    """An unknown instruction makes the applet fail: 6F00 (no precise diagnosis) instead of 6D00."""


class _ErrorClearsEf(Card):
    """Base: a command refused with one of ``CLEARS`` loses the channel's current EF."""

    CLEARS: tuple[int, ...] = ()

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        if response.sw in self.CLEARS:
            number = cla_channel(raw[0]) if raw else None
            channel = self.channels.get(number) if number is not None else None
            if channel is not None:
                channel.session.pop("ef", None)
        return response


class UnknownInsClearsEf(_ErrorClearsEf):
    """An unknown instruction (6D00) clears the current EF."""

    CLEARS = (SW.INS_NOT_SUPPORTED,)


class BadClassClearsEf(Card):
    """A command with a reserved class (6E00) clears the basic channel's current EF."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        if response.sw == SW.CLA_NOT_SUPPORTED and 0 in self.channels:
            self.channels[0].session.pop("ef", None)
        return response


class WrongLengthClearsEf(_ErrorClearsEf):
    """A command refused with 6700 clears the current EF."""

    CLEARS = (SW.WRONG_LENGTH,)


class BadClass6D00(Card):
    """A reserved class is answered 6D00 (instruction not supported) instead of 6E00."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        return reply(SW.INS_NOT_SUPPORTED) if response.sw == SW.CLA_NOT_SUPPORTED else response


class HighRfuClassProcessed(Card):
    """Only the classes 20-2F are refused; 30-3F are processed as 00-0F (a half-done class check)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if raw[:1] and 0x30 <= raw[0] <= 0x3F:
            raw = bytes((raw[0] & 0x0F,)) + raw[1:]
        return super()._process(raw)


class RfuClassReadProcessed(Card):
    """A reserved class is refused for SELECT but READ BINARY with it is processed (the class is checked by
    the SELECT handler only)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) >= 4 and 0x20 <= raw[0] <= 0x3F and raw[1] == 0xB0:
            raw = bytes((raw[0] & 0x03,)) + raw[1:]
        return super()._process(raw)


class ReadWithDataOk(Card):
    """READ BINARY ignores a command data field."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) > 6 and raw[1] == 0xB0 and raw[4] and len(raw) == 6 + raw[4]:
            raw = raw[:4] + raw[-1:]
        return super()._process(raw)


class LcLong6A87(Card):
    """An Lc longer than the data is answered 6A87 (Lc inconsistent with P1-P2) instead of 6700."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        if response.sw == SW.WRONG_LENGTH and len(raw) > 5 and raw[4] and len(raw) < 5 + raw[4]:
            return reply(SW.LC_INCONSISTENT_WITH_P1P2)
        return response


class LcLongPadded(Card):
    """Data bytes missing after a short Lc are taken as 00 (the receive buffer's old content)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) > 5 and raw[4] and len(raw) < 5 + raw[4]:
            raw = raw + b"\x00" * (5 + raw[4] - len(raw))
        return super()._process(raw)


class Malformed6D00(Card):
    """A command whose length fields do not parse is answered 6D00 instead of 6700."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        try:
            CommandApdu.parse(raw)
        except Exception:
            return reply(SW.INS_NOT_SUPPORTED)
        return response


class MalformedStuck(Card):
    """After a malformed APDU the receive buffer is stuck: the next command is answered 6700 too."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if getattr(self, "_stuck", False):
            self._stuck = False
            return reply(SW.WRONG_LENGTH)
        try:
            CommandApdu.parse(raw)
        except Exception:
            self._stuck = True
        return super()._process(raw)


class ShortHeaderSilent(Card):
    """A byte string shorter than a header gets an empty answer (no status word at all)."""

    def process(self, command: bytes) -> bytes:
        return b"" if len(command) < 4 else super().process(command)


class ShortBuffers(Card):
    """Accepts the extended length coding but its buffers hold a short APDU only: more than 255 data bytes
    are refused with 6700, however much the ICS claims."""

    def _process(self, raw: bytes) -> ResponseApdu:
        try:
            apdu = CommandApdu.parse(raw)
        except Exception:
            return super()._process(raw)
        return reply(SW.WRONG_LENGTH) if len(apdu.data) > 255 else super()._process(raw)


class ResponseCapped256(Card):
    """Accepts extended Le but never returns more than 256 bytes in a response."""

    def _shape(self, channel: Channel, apdu: CommandApdu, response: ResponseApdu) -> ResponseApdu:
        shaped = super()._shape(channel, apdu, response)
        return ResponseApdu(shaped.data[:256], shaped.sw) if len(shaped.data) > 256 else shaped


class ResponseChained61xx(Card):
    """Answers an extended Le above 256 with 256 bytes and 61xx, leaving the rest for GET RESPONSE."""

    def _shape(self, channel: Channel, apdu: CommandApdu, response: ResponseApdu) -> ResponseApdu:
        shaped = super()._shape(channel, apdu, response)
        if len(shaped.data) <= 256:
            return shaped
        channel.pending = shaped.data[256:] + shaped.sw.to_bytes(2, "big")
        return ResponseApdu(shaped.data[:256], 0x6100 | (min(len(shaped.data) - 256, 256) & 0xFF))


class ExtendedLeLowByte(Card):
    """Decodes an extended Le from its low byte only (Ne = Le2, 00 meaning 256)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) == 7 and raw[4] == 0:
            raw = raw[:4] + raw[6:7]  # case 2E taken as case 2S with Le = Le2
        return super()._process(raw)


class CommandDataTruncated(Card):
    """Copies at most 255 bytes of an extended command data field into its buffer; the rest is lost."""

    def _process(self, raw: bytes) -> ResponseApdu:
        try:
            apdu = CommandApdu.parse(raw)
        except Exception:
            return super()._process(raw)
        if len(apdu.data) > 255:
            raw = dataclasses.replace(apdu, data=apdu.data[:255], extended=True).to_bytes()
        return super()._process(raw)


class DataCutAtTheClaim(Card):
    """Its command buffer holds exactly the 2048 bytes the gp-se profile claims (max_command_data): the bytes
    of a longer data field are dropped silently and the rest is processed with 9000."""

    CLAIM = 2048

    def _process(self, raw: bytes) -> ResponseApdu:
        try:
            apdu = CommandApdu.parse(raw)
        except Exception:
            return super()._process(raw)
        if len(apdu.data) > self.CLAIM:
            raw = dataclasses.replace(apdu, data=apdu.data[: self.CLAIM], extended=True).to_bytes()
        return super()._process(raw)


class DataLimitOffByOne(Card):
    """Its length check is off by one at the claim: a data field of exactly the 2048 bytes the gp-se profile
    claims (max_command_data) is refused with 6700; 2047 bytes pass."""

    LIMIT = 2048

    def _process(self, raw: bytes) -> ResponseApdu:
        try:
            apdu = CommandApdu.parse(raw)
        except Exception:
            return super()._process(raw)
        return reply(SW.WRONG_LENGTH) if len(apdu.data) >= self.LIMIT else super()._process(raw)


class ExtendedSelectReturnsFci(Card):
    """A case 3E SELECT (P2=0C) returns an FCI although P2=0C asks for none (the extended path forgets P2)."""

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        response = super()._select_by_name(channel, apdu)
        return ResponseApdu(b"\x6f\x00", response.sw) if response.ok and apdu.is_extended else response


class ExtendedReject6A86(Card):
    """An extended APDU on a card that does not claim extended length is refused with 6A86."""

    def _process(self, raw: bytes) -> ResponseApdu:
        response = super()._process(raw)
        extended = len(raw) >= 7 and raw[4] == 0
        return reply(SW.INCORRECT_P1P2) if extended and response.sw == SW.WRONG_LENGTH else response


class ExtendedLeAccepted(Card):
    """Refuses extended length only when there is a data field: a case 2E READ BINARY is processed."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) == 7 and raw[4] == 0 and not self.personality.extended_length:
            ne = int.from_bytes(raw[5:7], "big") or 65536
            return super()._process(raw[:4] + bytes((ne & 0xFF,)))
        return super()._process(raw)


class ExtendedRejectStuck(Card):
    """After refusing an extended APDU the card answers the next command 6700 as well."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if getattr(self, "_stuck", False):
            self._stuck = False
            return reply(SW.WRONG_LENGTH)
        response = super()._process(raw)
        if len(raw) >= 7 and raw[4] == 0 and response.sw == SW.WRONG_LENGTH:
            self._stuck = True
        return response


class LeIgnored(Card):
    """Ignores Le: a response carries all the data the command produced (up to 256 bytes per READ BINARY)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) == 5 and raw[1] == 0xB0:
            raw = raw[:4] + b"\x00"
        return super()._process(raw)


class Le256As255(Card):
    """Takes the short Le 00 as 255, not 256 (an off-by-one in the Le decoding)."""

    def _process(self, raw: bytes) -> ResponseApdu:
        if len(raw) == 5 and raw[4] == 0:
            raw = raw[:4] + b"\xff"
        return super()._process(raw)


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
select_warning_6283 = _factory(SelectWarning6283)
select_fci_only = _factory(SelectFciOnly)
failed_select_deselects = _factory(FailedSelectDeselects)
absent_6a86 = _factory(Absent6A86)
aid_prefix_match = _factory(AidPrefixMatch)
select_no_data_6700 = _factory(SelectNoData6700)
default_fci_lies = _factory(DefaultFciLies)
default_without_fci = _factory(DefaultWithoutFci)
no_implicit_selection = _factory(NoImplicitSelection)
jpki_implicitly_selected = _factory(JpkiImplicitlySelected)
channel_numbers_repeat = _factory(ChannelNumbersRepeat)
one_channel_short = _factory(OneChannelShort)
no_channel_6a84 = _factory(NoChannel6A84)
refusal_closes_last = _factory(RefusalClosesLast)
failed_select_clears_other_channels = _factory(FailedSelectClearsOtherChannels)
select_copies_current_ef = _factory(SelectCopiesCurrentEf)
not_multiselectable_6a82 = _factory(NotMultiselectable6A82)
closed_channel_6e00 = _factory(ClosedChannel6E00)
close_only_from_itself = _factory(CloseOnlyFromItself)
close_basic_warning = _factory(CloseBasicWarning)
close_basic_clears_selection = _factory(CloseBasicClearsSelection)
close_basic_6700 = _factory(CloseBasic6700)
channel_bits_6e00 = _factory(ChannelBits6E00)
channel_bits_executed = _factory(ChannelBitsExecuted)
manage_channel_opens = _factory(ManageChannelOpens)
unknown_ins_6e00 = _factory(UnknownIns6E00)
unknown_ins_6f00 = _factory(UnknownIns6F00)
unknown_ins_clears_ef = _factory(UnknownInsClearsEf)
bad_class_clears_ef = _factory(BadClassClearsEf)
wrong_length_clears_ef = _factory(WrongLengthClearsEf)
bad_class_6d00 = _factory(BadClass6D00)
high_rfu_class_processed = _factory(HighRfuClassProcessed)
rfu_class_read_processed = _factory(RfuClassReadProcessed)
read_with_data_ok = _factory(ReadWithDataOk)
lc_long_6a87 = _factory(LcLong6A87)
lc_long_padded = _factory(LcLongPadded)
malformed_6d00 = _factory(Malformed6D00)
malformed_stuck = _factory(MalformedStuck)
short_header_silent = _factory(ShortHeaderSilent)
short_buffers = _factory(ShortBuffers)
response_capped_256 = _factory(ResponseCapped256)
response_chained_61xx = _factory(ResponseChained61xx)
extended_le_low_byte = _factory(ExtendedLeLowByte)
command_data_truncated = _factory(CommandDataTruncated)
data_cut_at_the_claim = _factory(DataCutAtTheClaim)
data_limit_off_by_one = _factory(DataLimitOffByOne)
extended_select_returns_fci = _factory(ExtendedSelectReturnsFci)
extended_reject_6a86 = _factory(ExtendedReject6A86)
extended_le_accepted = _factory(ExtendedLeAccepted)
extended_reject_stuck = _factory(ExtendedRejectStuck)
le_ignored = _factory(LeIgnored)
le_256_as_255 = _factory(Le256As255)
