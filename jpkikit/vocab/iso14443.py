"""ISO/IEC 14443 facts a contactless reader relies on (docs/spec/reader.md#the-contactless-card): the frame
sizes (FSCI/FSDI), the ATS of a Type A card and the ATQB and ATTRIB answer of a Type B card.

Cited by clause title, as the ISO/IEC 7816-4 clauses are (docs/spec/README.md#how-sources-are-cited): ISO/IEC
14443-4 "answer to select" (ATS: TL, T0 with FSCI and the presence of TA/TB/TC, historical bytes), the FSCI to
FSC table (16..256 bytes; 512..4096 in the 2016 and later editions), "block format" (prologue PCB [CID] [NAD],
information field, CRC: 1 + 2 bytes around the INF field), "chaining"; ISO/IEC 14443-3 "ATQB" (50, PUPI (4),
application data (4), protocol info (3: bit rates; Max_Frame_Size | Protocol_Type; FWI | ADC | FO)) and the
answer to ATTRIB (MBLI | CID).
"""

from __future__ import annotations

from dataclasses import dataclass

#: FSCI / FSDI -> maximum frame size in bytes (ISO/IEC 14443-4 Table 1; 9..C from the 2016 edition).
FRAME_SIZES = (16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096)
#: Prologue (PCB) and epilogue (CRC_A/B) around each block's information field; no CID, no NAD.
BLOCK_OVERHEAD = 3


def frame_size(code: int) -> int:
    """The frame size of an FSCI/FSDI code; codes above the table mean 4096 here (RFU in older editions)."""
    return FRAME_SIZES[min(code, len(FRAME_SIZES) - 1)]


def frame_code(size: int) -> int:
    """The largest FSCI/FSDI whose frame fits ``size`` bytes."""
    return max(i for i, s in enumerate(FRAME_SIZES) if s <= size)


def information_field(frame: int) -> int:
    """Bytes of APDU a block of ``frame`` bytes carries (the frame less PCB and CRC)."""
    return frame - BLOCK_OVERHEAD


@dataclass(frozen=True)
class Ats:
    """A Type A card's Answer To Select (ISO/IEC 14443-4, answer to select)."""

    fsci: int
    ta: int | None = 0x80  # bit rates: only 106 kbit/s, same in both directions
    tb: int | None = 0x81  # FWI | SFGI
    tc: int | None = 0x02  # CID supported (b2), NAD not
    historical: bytes = b""

    def encode(self) -> bytes:
        t0 = self.fsci & 0x0F
        parts = b""
        for bit, value in ((0x10, self.ta), (0x20, self.tb), (0x40, self.tc)):
            if value is not None:
                t0 |= bit
                parts += bytes((value,))
        body = bytes((t0,)) + parts + self.historical
        return bytes((len(body) + 1,)) + body  # TL counts itself

    @classmethod
    def parse(cls, data: bytes) -> Ats:
        if not data or data[0] != len(data) or len(data) < 2:
            raise ValueError(f"not an ATS (TL must equal its length): {data.hex().upper()}")
        t0, pos = data[1], 2
        values: list[int | None] = []
        for bit in (0x10, 0x20, 0x40):
            if t0 & bit:
                if pos >= len(data):
                    raise ValueError(f"ATS cut short: T0 {t0:02X} announces more interface bytes than follow")
                values.append(data[pos])
                pos += 1
            else:
                values.append(None)
        return cls(t0 & 0x0F, values[0], values[1], values[2], data[pos:])

    @property
    def fsc(self) -> int:
        return frame_size(self.fsci)


@dataclass(frozen=True)
class Atqb:
    """A Type B card's ATQB and the MBLI of its answer to ATTRIB (ISO/IEC 14443-3)."""

    pupi: bytes
    application_data: bytes
    protocol_info: bytes
    mbli: int = 0

    def __post_init__(self) -> None:
        if len(self.pupi) != 4 or len(self.application_data) != 4 or len(self.protocol_info) != 3:
            raise ValueError("ATQB: PUPI 4, application data 4 and protocol info 3 bytes")

    def encode(self) -> bytes:
        return b"\x50" + self.pupi + self.application_data + self.protocol_info

    @property
    def fsci(self) -> int:
        return self.protocol_info[1] >> 4  # Max_Frame_Size code

    @property
    def fsc(self) -> int:
        return frame_size(self.fsci)

    @property
    def iso14443_4(self) -> bool:
        return self.protocol_info[1] & 0x01 == 0x01  # Protocol_Type: compliant with ISO/IEC 14443-4


def protocol_info(fsci: int, fwi: int = 8, cid: bool = True, nad: bool = False) -> bytes:
    """ATQB protocol info: 106 kbit/s only; Max_Frame_Size | Protocol_Type 1; FWI | ADC 0 | FO (NAD, CID)."""
    return bytes((0x00, (fsci << 4) | 0x01, (fwi << 4) | (0x02 if nad else 0) | (0x01 if cid else 0)))
