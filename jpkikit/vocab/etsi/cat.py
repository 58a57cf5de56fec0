"""The part of the card application toolkit (ETSI TS 102 223) a UICC uses to learn which handset it is in
(docs/spec/uicc.md#the-handset-binding): TERMINAL PROFILE, the proactive command PROVIDE LOCAL INFORMATION
(IMEI), FETCH and TERMINAL RESPONSE, and the IMEI in the mobile-identity coding of 3GPP TS 24.008.

Clauses: TS 102 223 §5.2 (terminal profile, fourth byte b7: PROVIDE LOCAL INFORMATION incl. IMEI), §6.4.15
(PROVIDE LOCAL INFORMATION, qualifier 01 = IMEI of the terminal), §6.6 and §6.8 (proactive command and
terminal response structure), §8.6 (command details), §8.7 (device identities: 81 UICC, 82 terminal), §8.12
(result), §8.20 (IMEI: tag 14, 8 bytes as in TS 24.008 §10.5.1.4); TS 102 221 §10.2.1.1 (91xx, FETCH).
"""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.errors import TlvError
from jpkikit.vocab.etsi.uicc import UiccIns
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode, decode_one

CLA = 0x80
T_PROACTIVE = 0xD0
CR = 0x80  # comprehension required (b8 of a simple-TLV tag)
T_COMMAND_DETAILS, T_DEVICE_IDENTITIES, T_RESULT, T_IMEI = 0x01, 0x02, 0x03, 0x14
PROVIDE_LOCAL_INFORMATION = 0x26
QUALIFIER_IMEI = 0x01
DEVICE_UICC, DEVICE_TERMINAL = 0x81, 0x82
RESULT_OK = 0x00
#: Terminal profile: fourth byte, b7 = PROVIDE LOCAL INFORMATION (MCC, MNC, LAC, cell ID and IMEI) (§5.2).
PROFILE_PLI_BYTE, PROFILE_PLI_BIT = 3, 0x40
IMEI_LENGTH = 8
IMEI_TYPE = 0x02  # type of identity 010 = IMEI (TS 24.008 §10.5.1.4)


def imei_bytes(imei: str) -> bytes:
    """The 15-digit IMEI as 8 bytes (TS 24.008 §10.5.1.4): digit 1 with the odd flag and type, then pairs."""
    if len(imei) != 15 or not imei.isdigit():
        raise ValueError("an IMEI is 15 decimal digits")
    d = [int(c) for c in imei]
    first = (d[0] << 4) | 0x08 | IMEI_TYPE  # odd number of digits
    return bytes([first] + [(d[i + 1] << 4) | d[i] for i in range(1, 15, 2)])


def imei_text(value: bytes) -> str:
    """The IMEI digits of the 8-byte coding; ValueError when it is not an IMEI."""
    if len(value) != IMEI_LENGTH or value[0] & 0x0F != 0x08 | IMEI_TYPE:
        raise ValueError(f"not a TS 24.008 IMEI: {value.hex().upper()}")
    digits = [value[0] >> 4]
    for b in value[1:]:
        digits += [b & 0x0F, b >> 4]
    if any(x > 9 for x in digits):
        raise ValueError(f"IMEI with a non-decimal digit: {value.hex().upper()}")
    return "".join(map(str, digits))


def terminal_profile(pli_imei: bool = True, length: int = 20) -> CommandApdu:
    """TERMINAL PROFILE 80 10 00 00 Lc <profile>: a terminal that supports PROVIDE LOCAL INFORMATION."""
    profile = bytearray(b"\x00" * length)
    profile[0] = 0x01  # profile download (§5.2 first byte b1)
    if pli_imei:
        profile[PROFILE_PLI_BYTE] |= PROFILE_PLI_BIT
    return CommandApdu(CLA, UiccIns.TERMINAL_PROFILE, 0, 0, bytes(profile))


def supports_pli(profile: bytes) -> bool:
    return len(profile) > PROFILE_PLI_BYTE and bool(profile[PROFILE_PLI_BYTE] & PROFILE_PLI_BIT)


def provide_imei_command(number: int = 1) -> bytes:
    """The proactive command PROVIDE LOCAL INFORMATION (IMEI), from the UICC to the terminal (§6.4.15)."""
    details = Tlv(CR | T_COMMAND_DETAILS, bytes((number, PROVIDE_LOCAL_INFORMATION, QUALIFIER_IMEI)))
    devices = Tlv(CR | T_DEVICE_IDENTITIES, bytes((DEVICE_UICC, DEVICE_TERMINAL)))
    return Tlv(T_PROACTIVE, details.encode() + devices.encode()).encode()


def fetch(length: int) -> CommandApdu:
    """FETCH 80 12 00 00 <xx of 91xx>."""
    return CommandApdu(CLA, UiccIns.FETCH, 0, 0, ne=length or 256)


@dataclass(frozen=True)
class ProactiveCommand:
    number: int
    type: int
    qualifier: int


def parse_proactive(data: bytes) -> ProactiveCommand:
    """A proactive command's command details; TlvError when it is not one."""
    outer, end = decode_one(data)
    if outer.tag != T_PROACTIVE or end != len(data):
        raise TlvError(f"not a proactive command (tag {outer.tag:X})")
    items = {t.tag & 0x7F: t.value for t in decode(outer.value)}
    details = items.get(T_COMMAND_DETAILS)
    if details is None or len(details) != 3:
        raise TlvError("proactive command without 3-byte command details (01)")
    return ProactiveCommand(details[0], details[1], details[2])


def terminal_response_imei(command: ProactiveCommand, imei: str | None) -> CommandApdu:
    """TERMINAL RESPONSE 80 14 00 00 Lc: command details, devices (terminal -> UICC), result OK, IMEI."""
    body = Tlv(CR | T_COMMAND_DETAILS, bytes((command.number, command.type, command.qualifier))).encode()
    body += Tlv(CR | T_DEVICE_IDENTITIES, bytes((DEVICE_TERMINAL, DEVICE_UICC))).encode()
    body += Tlv(CR | T_RESULT, bytes((RESULT_OK,))).encode()
    if imei is not None:
        body += Tlv(T_IMEI, imei_bytes(imei)).encode()
    return CommandApdu(CLA, UiccIns.TERMINAL_RESPONSE, 0, 0, body)


@dataclass(frozen=True)
class TerminalResponse:
    command: ProactiveCommand
    result: int | None
    imei: bytes | None


def parse_terminal_response(data: bytes) -> TerminalResponse:
    """The parts of a TERMINAL RESPONSE the UICC uses; TlvError when malformed."""
    items = {t.tag & 0x7F: t.value for t in decode(data)}
    details = items.get(T_COMMAND_DETAILS)
    if details is None or len(details) != 3:
        raise TlvError("terminal response without 3-byte command details (01)")
    result = items.get(T_RESULT)
    return TerminalResponse(
        ProactiveCommand(details[0], details[1], details[2]), result[0] if result else None, items.get(T_IMEI)
    )
