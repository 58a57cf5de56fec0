"""Building blocks of the kit's binary layouts, in ``construct`` (2.10): BER-TLV lengths and tags as
ISO/IEC 7816-4 §6.3 (after ISO/IEC 8825-1) codes them, length-prefixed fields, a repetition to the end of
the data that names the element it could not read, and :func:`parse` / :func:`build`, which turn
construct's exceptions into the kit's own error types (the caller says which) with a message naming the
field. The layouts themselves live with their specification: :mod:`jpkikit.vocab.gp.layouts`,
:mod:`jpkikit.vocab.scp03.layouts`, :mod:`jpkikit.vocab.jpki.layouts`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from construct import (
    Adapter,
    Construct,
    ConstructError,
    Container,
    FocusedSeq,
    GreedyBytes,
    Int8ub,
    ListContainer,
    Prefixed,
    SizeofError,
    Struct,
    Subconstruct,
    Terminated,
    TerminatedError,
    ValidationError,
    stream_iseof,
    stream_read,
    stream_write,
)

from jpkikit.errors import ApduError, TlvError
from jpkikit.vocab.iso7816.tlv import length_bytes, tag_bytes

ErrorFactory = Callable[[str], Exception]

# -- building blocks ----------------------------------------------------------------------------------------


class _BerLength(Construct):
    """A BER definite length (ISO/IEC 7816-4 §6.3, X.690 §8.1.3): 00-7F, or 81-84 and 1-4 length bytes;
    built in the shortest form. The same rules as :mod:`jpkikit.vocab.iso7816.tlv`."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first = stream_read(stream, 1, path)[0]
        if first < 0x80:
            return first
        count = first & 0x7F
        if not 1 <= count <= 4:
            raise ValidationError(
                f"length byte {first:02X} is not a BER definite length (00-7F, 81-84)", path=path
            )
        return int.from_bytes(stream_read(stream, count, path), "big")

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> int:
        try:
            raw = length_bytes(obj)
        except (TlvError, TypeError) as exc:
            raise ValidationError(f"length {obj!r} cannot be BER-coded: {exc}", path=path) from None
        stream_write(stream, raw, len(raw), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("a BER length has no fixed size", path=path)


class _BerTag(Construct):
    """A BER tag of 1 to 4 bytes, as an int of its encoded bytes (``0x9F70``; ISO/IEC 7816-4 §6.3)."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        raw = stream_read(stream, 1, path)
        if raw[0] == 0x00:
            raise ValidationError("tag 00 is not a BER tag", path=path)
        if raw[0] & 0x1F == 0x1F:  # subsequent tag bytes; b8 set means another follows
            while True:
                more = stream_read(stream, 1, path)[0]
                raw += bytes((more,))
                if len(raw) == 2 and more & 0x7F == 0:
                    raise ValidationError(
                        f"tag {raw.hex().upper()} has a leading zero in its number", path=path
                    )
                if not more & 0x80:
                    break
                if len(raw) == 4:
                    raise ValidationError(f"tag {raw.hex().upper()}.. is longer than 4 bytes", path=path)
        return int.from_bytes(raw, "big")

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> int:
        try:
            raw = tag_bytes(obj)
        except TlvError as exc:
            raise ValidationError(str(exc), path=path) from None
        stream_write(stream, raw, len(raw), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("a BER tag has no fixed size", path=path)


class Tag(Construct):
    """A fixed BER tag (``E3``, ``C4``): parsed and checked, always built."""

    def __init__(self, tag: int) -> None:
        super().__init__()
        self.tag, self.raw = tag, tag_bytes(tag)
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        got = stream_read(stream, len(self.raw), path)
        if got != self.raw:
            raise ValidationError(f"tag {self.tag:X} expected, found {got.hex().upper()}", path=path)
        return self.tag

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> int:
        stream_write(stream, self.raw, len(self.raw), path)
        return self.tag

    def _sizeof(self, context: Any, path: str) -> int:
        return len(self.raw)


class Checked(Adapter):
    """``subcon`` whose value must pass ``valid`` (on parse and on build); ``message(value)`` says why not.
    With ``fixed``, a build without a value writes ``fixed``."""

    def __init__(
        self,
        subcon: Construct,
        valid: Callable[[Any], bool],
        message: Callable[[Any], str],
        fixed: Any = None,
    ) -> None:
        super().__init__(subcon)
        self.valid, self.message, self.fixed = valid, message, fixed
        self.flagbuildnone = fixed is not None

    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        if not self.valid(obj):
            raise ValidationError(self.message(obj), path=path)
        return obj

    def _encode(self, obj: Any, context: Any, path: str) -> Any:
        return self._decode(self.fixed if obj is None else obj, context, path)


class Absent(Construct):
    """Nothing on the wire; parses to None and builds only from None (the else-branch of a condition)."""

    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> None:
        return None

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> None:
        if obj is not None:
            raise ValidationError(f"must be absent: {self.why}", path=path)
        return None

    def _sizeof(self, context: Any, path: str) -> int:
        return 0


class UntilEnd(Subconstruct):
    """``subcon`` repeated until the data ends, zero or more times. Unlike construct's GreedyRange, an element
    that does not parse is an error (naming the element), not the end of the list."""

    def _parse(self, stream: Any, context: Any, path: str) -> ListContainer:
        out = ListContainer()
        while not stream_iseof(stream):
            out.append(self.subcon._parsereport(stream, context, f"{path} -> [{len(out)}]"))
        return out

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        for n, item in enumerate(obj):
            self.subcon._build(item, stream, context, f"{path} -> [{n}]")
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("a repetition up to the end of the data has no fixed size", path=path)


#: A BER length, and a BER tag as an int.
BER_LENGTH = _BerLength()
BER_TAG = _BerTag()
#: A field with a one-byte length before it (the "Length of ..." rows of the GPCS tables).
LV = Prefixed(Int8ub, GreedyBytes)
#: A field with a BER length before it (the "1-3" length rows of GPCS Table 11-49 and after).
BER_LV = Prefixed(BER_LENGTH, GreedyBytes)
#: One BER-TLV data object, ``{tag, value}`` (ISO/IEC 7816-4 §6.3).
BER_TLV = Struct("tag" / BER_TAG, "value" / BER_LV)


def whole(value: Construct) -> Construct:
    """``value``, which must take all of the data it is given."""
    return FocusedSeq("value", "value" / value, Terminated)


# -- parsing and building with the kit's error types --------------------------------------------------------

_SHORT = re.compile(r"stream read less than specified amount, expected (\d+), found (\d+)")


def explain(exc: ConstructError) -> tuple[str, str]:
    """The field ``exc`` arose in (``components[0].kcv``; empty for the whole layout) and a readable
    reason."""
    text = str(exc)
    if exc.path is not None:
        text = text.split("\n", 1)[-1]
    parts = [p.strip() for p in (exc.path or "").split("->")][1:]
    name = ""
    for part in parts:
        name += part if part.startswith("[") or not name else f".{part}"
    short = _SHORT.fullmatch(text)
    if short:
        expected = int(short.group(1))
        text = f"cut short: {expected} byte{'s' * (expected != 1)} expected, {short.group(2)} left"
    elif isinstance(exc, TerminatedError):
        text = "bytes follow the last field"
    return name, text


def describe(what: str, exc: ConstructError) -> str:
    name, reason = explain(exc)
    return f"{what}: {name}: {reason}" if name else f"{what}: {reason}"


def parse(layout: Construct, data: bytes, what: str, error: ErrorFactory = ApduError, **params: Any) -> Any:
    """Parse ``data`` with ``layout``; any failure is raised as ``error(message)``, the message starting
    with ``what`` and naming the field. ``params`` are context parameters (``this._params``)."""
    try:
        return layout.parse(bytes(data), **params)
    except ConstructError as exc:
        raise error(describe(what, exc)) from None


def build(layout: Construct, value: Any, what: str, error: ErrorFactory = ApduError, **params: Any) -> bytes:
    """Build ``value`` with ``layout``; a value that does not fit is raised as ``error(message)``."""
    try:
        return bytes(layout.build(value, **params))
    except ConstructError as exc:
        raise error(describe(f"{what} (building)", exc)) from None


def fields(container: Container, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of a parsed Struct (construct adds bookkeeping entries such as ``_io``)."""
    return {n: container[n] for n in names}
