"""Deliberately non-conforming contactless readers, one fault each (tests/faults/rw.yaml): factories
``(personality, state) -> reader`` for a profile's ``ixit.transport.factory``, built from the reference
virtual reader (jpkikit/reference/reader/virtual.py) with one change. ``*_b`` are RW-1 with its Type B phone,
``*_a`` RW-2 with its Type A phone (profiles/reference-reader.yaml, reference-reader-a.yaml)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from jpkikit.errors import CardAbsent
from jpkikit.reference.reader import virtual
from jpkikit.reference.reader.virtual import READER_1, READER_2, TARGET_A, TARGET_B, VirtualReader
from jpkikit.vocab import iso14443
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.pcsc import part3

Factory = Callable[[str | None, str | Path | None], VirtualReader]


def _b(cls: type[VirtualReader]) -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> VirtualReader:
        return virtual.reader(personality, state, READER_1, TARGET_B, cls)

    return factory


def _a(cls: type[VirtualReader]) -> Factory:
    def factory(personality: str | None, state: str | Path | None = None) -> VirtualReader:
        return virtual.reader(personality, state, READER_2, TARGET_A, cls)

    return factory


# -- RW-ATR-01 / RW-ATR-02: the pseudo-ATR -------------------------------------------------------------------


class WrongTck(VirtualReader):
    def pseudo_atr_a(self, ats: iso14443.Ats) -> bytes:
        atr = super().pseudo_atr_a(ats)
        return atr[:-1] + bytes((atr[-1] ^ 0x01,))

    def pseudo_atr_b(self, atqb: iso14443.Atqb) -> bytes:
        atr = super().pseudo_atr_b(atqb)
        return atr[:-1] + bytes((atr[-1] ^ 0x01,))


class HistoricalCutTo8(VirtualReader):
    def pseudo_atr_a(self, ats: iso14443.Ats) -> bytes:
        return part3.contactless_atr(ats.historical[:8])  # a fixed-size buffer for the ATS bytes


class TypeBFormForTypeA(VirtualReader):
    def pseudo_atr_a(self, ats: iso14443.Ats) -> bytes:
        return part3.type_b_atr(ats.historical[:4].ljust(4, b"\x00"), b"\x00\x71\x81", 0)


class NoHistoricalBytes(VirtualReader):
    def pseudo_atr_a(self, ats: iso14443.Ats) -> bytes:
        return part3.contactless_atr(b"")


class MbliInLowNibble(VirtualReader):
    def pseudo_atr_b(self, atqb: iso14443.Atqb) -> bytes:
        return part3.contactless_atr(
            atqb.application_data + atqb.protocol_info + bytes((atqb.mbli & 0x0F | 0x01,))
        )


class NoProtocolInfo(VirtualReader):
    def pseudo_atr_b(self, atqb: iso14443.Atqb) -> bytes:
        return part3.contactless_atr(atqb.application_data + bytes(4))


class ApplicationDataReversed(VirtualReader):
    def pseudo_atr_b(self, atqb: iso14443.Atqb) -> bytes:
        return part3.type_b_atr(atqb.application_data[::-1], atqb.protocol_info, atqb.mbli)


class TypeAFormForTypeB(VirtualReader):
    def pseudo_atr_b(self, atqb: iso14443.Atqb) -> bytes:
        return part3.contactless_atr(b"JPKIKIT-GPSE")  # the card's contact historical bytes, as for Type A


wrong_tck_a = _a(WrongTck)
historical_cut_to_8_a = _a(HistoricalCutTo8)
type_b_form_for_type_a_a = _a(TypeBFormForTypeA)
no_historical_bytes_a = _a(NoHistoricalBytes)
wrong_tck_b = _b(WrongTck)
mbli_in_low_nibble_b = _b(MbliInLowNibble)
no_protocol_info_b = _b(NoProtocolInfo)
application_data_reversed_b = _b(ApplicationDataReversed)
type_a_form_for_type_b_b = _b(TypeAFormForTypeB)


# -- RW-UID-01, RW-HIST-01, RW-PA-01: the pseudo-APDUs ------------------------------------------------------


class _Pseudo(VirtualReader):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        return None

    def pseudo_apdu(self, command: bytes) -> ResponseApdu:
        apdu = CommandApdu.parse(command)
        assert self.activation is not None
        value = self.activation.uid if apdu.p1 == 0 else (self.activation.historical or b"")
        changed = self.answer(apdu, value)
        return changed if changed is not None else super().pseudo_apdu(command)


class UidEmpty(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        return ResponseApdu(b"", SW.OK) if apdu.p1 == 0 else None  # 9000 and no UID


class UidChangesEveryTime(VirtualReader):
    def pseudo_apdu(self, command: bytes) -> ResponseApdu:
        assert self.activation is not None
        if command[2:3] == b"\x00":
            self.activation = self.activate()  # re-polls the field for every GET DATA
        return super().pseudo_apdu(command)


class UidWithSak(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        return self.length_rules(value + b"\x44\x00", apdu) if apdu.p1 == 0 else None  # UID ‖ ATQA


class PupiWithApplicationData(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        return self.length_rules(value + self.target.application_data, apdu) if apdu.p1 == 0 else None


class WholeAts(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        if apdu.p1 != 1:
            return None
        return self.length_rules(iso14443.Ats(self.target.fsci, historical=value).encode(), apdu)


class HistoricalWithTck(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        return self.length_rules(self.atr[4:], apdu) if apdu.p1 == 1 else None  # historical bytes and TCK


class HistoricalUnsupported(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        return ResponseApdu(b"", part3.SW_NOT_SUPPORTED) if apdu.p1 == 1 else None


class ShortLeTruncates(VirtualReader):
    def length_rules(self, value: bytes, apdu: CommandApdu) -> ResponseApdu:
        le = apdu.ne or 256
        if le < len(value) and not (apdu.ne == 256 and not apdu.is_extended):
            return ResponseApdu(value[:le], SW.OK)  # cut to Le, no 6Cxx
        return super().length_rules(value, apdu)


class LongLeAnswers9000(VirtualReader):
    def length_rules(self, value: bytes, apdu: CommandApdu) -> ResponseApdu:
        r = super().length_rules(value, apdu)
        return ResponseApdu(r.data, SW.OK) if r.sw == part3.SW_MORE_THAN_AVAILABLE else r


class AnyP1IsTheUid(_Pseudo):
    def answer(self, apdu: CommandApdu, value: bytes) -> ResponseApdu | None:
        assert self.activation is not None
        return self.length_rules(self.activation.uid, apdu) if apdu.p1 not in (0, 1) else None


uid_empty_b = _b(UidEmpty)
uid_changes_every_time_b = _b(UidChangesEveryTime)
uid_with_sak_a = _a(UidWithSak)
pupi_with_application_data_b = _b(PupiWithApplicationData)
whole_ats_a = _a(WholeAts)
historical_with_tck_a = _a(HistoricalWithTck)
historical_unsupported_a = _a(HistoricalUnsupported)
short_le_truncates_b = _b(ShortLeTruncates)
long_le_answers_9000_b = _b(LongLeAnswers9000)
any_p1_is_the_uid_b = _b(AnyP1IsTheUid)


# -- RW-TR-01 / RW-TR-02 / RW-CHN-01: transparency and chaining ---------------------------------------------


class Le00Is255(VirtualReader):
    """Short Le 00 is passed to the card as Le FF."""

    def exchange(self, command: bytes) -> bytes:
        if (
            len(command) >= 5
            and command[-1] == 0x00
            and len(command) in (5, 6 + command[4])
            and command[4] != 0
        ):
            command = command[:-1] + b"\xff"
        elif len(command) == 5 and command[4] == 0x00:
            command = command[:-1] + b"\xff"
        return super().exchange(command)


class LongCommandLosesLastByte(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        try:
            apdu = CommandApdu.parse(command)
        except Exception:
            return super().exchange(command)
        if not apdu.is_extended and len(apdu.data) > 240:
            command = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data[:-1], apdu.ne).to_bytes()
        return super().exchange(command)


class ResponseBytesFlipped(VirtualReader):
    def reassemble(self, blocks: list[bytes]) -> bytes:
        data = super().reassemble(blocks)
        if len(data) > 200:
            data = data[:100] + bytes((data[100] ^ 0xFF,)) + data[101:]  # a bit error past the first frame
        return data


class ExtendedResponseCutAt256(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        response = super().exchange(command)
        if len(response) > 258:
            return response[:256] + response[-2:]  # a 256-byte receive buffer
        return response


class ExtendedLeMadeShort(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        apdu = None
        try:
            apdu = CommandApdu.parse(command)
        except Exception:
            pass
        if apdu is not None and apdu.is_extended and apdu.ne and not apdu.data:
            command = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, ne=256).to_bytes()
        return super().exchange(command)


class ExtendedCommandRefused(VirtualReader):
    def refuse(self, command: bytes) -> ResponseApdu | None:
        try:
            if CommandApdu.parse(command).is_extended and CommandApdu.parse(command).data:
                return ResponseApdu(b"", SW.WRONG_LENGTH)  # claims extended length, refuses extended Lc
        except Exception:
            pass
        return super().refuse(command)


class DropsLastCommandBlock(VirtualReader):
    def chain(self, data: bytes, frame: int, direction: str) -> list[bytes]:
        blocks = super().chain(data, frame, direction)
        return blocks[:-1] if direction == "to card" and len(blocks) > 1 else blocks


class DropsLastResponseBlock(VirtualReader):
    def chain(self, data: bytes, frame: int, direction: str) -> list[bytes]:
        blocks = super().chain(data, frame, direction)
        return [*blocks[:-1], blocks[-1][-2:]] if direction == "to reader" and len(blocks) > 1 else blocks


class RepeatsABlock(VirtualReader):
    def chain(self, data: bytes, frame: int, direction: str) -> list[bytes]:
        blocks = super().chain(data, frame, direction)
        return [blocks[0], *blocks] if direction == "to card" and len(blocks) > 1 else blocks  # a lost ACK


le00_is_255_b = _b(Le00Is255)
long_command_loses_last_byte_b = _b(LongCommandLosesLastByte)
response_bytes_flipped_b = _b(ResponseBytesFlipped)
extended_response_cut_at_256_b = _b(ExtendedResponseCutAt256)
extended_le_made_short_b = _b(ExtendedLeMadeShort)
extended_command_refused_b = _b(ExtendedCommandRefused)
drops_last_command_block_b = _b(DropsLastCommandBlock)
drops_last_response_block_b = _b(DropsLastResponseBlock)
repeats_a_block_a = _a(RepeatsABlock)


# -- RW-SW-01: 61xx ------------------------------------------------------------------------------------------


class Swallows61xx(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        response = super().exchange(command)
        return b"\x90\x00" if response[-2] == 0x61 else response  # the data is lost


class CollectsAlthoughPass(VirtualReader):
    def process(self, command: bytes) -> bytes:
        response = super().process(command)
        if response[-2:-1] == b"\x61" and command[:1] != b"\xff":
            return self.collect(command, response)
        return response


class PassesAlthoughCollect(VirtualReader):
    def collect(self, command: bytes, response: bytes) -> bytes:
        return response


class CollectLosesLastPart(VirtualReader):
    def collect(self, command: bytes, response: bytes) -> bytes:
        full = super().collect(command, response)
        return full[:-18] + full[-2:] if len(full) > 18 else full


swallows_61xx_b = _b(Swallows61xx)
collects_although_pass_b = _b(CollectsAlthoughPass)
passes_although_collect_a = _a(PassesAlthoughCollect)
collect_loses_last_part_a = _a(CollectLosesLastPart)


# -- RW-JPKI-01 / RW-TIME-01: the client sequence and its timing ------------------------------------------


class ReactivatesEveryFewApdus(VirtualReader):
    """The field drops every 6 APDUs: the card is re-activated and forgets its selection and PIN state."""

    count = 0

    def exchange(self, command: bytes) -> bytes:
        self.count += 1
        if self.count % 6 == 0:
            self.card.reset()
        return super().exchange(command)


class ProprietaryClassRewritten(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        if command[:1] == b"\x80":
            command = b"\x00" + command[1:]  # a reader that 'normalises' CLA 80 to 00
        return super().exchange(command)


class ResetsSecurityOnSelectEf(VirtualReader):
    """Re-selects the application before every SELECT EF (a 'helpful' reader firmware), losing VERIFY."""

    def exchange(self, command: bytes) -> bytes:
        if command[:4] == bytes.fromhex("00A4020C"):
            super().exchange(bytes.fromhex("00A4040C0AD392F000260100000001"))
        return super().exchange(command)


class SlowEveryApdu(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        time.sleep(0.3)
        return super().exchange(command)


class SlowSignature(VirtualReader):
    def exchange(self, command: bytes) -> bytes:
        if command[:2] == b"\x80\x2a":
            time.sleep(1.1)  # waits a whole FWT too long before polling the card
        return super().exchange(command)


class SlowChains(VirtualReader):
    def chain(self, data: bytes, frame: int, direction: str) -> list[bytes]:
        blocks = super().chain(data, frame, direction)
        if len(blocks) > 1:
            time.sleep(0.3 * (len(blocks) - 1))  # waits for each acknowledgement far too long
        return blocks


reactivates_every_few_apdus_b = _b(ReactivatesEveryFewApdus)
proprietary_class_rewritten_b = _b(ProprietaryClassRewritten)
resets_security_on_select_ef_b = _b(ResetsSecurityOnSelectEf)
slow_every_apdu_b = _b(SlowEveryApdu)
slow_signature_b = _b(SlowSignature)
slow_chains_b = _b(SlowChains)


# -- RW-RM-01: removal ---------------------------------------------------------------------------------------


class RemovalAnswers9000(VirtualReader):
    """The reader re-activates the card at once and carries the command on, as if nothing happened."""

    def removed_during(self, command: bytes) -> None:
        self.card.power_off()
        self.card.power_on()


class RemovalAnswers6F00(VirtualReader):
    def process(self, command: bytes) -> bytes:
        try:
            return super().process(command)
        except CardAbsent:
            return b"\x6f\x00"  # a status word instead of the removal event


class StaleAfterRemoval(VirtualReader):
    """After the card came back the reader keeps its old, dead activation."""

    def removed_during(self, command: bytes) -> None:
        self.dead = True
        super().removed_during(command)

    def power_on(self) -> bytes:
        atr = super().power_on()
        if getattr(self, "dead", False):
            self.card.power_off()  # the field never comes back up
        return atr


removal_answers_9000_b = _b(RemovalAnswers9000)
removal_answers_6f00_b = _b(RemovalAnswers6F00)
stale_after_removal_b = _b(StaleAfterRemoval)
