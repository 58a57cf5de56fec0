"""BER-TLV as ISO/IEC 7816-4:2020 §6.3 (after ISO/IEC 8825-1) uses it.

Tags are ints of their encoded bytes (``0x5F51``, ``0x9F7F``); lengths are definite, 1 to 4 length bytes
after 81-84. Decoding never raises anything but :class:`TlvDecodeError` (a :class:`TlvError`, and a
malformed answer of the implementation that sent the bytes), whose message gives the offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jpkikit.errors import TlvDecodeError, TlvError


def tag_bytes(tag: int) -> bytes:
    """Encoded form of ``tag``; raises TlvError if the int is not a well-formed BER tag."""
    if not isinstance(tag, int) or tag <= 0:
        raise TlvError(f"tag must be a positive int, got {tag!r}")
    raw = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    try:
        _tag, end = _read_tag(raw, 0)
    except TlvError as exc:
        raise TlvError(f"tag {tag:X} is not a well-formed BER tag: {exc}") from None
    if end != len(raw):
        raise TlvError(f"tag {tag:X} is not a well-formed BER tag: it ends after {end} bytes")
    return raw


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvDecodeError(f"offset {pos}: tag expected, data ended")
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:  # subsequent tag bytes, b8 = 1 means another follows
        count = 0
        while True:
            if pos >= len(data):
                raise TlvDecodeError(f"offset {pos}: multi-byte tag {tag:X} is cut short")
            b = data[pos]
            tag = (tag << 8) | b
            pos += 1
            count += 1
            if count == 1 and b & 0x7F == 0:
                raise TlvDecodeError(f"offset {pos - 1}: tag {tag:X} has a leading zero in its number")
            if not b & 0x80:
                break
            if count >= 3:
                raise TlvDecodeError(f"offset {pos}: tag longer than 4 bytes")
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvDecodeError(f"offset {pos}: length expected, data ended")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    n = first & 0x7F
    if n == 0:
        raise TlvDecodeError(f"offset {pos - 1}: indefinite length (80) is not allowed")
    if n > 4:
        raise TlvDecodeError(
            f"offset {pos - 1}: length field {first:02X} announces {n} length bytes; at most 4"
        )
    if pos + n > len(data):
        raise TlvDecodeError(f"offset {pos}: length field needs {n} bytes, {len(data) - pos} left")
    return int.from_bytes(data[pos : pos + n], "big"), pos + n


def length_bytes(length: int) -> bytes:
    if length < 0:
        raise TlvError(f"negative length {length}")
    if length < 0x80:
        return bytes((length,))
    n = (length.bit_length() + 7) // 8
    if n > 4:
        raise TlvError(f"length {length} needs more than 4 bytes")
    return bytes((0x80 | n,)) + length.to_bytes(n, "big")


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes = b""

    def __post_init__(self) -> None:
        tag_bytes(self.tag)
        if not isinstance(self.value, bytes | bytearray):
            raise TlvError(f"value of tag {self.tag:X} must be bytes, got {type(self.value).__name__}")
        object.__setattr__(self, "value", bytes(self.value))

    @property
    def constructed(self) -> bool:
        """b6 of the first tag byte (§6.3, X.690 §8.1.2.5)."""
        first = self.tag.to_bytes((self.tag.bit_length() + 7) // 8, "big")[0]
        return bool(first & 0x20)

    @classmethod
    def build(cls, tag: int, children: Iterable[Tlv]) -> Tlv:
        return cls(tag, b"".join(c.encode() for c in children))

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise TlvDecodeError(f"tag {self.tag:X} is primitive; it has no children")
        return decode(self.value)

    def find(self, tag: int) -> Tlv | None:
        return next((c for c in self.children() if c.tag == tag), None)

    def encode(self) -> bytes:
        return tag_bytes(self.tag) + length_bytes(len(self.value)) + self.value

    def __bytes__(self) -> bytes:
        return self.encode()


def decode_one(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """Decode one TLV starting at ``pos``; returns it and the offset after it."""
    data = bytes(data)
    start = pos
    tag, pos = _read_tag(data, pos)
    length, pos = _read_length(data, pos)
    if pos + length > len(data):
        left = len(data) - pos
        raise TlvDecodeError(f"offset {start}: tag {tag:X} announces {length} value bytes, {left} left")
    return Tlv(tag, data[pos : pos + length]), pos + length


def decode(data: bytes) -> list[Tlv]:
    """Decode a concatenation of TLVs that must fill ``data`` exactly."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        tlv, pos = decode_one(data, pos)
        out.append(tlv)
    return out


def encode(tlvs: Iterable[Tlv]) -> bytes:
    return b"".join(t.encode() for t in tlvs)
