"""The UICC of ETSI TS 102 221 as the kit relies on it (docs/spec/uicc.md#the-uicc-file-system): file
identifiers, the FCP template a SELECT returns, SELECT and READ RECORD parameters, EF DIR records (application
templates) and EF ICCID (BCD, digit-swapped, with the ITU-T E.118 Luhn check digit).

Clauses: TS 102 221 §8.2-8.4 (file identifiers, selection), §10.1.1 (class byte), §11.1.1 (SELECT and the FCP
template, Tables 11.4-11.5), §11.1.5 (READ RECORD), §13.1 (EF DIR), §13.2 (EF ICCID); ISO/IEC 7816-4
(application template, tag 61).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from jpkikit.errors import TlvError
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode, decode_one

FID_MF = 0x3F00  # §8.2: the MF
FID_EF_DIR = 0x2F00  # §13.1: EF DIR, linear fixed, one application template per record
FID_EF_ICCID = 0x2FE2  # §13.2: EF ICCID, transparent, 10 bytes
ICCID_LENGTH = 10


class Select(IntEnum):
    """SELECT P1 (§11.1.1, Table 11.1) and P2 (Table 11.2)."""

    BY_FID = 0x00
    CHILD_DF = 0x01
    PARENT_DF = 0x03
    BY_DF_NAME = 0x04
    PATH_FROM_MF = 0x08
    PATH_FROM_CURRENT = 0x09
    RETURN_FCP = 0x04  # P2
    NO_DATA = 0x0C  # P2


class UiccIns(IntEnum):
    """TS 102 221 §10.1.2 Table 10.5: the commands the kit's UICC answers besides the ISO ones."""

    STATUS = 0xF2  # CLA 80
    TERMINAL_PROFILE = 0x10  # CLA 80 (card application toolkit, TS 102 223)
    FETCH = 0x12  # CLA 80
    TERMINAL_RESPONSE = 0x14  # CLA 80
    ENVELOPE = 0xC2  # CLA 80
    UPDATE_RECORD = 0xDC
    UPDATE_BINARY = 0xD6
    READ_RECORD = 0xB2


#: READ RECORD P2 '04': absolute mode, record number in P1 (§11.1.5).
RECORD_ABSOLUTE = 0x04
#: 91xx: normal ending with a proactive command of xx bytes waiting for FETCH (§10.2.1.1).
SW1_PROACTIVE = 0x91

# FCP template (§11.1.1.3, Table 11.4)
T_FCP = 0x62
T_FILE_SIZE = 0x80
T_TOTAL_SIZE = 0x81
T_DESCRIPTOR = 0x82
T_FILE_ID = 0x83
T_DF_NAME = 0x84
T_PROPRIETARY = 0xA5
T_LIFE_CYCLE = 0x8A
T_SECURITY_REFERENCED = 0x8B
T_SECURITY_COMPACT = 0x8C
T_PS_DO = 0x90  # PIN status data object, inside the PIN status template C6 (§9.5.2)
T_UICC_CHARACTERISTICS = 0x80  # inside the MF's proprietary information A5 (§11.1.1.4.6.1)
T_PIN_STATUS = 0xC6

# File descriptor byte (Table 11.5): shareable (b7) working EF transparent / linear fixed, or a DF / ADF.
DESCRIPTOR_DF = 0x78
DESCRIPTOR_TRANSPARENT = 0x41
DESCRIPTOR_LINEAR_FIXED = 0x42
DATA_CODING = 0x21  # the data coding byte every TS 102 221 file descriptor carries
LCS_ACTIVATED = 0x05  # life cycle status integer: operational state, activated (Table 11.6)


@dataclass(frozen=True)
class Fcp:
    """What the kit reads from an FCP template (§11.1.1.3)."""

    descriptor: int
    file_id: int | None
    df_name: bytes | None
    size: int | None  # EF: 80 file size
    record_length: int | None  # linear fixed EF
    records: int | None
    life_cycle: int | None

    @property
    def is_df(self) -> bool:
        return self.descriptor & 0x38 == 0x38

    @property
    def transparent(self) -> bool:
        return self.descriptor & 0x07 == 0x01

    @property
    def linear_fixed(self) -> bool:
        return self.descriptor & 0x07 == 0x02


