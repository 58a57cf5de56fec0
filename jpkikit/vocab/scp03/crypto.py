"""The cryptographic primitives SCP03 is built on (Amd D §4.1): AES-CBC, AES-ECB on one block, AES-CMAC,
the ``80 00..`` padding (§4.1.4) and the AES key check value (Amd D §7.2.2, GPCS B.6).

All functions take and return ``bytes``; key lengths are 16, 24 or 32 bytes.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from jpkikit.vocab.scp03.errors import Scp03Error

BLOCK = 16
AES_KEY_LENGTHS = (16, 24, 32)


def check_key(key: bytes, what: str = "key") -> None:
    if not isinstance(key, bytes | bytearray) or len(key) not in AES_KEY_LENGTHS:
        got = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise Scp03Error(f"{what} must be an AES key of 16, 24 or 32 bytes, got {got}")


def cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (SP 800-38B), full 16-byte output (Amd D §4.1.2)."""
    check_key(key)
    c = CMAC(algorithms.AES(bytes(key)))
    c.update(bytes(data))
    return c.finalize()


def ecb_block(key: bytes, block: bytes) -> bytes:
    """AES encryption of one 16-byte block (used for the ICVs of §6.2.6/§6.2.7 and the KCV)."""
    check_key(key)
    if len(block) != BLOCK:
        raise Scp03Error(f"AES block must be 16 bytes, got {len(block)}")
    enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    return enc.update(bytes(block)) + enc.finalize()


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    check_key(key)
    if len(data) % BLOCK:
        raise Scp03Error(f"AES-CBC input must be a multiple of 16 bytes, got {len(data)}")
    enc = Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv))).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    check_key(key)
    if len(data) % BLOCK:
        raise Scp03Error(f"AES-CBC ciphertext must be a multiple of 16 bytes, got {len(data)}")
    dec = Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv))).decryptor()
    return dec.update(bytes(data)) + dec.finalize()


def pad80(data: bytes) -> bytes:
    """Amd D §4.1.4: always append 80, then 00 up to a multiple of 16."""
    data = bytes(data) + b"\x80"
    return data + b"\x00" * (-len(data) % BLOCK)


def unpad80(data: bytes) -> bytes:
    """Remove §4.1.4 padding; raises Scp03Error when the padding is malformed."""
    stripped = bytes(data).rstrip(b"\x00")
    if not data or len(data) % BLOCK or not stripped.endswith(b"\x80") or len(data) - len(stripped) >= BLOCK:
        raise Scp03Error("decrypted data does not end in valid 80 00.. padding (Amd D §4.1.4)")
    return stripped[:-1]


def kcv(key: bytes) -> bytes:
    """AES key check value: first 3 bytes of AES-ECB(key, 01 x 16) (Amd D §7.2.2)."""
    return ecb_block(key, b"\x01" * BLOCK)[:3]
