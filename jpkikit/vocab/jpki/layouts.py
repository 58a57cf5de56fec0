"""Binary layout of the JPKI-AP token information, EF 0006 (docs/spec/jpki-applet.md, "Token information
(EF 0006)"; the full layout is single source), in ``construct`` like the GP layouts of
:mod:`jpkikit.vocab.scp03.layouts`.

EF 0006 is a PKCS#11 ``CK_TOKEN_INFO`` (PKCS#11 v2.40 §3.2) laid out as the card holds it: 160 bytes, the
text fields space padded ASCII, the ``CK_ULONG`` fields 4 bytes big-endian, the two ``CK_VERSION`` fields
2 bytes each. Client middleware reads the 32-byte label at its start (OpenSC pkcs15-jpki.c).
"""

from __future__ import annotations

from typing import Any

from construct import Adapter, Bytes, Construct, Int32ub, Struct, Terminated, ValidationError

from jpkikit.errors import ApduError
from jpkikit.vocab.binary import build, fields, parse
from jpkikit.vocab.jpki.card import LABEL_LENGTH

TOKEN_INFO_LENGTH = 160


class _Text(Adapter):
    """A fixed-size text field: ASCII, padded with spaces (trailing spaces and NULs stripped on parse; a
    byte that is not ASCII reads as U+FFFD). A longer value is cut to the size, as the card would hold it."""

    def __init__(self, size: int) -> None:
        super().__init__(Bytes(size))
        self.size = size

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return obj.rstrip(b" \x00").decode("ascii", "replace")

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        try:
            raw = obj.encode("ascii")
        except (UnicodeEncodeError, AttributeError):
            raise ValidationError(f"{obj!r} is not ASCII text", path=path) from None
        return raw.ljust(self.size, b" ")[: self.size]


#: The label at the start of EF 0006: 32 bytes, space padded.
TOKEN_LABEL: Construct = _Text(LABEL_LENGTH)

#: EF 0006 (CK_TOKEN_INFO, PKCS#11 v2.40 §3.2, big-endian, as myna-card describes it).
TOKEN_INFO = Struct(
    "label" / TOKEN_LABEL,
    "manufacturer_id" / _Text(32),
    "model" / _Text(16),
    "serial_number" / _Text(16),
    "flags" / Int32ub,
    "max_session_count" / Int32ub,
    "session_count" / Int32ub,
    "max_rw_session_count" / Int32ub,
    "rw_session_count" / Int32ub,
    "max_pin_len" / Int32ub,
    "min_pin_len" / Int32ub,
    "total_public_memory" / Int32ub,
    "free_public_memory" / Int32ub,
    "total_private_memory" / Int32ub,
    "free_private_memory" / Int32ub,
    "hardware_version" / Bytes(2),
    "firmware_version" / Bytes(2),
    "utc_time" / _Text(16),
    Terminated,
)
TOKEN_INFO_FIELDS = tuple(sc.name for sc in TOKEN_INFO.subcons if sc.name)


def build_token_info(**values: Any) -> bytes:
    """EF 0006 from its fields (all of :data:`TOKEN_INFO_FIELDS`)."""
    return build(TOKEN_INFO, values, "EF 0006 token information")


def parse_token_info(data: bytes) -> dict[str, Any]:
    """The fields of a whole EF 0006; ApduError naming the field when it is not the 160-byte layout."""
    return fields(parse(TOKEN_INFO, data, "EF 0006 token information"), TOKEN_INFO_FIELDS)


def parse_token_label(data: bytes) -> str:
    """The label from the start of EF 0006 (the whole EF or its first 32 bytes), padding stripped;
    ApduError when fewer than 32 bytes are given."""
    return parse(TOKEN_LABEL, data, "EF 0006 label", ApduError)
