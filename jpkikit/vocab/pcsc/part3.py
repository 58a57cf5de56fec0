"""PC/SC Part 3 (Requirements for PC-connected interface devices, v2.01.09) for contactless cards
(docs/spec/reader.md#what-pcsc-part-3-asks-of-a-contactless-reader): the ATR a reader builds for an
ISO/IEC 14443-4 card, and the GET DATA pseudo-APDU with its status words.

- ATR (§3.1.3.2.3): ``3B 8n 80 01 <historical bytes> TCK``. Type A: the ATS historical bytes (n = their
  number, at most 15). Type B: n = 8, the historical bytes being the ATQB application data (4), its protocol
  info (3) and one byte whose high nibble is the MBLI of the answer to ATTRIB (low nibble 0).
  TCK is the XOR of T0 .. the last historical byte (ISO/IEC 7816-3 §8.2.5).
- GET DATA (§3.2.2.1.3): ``FF CA P1 00 Le``. P1 ``00``: the UID (Type A) or PUPI (Type B); ``01``: the
  historical bytes of the ATS (Type A). Le ``00``: the whole value. Status words: 9000; 6282 with all the
  data when Le asks for more than there is; 6Cxx (xx the exact length) when Le asks for less; 6A81 for a P1
  the reader does not support; 6300 when no information is available.
"""

from __future__ import annotations

from enum import IntEnum

from jpkikit.vocab.iso7816.apdu import CommandApdu

PSEUDO_CLA = 0xFF  # PC/SC pseudo-APDUs (§3.2.2.1), taken by the reader and never sent to the card
INS_GET_DATA = 0xCA


class GetData(IntEnum):
    UID = 0x00
    HISTORICAL = 0x01


SW_MORE_THAN_AVAILABLE = 0x6282  # "end of data reached before Le bytes"
SW1_WRONG_LE = 0x6C
SW_NOT_SUPPORTED = 0x6A81
SW_NO_INFORMATION = 0x6300
MAX_HISTORICAL = 15


def _tck(body: bytes) -> int:
    tck = 0
    for b in body[1:]:
        tck ^= b
    return tck


def contactless_atr(historical: bytes) -> bytes:
    """``3B 8n 80 01 <historical> TCK``."""
    if len(historical) > MAX_HISTORICAL:
        raise ValueError(f"at most {MAX_HISTORICAL} historical bytes fit T0, got {len(historical)}")
    body = bytes((0x3B, 0x80 | len(historical), 0x80, 0x01)) + historical
    return body + bytes((_tck(body),))


def type_a_atr(ats_historical: bytes) -> bytes:
    return contactless_atr(ats_historical)


def type_b_historical(application_data: bytes, protocol_info: bytes, mbli: int) -> bytes:
    """The historical bytes of a Type B card's pseudo-ATR (PC/SC Part 3 §3.1.3.2.3): the 4 bytes of the
    ATQB's application data, its 3 bytes of protocol info, and the MBLI of the ATTRIB answer (high nibble)."""
    if len(application_data) != 4 or len(protocol_info) != 3:
        raise ValueError(
            f"a Type B ATR takes 4 bytes of application data and 3 of protocol info, not "
            f"{len(application_data)} and {len(protocol_info)}"
        )
    return bytes(application_data) + bytes(protocol_info) + bytes(((mbli & 0x0F) << 4,))


def type_b_atr(application_data: bytes, protocol_info: bytes, mbli: int) -> bytes:
    return contactless_atr(type_b_historical(application_data, protocol_info, mbli))


def historical_of(atr: bytes) -> bytes | None:
    """The historical bytes of a contactless pseudo-ATR, None when ``atr`` does not have that shape or its TCK
    is wrong."""
    if len(atr) < 5 or atr[0] != 0x3B or atr[1] & 0xF0 != 0x80 or atr[2:4] != b"\x80\x01":
        return None
    n = atr[1] & 0x0F
    if len(atr) != 4 + n + 1 or _tck(atr[:-1]) != atr[-1]:
        return None
    return atr[4 : 4 + n]


def get_data(p1: int, le: int = 0) -> CommandApdu:
    """``FF CA P1 00 Le`` (Le 0 = the whole value, coded 00)."""
    return CommandApdu(PSEUDO_CLA, INS_GET_DATA, p1, 0x00, ne=le or 256)