#: Security attributes in compact format (8C, ISO/IEC 7816-4 access mode byte + one security condition byte
#: per bit set, from b7 down to b1; 00 always, FF never). A DF: every administrative command (DELETE FILE,
#: TERMINATE, ACTIVATE, DEACTIVATE, CREATE DF/EF, DELETE child) never. An EF: READ always, every other
#: command (DELETE FILE, TERMINATE, ACTIVATE, DEACTIVATE, WRITE, UPDATE) never: the files are read-only.
SECURITY_DF = bytes((0x7F,)) + b"\xff" * 7
SECURITY_READ_ONLY_EF = bytes((0x7F,)) + b"\xff" * 6 + b"\x00"
#: The MF's UICC characteristics (§11.1.1.4.6.1): clock stop allowed, no preferred level; supply voltage
#: classes A, B, C.
UICC_CHARACTERISTICS = 0x71
#: The PIN status template of a DF with no PIN of its own enabled: PS_DO 00, no key reference (§9.5.2).
PIN_STATUS_NONE = Tlv(T_PS_DO, b"\x00").encode()


def build_fcp(
    descriptor: bytes, file_id: int | None, *, size: int | None = None, df_name: bytes | None = None
) -> bytes:
    """The FCP template in the order of §11.1.1.3 (Tables 11.3, 11.4), with its mandatory objects:
    a DF or ADF: 62 { 82, [83 FID], [84 DF name], [A5 {80} for the MF], 8A, 8C, C6 };
    an EF: 62 { 82, 83 FID, 8A, 8C, 80 size }."""
    is_df = descriptor[:1] == bytes((DESCRIPTOR_DF,))
    parts = [Tlv(T_DESCRIPTOR, descriptor)]
    if file_id is not None:
        parts.append(Tlv(T_FILE_ID, file_id.to_bytes(2, "big")))
    if df_name is not None:
        parts.append(Tlv(T_DF_NAME, df_name))
    if is_df and file_id == FID_MF:
        parts.append(Tlv.build(T_PROPRIETARY, [Tlv(T_UICC_CHARACTERISTICS, bytes((UICC_CHARACTERISTICS,)))]))
    parts.append(Tlv(T_LIFE_CYCLE, bytes((LCS_ACTIVATED,))))
    parts.append(Tlv(T_SECURITY_COMPACT, SECURITY_DF if is_df else SECURITY_READ_ONLY_EF))
    if is_df:
        parts.append(Tlv(T_PIN_STATUS, PIN_STATUS_NONE))
    if size is not None:
        parts.append(Tlv(T_FILE_SIZE, size.to_bytes(2, "big")))
    return Tlv.build(T_FCP, parts).encode()


def df_descriptor() -> bytes:
    return bytes((DESCRIPTOR_DF, DATA_CODING))


def transparent_descriptor() -> bytes:
    return bytes((DESCRIPTOR_TRANSPARENT, DATA_CODING))


def linear_descriptor(record_length: int, records: int) -> bytes:
    """82 05: descriptor, data coding, record length (2 bytes), number of records (Table 11.5)."""
    return (
        bytes((DESCRIPTOR_LINEAR_FIXED, DATA_CODING)) + record_length.to_bytes(2, "big") + bytes((records,))
    )


def parse_fcp(data: bytes) -> Fcp:
    """An FCP template; TlvError when it is not one (the kit decodes what implementations send)."""
    fcp, end = decode_one(data)
    if fcp.tag != T_FCP or end != len(data):
        raise TlvError(f"not an FCP template (tag {fcp.tag:X}, {len(data) - end} bytes after it)")
    items = {t.tag: t.value for t in decode(fcp.value)}
    desc = items.get(T_DESCRIPTOR)
    if not desc:
        raise TlvError("FCP template without a file descriptor (82)")
    fid = items.get(T_FILE_ID)
    size = items.get(T_FILE_SIZE)
    lcs = items.get(T_LIFE_CYCLE)
    record_length = int.from_bytes(desc[2:4], "big") if len(desc) >= 5 else None
    return Fcp(
        descriptor=desc[0],
        file_id=int.from_bytes(fid, "big") if fid and len(fid) == 2 else None,
        df_name=items.get(T_DF_NAME),
        size=int.from_bytes(size, "big") if size else None,
        record_length=record_length,
        records=desc[4] if len(desc) >= 5 else None,
        life_cycle=lcs[0] if lcs else None,
    )


