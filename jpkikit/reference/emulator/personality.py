"""Personalities: which card the emulator is (ATR, channels, length limits, the applications installed).

The facts behind each are in docs/spec/jpki-applet.md ("Applications and AIDs", "Logical channels", "Transport
and ATR", "The phone token (GP-SE)"); the builders live in ``personalities.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jpkikit.reference.emulator.applet import Applet


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
    #: The applet classes this card knows by type name: installed ones, state files, GP INSTALL.
    applet_types: Mapping[str, type[Applet]] = field(default_factory=dict)
    #: The card runtime class (a ``runtime.Card`` subclass, e.g. the UICC's); None: ``runtime.Card``.
    card_class: Any = None

    def install(self) -> list[tuple[bytes, Applet]]:
        return [(s.aid, self.applet_types[s.type_name](s.aid, None, **s.params)) for s in self.applets]


def atr_with_tck(*body: int) -> bytes:
    """An ATR from TS..historical bytes, with TCK appended (ISO/IEC 7816-3 §8.2.5: XOR of T0..last)."""
    tck = 0
    for b in body[1:]:
        tck ^= b
    return bytes(body) + bytes((tck,))
