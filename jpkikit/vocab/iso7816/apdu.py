"""Command and response APDUs: ISO/IEC 7816-4:2020 §5.1 (cases 1-4, short and extended) and §5.4.1 (CLA).

Parsing never raises anything but :class:`ApduError`, whose message names what is wrong.
``ne`` is the number of expected response bytes (Ne), ``None`` when no Le field is present; the Le
byte ``00`` (short) means 256 and ``0000`` (extended) means 65536 (§5.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jpkikit.errors import ApduError, MalformedResponse
from jpkikit.vocab.iso7816.sw import describe

SHORT_MAX_NC = 255
SHORT_MAX_NE = 256
EXT_MAX_NC = 65535
EXT_MAX_NE = 65536


def _byte(name: str, value: int) -> None:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ApduError(f"{name} must be one byte (0..255), got {value!r}")


def cla_channel(cla: int) -> int | None:
    """Logical channel number coded in CLA (§5.4.1), or None when the CLA is invalid (FF) or not coded so.

    First interindustry values (b8-b6 = 000) carry channels 0-3 in b2-b1; further interindustry values
    (b8-b7 = 01) carry channels 4-19 in b4-b1. Proprietary classes 80-FF mirror that coding, as GlobalPlatform
    uses it (GPCS Table 11-11/11-12).
    """
    if cla == 0xFF:
        return None
    low = cla & 0x7F
    if low & 0x60 == 0x00:  # 0x00-0x1F / 0x80-0x9F
        return cla & 0x03
    if low & 0x40 == 0x40:  # 0x40-0x7F / 0xC0-0xFE
        return 4 + (cla & 0x0F)
    return None  # 0x20-0x3F / 0xA0-0xBF: reserved for future use


def cla_with_channel(cla: int, channel: int) -> int:
    """Re-code ``cla`` to address ``channel`` (0-19), keeping proprietary bit, chaining and SM indication."""
    if not 0 <= channel <= 19:
        raise ApduError(f"logical channel must be 0..19, got {channel}")
    proprietary = cla & 0x80
    chaining = cla & 0x10
    if cla_channel(cla) is None:
        raise ApduError(f"CLA {cla:02X} does not code a logical channel")
    first = (cla & 0x60) == 0x00 if not proprietary else (cla & 0x40) == 0
    sm = ((cla >> 2) & 0x03) if first else (1 if cla & 0x20 else 0)
    if channel < 4:
        return proprietary | chaining | (sm << 2) | channel
    return proprietary | 0x40 | (0x20 if sm else 0) | chaining | (channel - 4)


def cla_secure_messaging(cla: int) -> bool:
    """True when CLA indicates secure messaging (§5.4.1: b4-b3 of first, b6 of further interindustry)."""
    if (cla & 0x40) == 0:
        return (cla & 0x0C) != 0
    return (cla & 0x20) != 0


@dataclass(frozen=True)
class CommandApdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    ne: int | None = None
    #: Force extended-length encoding even where short length would do (None: only when needed).
    extended: bool | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            _byte(name.upper(), getattr(self, name))
        if not isinstance(self.data, bytes | bytearray):
            raise ApduError(f"data must be bytes, got {type(self.data).__name__}")
        object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) > EXT_MAX_NC:
            raise ApduError(f"command data is {len(self.data)} bytes; at most {EXT_MAX_NC} fit in Lc")
        if self.ne is not None and not 1 <= self.ne <= EXT_MAX_NE:
            raise ApduError(f"Ne must be 1..{EXT_MAX_NE} (or None for no Le), got {self.ne}")
        if self.extended is False and (len(self.data) > SHORT_MAX_NC or (self.ne or 0) > SHORT_MAX_NE):
            raise ApduError("short length forced, but Nc > 255 or Ne > 256 needs extended length")

    @property
    def case(self) -> int:
        """ISO 7816-4 case: 1 no data no Le, 2 Le only, 3 data only, 4 data and Le."""
        return 1 + (self.ne is not None) + 2 * bool(self.data)

    @property
    def is_extended(self) -> bool:
        if self.extended is not None:
            return self.extended and self.case != 1
        return len(self.data) > SHORT_MAX_NC or (self.ne or 0) > SHORT_MAX_NE

    @property
    def channel(self) -> int | None:
        return cla_channel(self.cla)

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    def to_bytes(self) -> bytes:
        out = bytearray(self.header)
        nc = len(self.data)
        if self.is_extended:
            out.append(0x00)
            if nc:
                out += nc.to_bytes(2, "big") + self.data
            if self.ne is not None:
                out += (self.ne % EXT_MAX_NE).to_bytes(2, "big")
        else:
            if nc:
                out.append(nc)
                out += self.data
            if self.ne is not None:
                out.append(self.ne % SHORT_MAX_NE)
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def _decoded(
        cls,
        cla: int,
        ins: int,
        p1: int,
        p2: int,
        data: bytes | None = None,
        ne: int | None = None,
        extended: bool | None = None,
    ) -> CommandApdu:
        """An APDU from fields :meth:`parse` has already checked (bytes of a bytes object, Nc and Ne within
        their length field): the validation of ``__post_init__`` is skipped, since it cannot fail here and
        costs a third of an emulated command's time (issue 16: the served round trip)."""
        apdu = object.__new__(cls)
        fields = {
            "cla": cla,
            "ins": ins,
            "p1": p1,
            "p2": p2,
            "data": data or b"",
            "ne": ne,
            "extended": extended,
        }
        apdu.__dict__.update(fields)
        return apdu

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Decode command bytes, deciding case and length form as ISO 7816-4 §5.1 / Table 2 says."""
        raw = bytes(raw)
        n = len(raw)
        if n < 4:
            raise ApduError(f"command APDU is {n} bytes; a header needs 4 (CLA INS P1 P2)")
        make = cls._decoded
        cla, ins, p1, p2 = raw[:4]
        if n == 4:  # case 1
            return make(cla, ins, p1, p2)
        lc = raw[4]
        if n == 5:  # case 2S
            return make(cla, ins, p1, p2, None, lc or SHORT_MAX_NE, False)
        if lc:  # short Lc
            if n == 5 + lc:  # case 3S
                return make(cla, ins, p1, p2, raw[5:], None, False)
            if n == 6 + lc:  # case 4S
                return make(cla, ins, p1, p2, raw[5:-1], raw[-1] or SHORT_MAX_NE, False)
            raise ApduError(
                f"Lc={lc} but the body after the header is {n - 4} bytes "
                f"(case 3 needs {1 + lc}, case 4 needs {2 + lc})"
            )
        body = raw[4:]
        # body[0] == 0 and more than one byte: extended length (§5.1, Table 2)
        if len(body) == 2:
            raise ApduError("body of 2 bytes starting 00 is neither short nor extended length")
        if len(body) == 3:  # case 2E
            return make(cla, ins, p1, p2, ne=int.from_bytes(body[1:3], "big") or EXT_MAX_NE, extended=True)
        nc = int.from_bytes(body[1:3], "big")
        if nc == 0:
            raise ApduError(f"extended Lc is 0000 but {len(body) - 3} more bytes follow")
        if len(body) == 3 + nc:
            return make(cla, ins, p1, p2, body[3:], extended=True)
        if len(body) == 5 + nc:
            ne = int.from_bytes(body[-2:], "big") or EXT_MAX_NE
            return make(cla, ins, p1, p2, body[3:-2], ne=ne, extended=True)
        raise ApduError(
            f"extended Lc={nc} but the body after the header is {len(body)} bytes "
            f"(case 3E needs {3 + nc}, case 4E needs {5 + nc})"
        )


@dataclass(frozen=True)
class ResponseApdu:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        raw = bytes(raw)
        if len(raw) < 2:
            raise MalformedResponse(f"response APDU is {len(raw)} bytes; it needs at least SW1 SW2")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def __str__(self) -> str:
        return f"{self.data.hex().upper()} {self.sw:04X} ({describe(self.sw)})"
