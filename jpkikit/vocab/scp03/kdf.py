"""Data derivation of SCP03: NIST SP 800-108 KDF in counter mode with AES-CMAC as the PRF (Amd D §4.1.5).

:func:`kbkdf_counter_cmac` is the general construction (fixed data before and after an ``r``-byte counter,
CAVP's ``CTRLOCATION=MIDDLE_FIXED``); :func:`derive` lays out SCP03's fixed data:
``00 x 11 || constant || 00 || L (2 bytes, bits) || i (1 byte) || context``.
"""

from __future__ import annotations

from enum import IntEnum

from jpkikit.vocab.scp03.crypto import BLOCK, cmac
from jpkikit.vocab.scp03.errors import Scp03Error


class DerivationConstant(IntEnum):
    """Amd D Table 4-1."""

    CARD_CRYPTOGRAM = 0x00
    HOST_CRYPTOGRAM = 0x01
    CARD_CHALLENGE = 0x02
    S_ENC = 0x04
    S_MAC = 0x06
    S_RMAC = 0x07


def kbkdf_counter_cmac(
    key: bytes, length_bits: int, before: bytes = b"", after: bytes = b"", counter_bytes: int = 1
) -> bytes:
    """SP 800-108 §5.1 counter mode, PRF = AES-CMAC(key): K(i) = PRF(before || [i]_r || after)."""
    if length_bits <= 0 or length_bits % 8:
        raise Scp03Error(f"KDF output length must be a positive multiple of 8 bits, got {length_bits}")
    blocks = -(-length_bits // (BLOCK * 8))
    if blocks >= 1 << (8 * counter_bytes):
        raise Scp03Error(f"KDF output of {length_bits} bits needs more than a {counter_bytes}-byte counter")
    out = b"".join(cmac(key, before + i.to_bytes(counter_bytes, "big") + after) for i in range(1, blocks + 1))
    return out[: length_bits // 8]


def derive(key: bytes, constant: int, context: bytes, length_bits: int) -> bytes:
    """Amd D §4.1.5: label (11 x 00 || constant), separator 00, L, counter, context."""
    before = b"\x00" * 11 + bytes((constant,)) + b"\x00" + length_bits.to_bytes(2, "big")
    return kbkdf_counter_cmac(key, length_bits, before, bytes(context))
