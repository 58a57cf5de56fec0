"""Instruction names for trace decoding: ISO/IEC 7816-4 §5.4.2 Table 4, GPCS v2.3.1 Table 11-10,
and the JPKI card's proprietary commands (jpki-ap.md §4)."""

from __future__ import annotations

_INTERINDUSTRY: dict[int, str] = {
    0x0E: "ERASE BINARY",
    0x20: "VERIFY",
    0x22: "MANAGE SECURITY ENVIRONMENT",
    0x24: "CHANGE REFERENCE DATA",
    0x2A: "PERFORM SECURITY OPERATION",
    0x2C: "RESET RETRY COUNTER",
    0x44: "ACTIVATE FILE",
    0x46: "GENERATE ASYMMETRIC KEY PAIR",
    0x70: "MANAGE CHANNEL",
    0x82: "EXTERNAL AUTHENTICATE",
    0x84: "GET CHALLENGE",
    0x88: "INTERNAL AUTHENTICATE",
    0xA4: "SELECT",
    0xB0: "READ BINARY",
    0xB2: "READ RECORD",
    0xC0: "GET RESPONSE",
    0xCA: "GET DATA",
    0xCB: "GET DATA",
    0xD6: "UPDATE BINARY",
    0xDA: "PUT DATA",
    0xE2: "APPEND RECORD",
}

# GlobalPlatform and JPKI commands in the proprietary class (CLA b8 = 1).
_PROPRIETARY: dict[int, str] = {
    0x2A: "COMPUTE DIGITAL SIGNATURE",  # JPKI 80 2A 00 80 (jpki-ap.md §4)
    0x50: "INITIALIZE UPDATE",
    0x82: "EXTERNAL AUTHENTICATE",
    0xCA: "GET DATA",
    0xCB: "GET DATA",
    0xD8: "PUT KEY",
    0xE2: "STORE DATA",
    0xE4: "DELETE",
    0xE6: "INSTALL",
    0xE8: "LOAD",
    0xF0: "SET STATUS",
    0xF2: "GET STATUS",
    0xFC: "LAST COMMAND INDICATOR",
}


def ins_name(cla: int, ins: int) -> str:
    """Name of the instruction ``ins`` sent with class ``cla``, or ``INS xx`` when unknown."""
    if cla & 0x80 and cla != 0xFF:
        name = _PROPRIETARY.get(ins) or _INTERINDUSTRY.get(ins)
    else:
        name = _INTERINDUSTRY.get(ins)
    return name or f"INS {ins:02X}"
