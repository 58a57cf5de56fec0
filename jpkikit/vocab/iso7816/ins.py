"""Interindustry instruction codes: ISO/IEC 7816-4:2020 §5.4.2 Table 4 (and 7816-8/-9 for the
security commands named there). Proprietary codes live with their specification: GlobalPlatform in
:mod:`jpkikit.vocab.gp.constants`, the JPKI card in :mod:`jpkikit.vocab.jpki.card`, the provisioning
command set in :mod:`jpkikit.vocab.jpki.provisioning`."""

from __future__ import annotations

from enum import IntEnum


class Ins(IntEnum):
    ERASE_BINARY = 0x0E
    VERIFY = 0x20
    MANAGE_SECURITY_ENVIRONMENT = 0x22
    CHANGE_REFERENCE_DATA = 0x24
    PERFORM_SECURITY_OPERATION = 0x2A
    RESET_RETRY_COUNTER = 0x2C
    ACTIVATE_FILE = 0x44
    GENERATE_ASYMMETRIC_KEY_PAIR = 0x46
    MANAGE_CHANNEL = 0x70
    EXTERNAL_AUTHENTICATE = 0x82
    GET_CHALLENGE = 0x84
    INTERNAL_AUTHENTICATE = 0x88
    SELECT = 0xA4
    READ_BINARY = 0xB0
    READ_RECORD = 0xB2
    GET_RESPONSE = 0xC0
    ENVELOPE = 0xC2
    GET_DATA = 0xCA
    GET_DATA_ODD = 0xCB
    UPDATE_BINARY = 0xD6
    PUT_DATA = 0xDA
    APPEND_RECORD = 0xE2


def name(ins: int) -> str | None:
    """The Table 4 name of an interindustry ``ins`` ("GET DATA"), or None."""
    try:
        return Ins(ins).name.removesuffix("_ODD").replace("_", " ")
    except ValueError:
        return None


#: ISO commands whose data field carries a PIN (§11.5.6 VERIFY, §11.5.7 CHANGE REFERENCE DATA,
#: §11.5.10 RESET RETRY COUNTER).
PIN_COMMANDS = (Ins.VERIFY, Ins.CHANGE_REFERENCE_DATA, Ins.RESET_RETRY_COUNTER)
