"""Security levels, S8/S16 mode and the "i" parameter (Amd D §5.1, Table 5-1, Table 7-3)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

from jpkikit.vocab.scp03.errors import Scp03Error


class SecurityLevel(IntFlag):
    """EXTERNAL AUTHENTICATE P1 bits (Amd D Table 7-3) and the Current Security Level (GPCS Table 10-1)."""

    NONE = 0x00
    C_MAC = 0x01
    C_DECRYPTION = 0x02
    R_MAC = 0x10
    R_ENCRYPTION = 0x20
    ANY_AUTHENTICATED = 0x40
    AUTHENTICATED = 0x80


#: The P1 values Amd D Table 7-3 permits (C-DEC needs C-MAC; R-ENC needs R-MAC and C-DEC, §5.5).
VALID_LEVELS: tuple[int, ...] = (0x00, 0x01, 0x03, 0x11, 0x13, 0x33)
#: The levels the kit exercises (00 authenticates but protects nothing).
PROTECTED_LEVELS: tuple[int, ...] = (0x01, 0x03, 0x11, 0x13, 0x33)


def check_level(level: int) -> SecurityLevel:
    if level not in VALID_LEVELS:
        allowed = ", ".join(f"{v:02X}" for v in VALID_LEVELS)
        raise Scp03Error(f"security level {level:02X} is not one of {allowed} (Amd D Table 7-3)")
    return SecurityLevel(level)


class Mode(IntEnum):
    """S8 or S16: length in bytes of challenges, cryptograms and MACs (Amd D §4.1.3, §6.2.4)."""

    S8 = 8
    S16 = 16

    @property
    def length_bits(self) -> int:
        return self.value * 8


# "i" parameter bits (Amd D Table 5-1; b1 = S16 as the implementations use it,
# docs/spec/globalplatform.md#the-i-parameter).
I_S16 = 0x01
I_PSEUDO_RANDOM = 0x10
I_R_MAC = 0x20
I_R_ENC = 0x40


def mode_from_i(i: int) -> Mode:
    return Mode.S16 if i & I_S16 else Mode.S8


def i_allows(i: int, level: int) -> bool:
    """Whether a key set advertising ``i`` supports the response protection that ``level`` asks for."""
    if level & SecurityLevel.R_ENCRYPTION and (i & 0x60) != 0x60:
        return False
    return not (level & SecurityLevel.R_MAC and not i & I_R_MAC)


def describe_level(level: int) -> str:
    names = [f.name for f in SecurityLevel if f.value and level & f.value and f.name]
    return "+".join(n for n in names if n) or "NO_SECURITY_LEVEL"