# -- commands -------------------------------------------------------------------------------------------


def select_fid(fid: int, p2: int = Select.RETURN_FCP, cla: int = 0x00) -> CommandApdu:
    """SELECT by file identifier (§11.1.1): 00 A4 00 04 02 <FID> 00 (FCP) or P2 0C (no data)."""
    return CommandApdu(
        cla, 0xA4, Select.BY_FID, p2, fid.to_bytes(2, "big"), 256 if p2 == Select.RETURN_FCP else None
    )


def select_path(path: bytes, from_mf: bool = True, p2: int = Select.RETURN_FCP) -> CommandApdu:
    p1 = Select.PATH_FROM_MF if from_mf else Select.PATH_FROM_CURRENT
    return CommandApdu(0x00, 0xA4, p1, p2, path, 256 if p2 == Select.RETURN_FCP else None)


def read_record(number: int, length: int, cla: int = 0x00) -> CommandApdu:
    """READ RECORD in absolute mode (§11.1.5): 00 B2 <record> 04 <Le>."""
    return CommandApdu(cla, UiccIns.READ_RECORD, number, RECORD_ABSOLUTE, ne=length or 256)


def status(cla: int = 0x80) -> CommandApdu:
    """STATUS (§11.1.2): 80 F2 00 00 00, the FCP of the current DF."""
    return CommandApdu(cla, UiccIns.STATUS, 0x00, 0x00, ne=256)


# -- EF DIR (§13.1) -------------------------------------------------------------------------------------

T_APPLICATION_TEMPLATE, T_AID, T_LABEL, T_PATH = 0x61, 0x4F, 0x50, 0x51


@dataclass(frozen=True)
class DirRecord:
    aid: bytes
    label: str | None = None
    path: bytes | None = None


def dir_record(entry: DirRecord, record_length: int) -> bytes:
    """One EF DIR record: 61 { 4F AID, [50 label], [51 path] }, padded with FF to the record length."""
    parts = [Tlv(T_AID, entry.aid)]
    if entry.label is not None:
        parts.append(Tlv(T_LABEL, entry.label.encode("ascii")))
    if entry.path is not None:
        parts.append(Tlv(T_PATH, entry.path))
    body = Tlv.build(T_APPLICATION_TEMPLATE, parts).encode()
    if len(body) > record_length:
        raise ValueError(f"EF DIR record of {len(body)} bytes does not fit {record_length}")
    return body + b"\xff" * (record_length - len(body))


def parse_dir_record(record: bytes) -> DirRecord | None:
    """The application template of a record; None for an unused (all FF) record; TlvError otherwise."""
    if not record or set(record) == {0xFF}:
        return None
    template, end = decode_one(record)
    if template.tag != T_APPLICATION_TEMPLATE or set(record[end:]) - {0xFF}:
        raise TlvError(f"EF DIR record is not an application template padded with FF: {record.hex().upper()}")
    items = {t.tag: t.value for t in decode(template.value)}
    if T_AID not in items or not 5 <= len(items[T_AID]) <= 16:
        raise TlvError("EF DIR application template without a 5-16 byte AID (4F)")
    label = items.get(T_LABEL)
    return DirRecord(
        items[T_AID], label.decode("ascii", "replace") if label is not None else None, items.get(T_PATH)
    )


# -- EF ICCID (§13.2, ITU-T E.118) ----------------------------------------------------------------------


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of ``digits`` (ITU-T E.118 for the ICCID)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    return len(digits) >= 2 and digits.isdigit() and luhn_digit(digits[:-1]) == digits[-1]


def encode_iccid(digits: str) -> bytes:
    """EF ICCID content: BCD with the nibbles of each byte swapped, padded with F (§13.2)."""
    if not digits.isdigit() or not 18 <= len(digits) <= 20:
        raise ValueError("an ICCID is 18 to 20 decimal digits")
    padded = digits + "F" * (2 * ICCID_LENGTH - len(digits))
    return bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, len(padded), 2))


def decode_iccid(content: bytes) -> str:
    """The ICCID digits of EF ICCID content ('F' padding removed); ValueError for a non-BCD nibble."""
    text = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in content).rstrip("F")
    if not text.isdigit():
        raise ValueError(f"EF ICCID holds non-BCD digits: {content.hex().upper()}")
    return text
