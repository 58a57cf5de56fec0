"""Personalities: which card the emulator is (ATR, channels, length limits, the applications installed).

The facts behind each are in jpki-ap.md §1-2 and §11.3; the builders live in ``personalities.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jpkikit.errors import KitError
from jpkikit.reference.emulator.applet import APPLET_TYPES, Applet


@dataclass(frozen=True)
class AppletSpec:
    type_name: str
    aid: bytes
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Personality:
    name: str
    description: str
    atr: bytes
    #: Number of logical channels including the basic one (1: basic channel only).
    logical_channels: int
    extended_length: bool
    max_command_data: int
    max_response_data: int
    applets: tuple[AppletSpec, ...]
    default_aid: bytes | None = None

    def install(self) -> list[tuple[bytes, Applet]]:
        return [(s.aid, APPLET_TYPES[s.type_name](s.aid, None, **s.params)) for s in self.applets]


def atr_with_tck(*body: int) -> bytes:
    """An ATR from TS..historical bytes, with TCK appended (ISO/IEC 7816-3 §8.2.5: XOR of T0..last)."""
    tck = 0
    for b in body[1:]:
        tck ^= b
    return bytes(body) + bytes((tck,))


PERSONALITIES: dict[str, Personality] = {}


def define(p: Personality) -> Personality:
    PERSONALITIES[p.name] = p
    return p


def get_personality(name: str) -> Personality:
    from jpkikit.reference.emulator import personalities  # noqa: F401  (defines the bundled personalities)

    try:
        return PERSONALITIES[name]
    except KeyError:
        known = ", ".join(sorted(PERSONALITIES))
        raise KitError(f"unknown personality {name!r}; choose one of: {known}") from None
