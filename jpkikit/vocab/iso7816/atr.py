"""The structure of an Answer-to-Reset (ISO/IEC 7816-3 §8.2): TS, T0, the interface bytes TA/TB/TC/TD of
each group (announced by the high nibble of T0 and of each TD), K historical bytes (the low nibble of T0),
and TCK, present unless T=0 is the only protocol indicated, making the XOR of T0 to TCK zero."""

from __future__ import annotations

from dataclasses import dataclass

DIRECT, INVERSE = 0x3B, 0x3F  # TS: the two conventions (§8.1)


@dataclass(frozen=True)
class Atr:
    convention: int
    protocols: tuple[int, ...]  # the T values the TD bytes indicate, in order (T=0 when there is no TD1)
    historical: bytes
    tck: int | None


class AtrError(ValueError):
    """Bytes that are not an ATR: what is wrong with them, in words."""


def parse_atr(atr: bytes) -> Atr:
    """The ATR's parts; AtrError saying what is wrong when ``atr`` does not have the structure of §8.2."""
    if len(atr) < 2:
        raise AtrError(f"{len(atr)} bytes: an ATR has at least TS and T0")
    if atr[0] not in (DIRECT, INVERSE):
        raise AtrError(f"TS is {atr[0]:02X}, neither 3B (direct) nor 3F (inverse convention)")
    k = atr[1] & 0x0F
    y, at, protocols = atr[1] >> 4, 2, []
    while y:
        count = bin(y).count("1")
        if at + count > len(atr):
            raise AtrError(f"the interface bytes announced run past the end ({len(atr)} bytes)")
        td = atr[at + count - 1] if y & 0x8 else None
        at += count
        if td is None:
            break
        protocols.append(td & 0x0F)
        y = td >> 4
    if at + k > len(atr):
        raise AtrError(f"T0 announces {k} historical bytes, {len(atr) - at} follow the interface bytes")
    historical = atr[at : at + k]
    at += k
    needs_tck = any(t != 0 for t in protocols)
    rest = len(atr) - at
    if not needs_tck:
        if rest:
            raise AtrError(f"{rest} bytes after the historical bytes, and only T=0 is indicated (no TCK)")
        return Atr(atr[0], tuple(protocols) or (0,), historical, None)
    if rest != 1:
        raise AtrError(f"{rest} bytes after the historical bytes where TCK (one byte) must end the ATR")
    check = 0
    for byte in atr[1:]:
        check ^= byte
    if check:
        raise AtrError(f"TCK {atr[-1]:02X} does not make the XOR of T0 to TCK zero")
    return Atr(atr[0], tuple(protocols), historical, atr[-1])


def atr_problem(atr: bytes) -> str | None:
    """None for a well-formed ATR, else what is wrong with it."""
    try:
        parse_atr(atr)
    except AtrError as exc:
        return str(exc)
    return None
