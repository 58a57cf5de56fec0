"""The reference virtual reader (docs/spec/reader.md#the-reference-reader): a contactless PC/SC reader in
front of the kit's emulator, behaving as a PC/SC Part 3 reader does towards the host and as an ISO/IEC 14443-4
PCD towards the card. It is itself a simulated card (jpkikit.host.link.SimulatedCard: power, ATR, one APDU at
a time), so it runs in-process and behind vpcd (``jpkikit emulate --factory
jpkikit.reference.reader.virtual:type_b``) alike.

- **Activation.** On power-on the card is activated as the reader's target type: Type A answers an ATS
  (FSCI, TA/TB/TC, the card's historical bytes), Type B an ATQB (PUPI, application data, protocol info with
  Max_Frame_Size) and, to ATTRIB, its MBLI (ISO/IEC 14443-3 ATQB and ATTRIB; -4 answer to select).
- **The pseudo-ATR** (PC/SC Part 3 §3.1.3.2.3): ``3B 8n 80 01`` + the ATS historical bytes (A), or the ATQB
  application data, protocol info and MBLI (B), + TCK.
- **Pseudo-APDUs** (class FF, never sent to the card): GET DATA ``FF CA 00 00`` (UID or PUPI) and ``FF CA 01
  00`` (the ATS historical bytes, Type A) with PC/SC's length rules: Le 00 the whole value; a shorter Le 6Cxx;
  a longer one the value with 6282; P1 not supported 6A81. Any other FF command: 6A81.
- **Frames.** Each APDU crosses the field as ISO/IEC 14443-4 I-blocks of at most the card's FSC (command) or
  the reader's FSD (response), chained (ISO/IEC 14443-4 chaining) and put together again at the other end, so
  the APDU arrives whole. A command the reader cannot carry (an extended one when it claims short APDUs only,
  or more data than its maximum) is refused by the reader with 6700 and never reaches the card; a response
  longer than its maximum response data is answered 6700 too.
- **61xx and 6Cxx** are passed to the host as the card gave them (``sw61``/``sw6c`` "pass"), or handled by the
  reader: ``collect`` sends GET RESPONSE until a final status word and returns the whole response;
  ``reissue`` sends the command again with Le = xx once.
- **The test bed** (jpkikit.vocab.testbed, honoured when the kit launched it): "remove during next" takes the
  card out of the field while the next command is carried: the reader reports the removal (CardAbsent) and the
  card comes back, unpowered, for the next session. Other test-bed commands go to the card.

Construction: :func:`type_a` / :func:`type_b` are ``(personality, state)`` factories for a profile's
``ixit.transport.factory`` or ``serve.factory``; :class:`ReaderConfig` and :class:`Target` say what the reader
and its card are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from jpkikit.errors import CardAbsent
from jpkikit.reference.emulator.build import make_card
from jpkikit.vocab import iso14443, testbed
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.pcsc import part3

SHORT_COMMAND_DATA, SHORT_RESPONSE_DATA = 255, 256


@dataclass(frozen=True)
class ReaderConfig:
    """What the reader is (its ICS: ics.rw in the profile)."""

    name: str = "jpkikit virtual reader"
    fsdi: int = 8  # FSD 256
    extended_length: bool = True
    max_command_data: int = 2048
    max_response_data: int = 2048
    sw61: Literal["pass", "collect"] = "pass"
    sw6c: Literal["pass", "reissue"] = "pass"
    max_get_response: int = 64


@dataclass(frozen=True)
class Target:
    """The card in the field: its type and the answers it gives at activation."""

    type: Literal["A", "B"]
    uid: bytes | None = None  # None: a random 4-byte UID / PUPI at every activation, as phones do
    fsci: int = 7  # FSC 128
    historical: bytes = b"JPKIKIT-PHONE"  # Type A: the ATS historical bytes
    application_data: bytes = bytes(4)  # Type B: ATQB application data
    mbli: int = 0


@dataclass
class Activation:
    uid: bytes
    atr: bytes
    fsc: int
    historical: bytes | None  # Type A only


class VirtualReader:
    """A contactless PC/SC reader with ``card`` in its field (SimulatedCard in both directions)."""

    def __init__(self, card: Any, config: ReaderConfig, target: Target) -> None:
        self.card = card
        self.config = config
        self.target = target
        self.activation: Activation | None = None
        self._remove_next = False
        self.blocks: list[tuple[str, int]] = []  # (direction, information field size) of each I-block

    # -- test bed: forwarded to the card ------------------------------------------------------------------

    @property
    def testbed(self) -> bool:
        return bool(getattr(self.card, "testbed", False))

    @testbed.setter
    def testbed(self, value: bool) -> None:
        self.card.testbed = value

    # -- power and activation --------------------------------------------------------------------------------

    def power_on(self) -> bytes:
        self.card.power_on()
        self.activation = self.activate()
        return self.activation.atr

    def power_off(self) -> None:
        self.activation = None
        self.card.power_off()

    def reset(self) -> bytes:
        return self.power_on()  # a contactless reader resets the card by switching the field off and on

    @property
    def atr(self) -> bytes:
        """The pseudo-ATR. The card is in the field before the host powers it (PC/SC reports it present
        with its ATR, and vpcd asks for the ATR to see it there): unpowered, the ATR its activation gives."""
        return (self.activation or self.activate()).atr

    def activate(self) -> Activation:
        """ISO/IEC 14443-3/-4 activation and the PC/SC pseudo-ATR built from its answers."""
        t = self.target
        uid = t.uid if t.uid is not None else b"\x08" + os.urandom(3)  # 08: a random single-size UID
        if t.type == "A":
            ats = iso14443.Ats(t.fsci, historical=t.historical)
            return Activation(uid, self.pseudo_atr_a(ats), ats.fsc, ats.historical)
        atqb = iso14443.Atqb(uid[:4], t.application_data, iso14443.protocol_info(t.fsci), t.mbli)
        return Activation(uid[:4], self.pseudo_atr_b(atqb), atqb.fsc, None)

    def pseudo_atr_a(self, ats: iso14443.Ats) -> bytes:
        return part3.type_a_atr(ats.historical)

    def pseudo_atr_b(self, atqb: iso14443.Atqb) -> bytes:
        return part3.type_b_atr(atqb.application_data, atqb.protocol_info, atqb.mbli)

    # -- one APDU from the host ------------------------------------------------------------------------------

    def process(self, command: bytes) -> bytes:
        command = bytes(command)
        if self.activation is None:
            return ResponseApdu(b"", SW.NO_PRECISE_DIAGNOSIS).to_bytes()  # no card activated
        if command[:1] == bytes((part3.PSEUDO_CLA,)):
            return self.pseudo_apdu(command).to_bytes()
        if (
            self.testbed
            and (verb := testbed.parse(command)) is not None
            and verb[0] == testbed.REMOVE_DURING_NEXT
        ):
            self._remove_next = True
            return ResponseApdu(b"", SW.OK).to_bytes()
        refused = self.refuse(command)
        if refused is not None:
            return refused.to_bytes()
        if self._remove_next:
            self._remove_next = False
            self.removed_during(command)
        response = self.exchange(command)
        limit_ne = self.config.max_response_data if self.config.extended_length else SHORT_RESPONSE_DATA
        if len(response) - 2 > limit_ne:
            return ResponseApdu(b"", SW.WRONG_LENGTH).to_bytes()  # more than the reader's buffer holds
        if response[-2] == 0x61 and self.config.sw61 == "collect":
            response = self.collect(command, response)
        elif response[-2] == 0x6C and self.config.sw6c == "reissue":
            retry = _with_le(command, response[-1])
            if retry is not None:
                response = self.exchange(retry)
        return response

    def removed_during(self, command: bytes) -> None:
        """The card leaves the field while ``command`` is on its way: the reader reports it (PC/SC:
        SCARD_W_REMOVED_CARD); the card is back, unpowered, for the next session."""
        self.power_off()
        raise CardAbsent(f"{self.config.name}: the card was removed during the command")

    def refuse(self, command: bytes) -> ResponseApdu | None:
        """The reader's own 6700 for an APDU it cannot carry (longer than it claims, or extended when it does
        not claim extended length); None when it carries it."""
        try:
            apdu = CommandApdu.parse(command)
        except Exception:
            return None  # malformed on purpose: the card answers it
        c = self.config
        if apdu.is_extended and not c.extended_length:
            return ResponseApdu(b"", SW.WRONG_LENGTH)
        limit_nc = c.max_command_data if c.extended_length else SHORT_COMMAND_DATA
        if len(apdu.data) > limit_nc:
            return ResponseApdu(b"", SW.WRONG_LENGTH)
        return None

    # -- ISO/IEC 14443-4 block transport ------------------------------------------------------------------

    def exchange(self, command: bytes) -> bytes:
        """One APDU to the card and its response, each cut into chained I-blocks and put together again."""
        assert self.activation is not None
        arrived = self.reassemble(self.chain(command, self.activation.fsc, "to card"))
        response = bytes(self.card.process(arrived))
        return self.reassemble(self.chain(response, iso14443.frame_size(self.config.fsdi), "to reader"))

    def chain(self, data: bytes, frame: int, direction: str) -> list[bytes]:
        size = iso14443.information_field(frame)
        blocks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        self.blocks.extend((direction, len(b)) for b in blocks)
        return blocks

    def reassemble(self, blocks: list[bytes]) -> bytes:
        return b"".join(blocks)

    def collect(self, command: bytes, response: bytes) -> bytes:
        """GET RESPONSE on the host's behalf until a final status word (the reader's ``collect`` mode)."""
        data = bytearray(response[:-2])
        cla = command[0] & 0x03 if not command[0] & 0x40 else 0x40 | (command[0] & 0x0F)
        for _ in range(self.config.max_get_response):
            response = self.exchange(bytes((cla, Ins.GET_RESPONSE, 0, 0, response[-1])))
            data += response[:-2]
            if response[-2] != 0x61:
                break
        return bytes(data) + response[-2:]

    # -- PC/SC pseudo-APDUs (Part 3 §3.2.2.1.3) ---------------------------------------------------------

    def pseudo_apdu(self, command: bytes) -> ResponseApdu:
        assert self.activation is not None
        try:
            apdu = CommandApdu.parse(command)
        except Exception:
            return ResponseApdu(b"", SW.WRONG_LENGTH)
        if apdu.ins != part3.INS_GET_DATA or apdu.p2 != 0x00 or apdu.data:
            return ResponseApdu(b"", part3.SW_NOT_SUPPORTED)
        if apdu.p1 == part3.GetData.UID:
            value = self.activation.uid
        elif apdu.p1 == part3.GetData.HISTORICAL and self.activation.historical is not None:
            value = self.activation.historical
        else:
            return ResponseApdu(b"", part3.SW_NOT_SUPPORTED)
        return self.length_rules(value, apdu)

    def length_rules(self, value: bytes, apdu: CommandApdu) -> ResponseApdu:
        le = apdu.ne or 256
        if apdu.ne == 256 and not apdu.is_extended:  # Le 00: the whole value
            return ResponseApdu(value, SW.OK)
        if le < len(value):
            return ResponseApdu(b"", (part3.SW1_WRONG_LE << 8) | len(value))
        if le > len(value):
            return ResponseApdu(value, part3.SW_MORE_THAN_AVAILABLE)
        return ResponseApdu(value, SW.OK)


def _with_le(command: bytes, le: int) -> bytes | None:
    """``command`` with the short Le byte ``le`` (cases 1-4 short), or None for an extended one."""
    try:
        apdu = CommandApdu.parse(command)
    except Exception:
        return None
    if apdu.is_extended:
        return None
    return CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, le or 256).to_bytes()


# -- factories ----------------------------------------------------------------------------------------------

#: The reference readers of the bundled profiles (profiles/reference-reader*.yaml).
READER_1 = ReaderConfig(name="jpkikit RW-1 (Type A/B, extended length, 61xx passed)")
READER_2 = ReaderConfig(
    name="jpkikit RW-2 (Type A, short APDUs, 61xx collected)",
    extended_length=False,
    max_command_data=255,
    max_response_data=256,
    sw61="collect",
)
TARGET_B = Target("B", application_data=b"JPKI", fsci=7)
TARGET_A = Target("A", fsci=7, historical=b"JPKIKIT-PHONE")


def reader(
    personality: str | None,
    state: str | Path | None,
    config: ReaderConfig,
    target: Target,
    cls: type[VirtualReader] = VirtualReader,
) -> VirtualReader:
    return cls(make_card(personality, state), config, target)


def type_b(personality: str | None, state: str | Path | None = None) -> VirtualReader:
    """RW-1 with a Type B phone in its field (the JPKI phones and the card answer Type B, seed 004 p.10)."""
    return reader(personality, state, READER_1, TARGET_B)


def type_a(personality: str | None, state: str | Path | None = None) -> VirtualReader:
    """RW-2 with a Type A phone in its field."""
    return reader(personality, state, READER_2, TARGET_A)


def with_config(base: ReaderConfig, **changes: Any) -> ReaderConfig:
    return replace(base, **changes)
