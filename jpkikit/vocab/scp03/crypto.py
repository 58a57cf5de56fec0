"""The cryptographic primitives SCP03 is built on (Amd D §4.1): AES-CBC, AES-ECB on one block, AES-CMAC,
the ``80 00..`` padding (§4.1.4) and the AES key check value (Amd D §7.2.2, GPCS B.6).

All functions take and return ``bytes``; key lengths are 16, 24 or 32 bytes. The functions build a keyed
context per call; :class:`KeyedAes` builds its contexts once per key (a session key is used for every
command of its session, and building an OpenSSL context costs far more than the AES work on an APDU).
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


#: The §4.1.4 padding for each length modulo 16 (80, then 00 to the block boundary).
_PADDING = tuple(b"\x80" + b"\x00" * (BLOCK - 1 - k) for k in range(BLOCK))


def pad80(data: bytes) -> bytes:
    """Amd D §4.1.4: always append 80, then 00 up to a multiple of 16."""
    return bytes(data) + _PADDING[len(data) % BLOCK]


def unpad80(data: bytes) -> bytes:
    """Remove §4.1.4 padding; raises Scp03Error when the padding is malformed."""
    stripped = bytes(data).rstrip(b"\x00")
    if not data or len(data) % BLOCK or not stripped.endswith(b"\x80") or len(data) - len(stripped) >= BLOCK:
        raise Scp03Error("decrypted data does not end in valid 80 00.. padding (Amd D §4.1.4)")
    return stripped[:-1]


def _int(block: bytes) -> int:
    return int.from_bytes(block, "big")


class KeyedAes:
    """AES-ECB, AES-CBC and AES-CMAC under one key, with the OpenSSL contexts built once.

    The ECB encryptor is stateless between blocks, so one context serves every call. The CBC encryptor
    chains from the last ciphertext block it produced; a call with another IV feeds the first block
    corrected by ``IV xor last``, which is exactly CBC with that IV (SP 800-38A §6.2). The CBC decryptor
    chains from the last ciphertext block it consumed, so the IV is fed in front of the ciphertext.
    CMAC copies a keyed template (SP 800-38B). Like the session that owns it, an object serves one thread
    at a time. The repr never shows the key.
    """

    def __init__(self, key: bytes) -> None:
        check_key(key)
        aes = algorithms.AES(bytes(key))
        zero = b"\x00" * BLOCK
        self._ecb = Cipher(aes, modes.ECB()).encryptor()
        self._cbc_enc = Cipher(aes, modes.CBC(zero)).encryptor()
        self._cbc_dec = Cipher(aes, modes.CBC(zero)).decryptor()
        self._enc_last = 0  # the chaining block of the CBC encryptor, as an integer
        self._cmac = CMAC(aes)

    def __repr__(self) -> str:
        return "KeyedAes(<redacted>)"

    def ecb_block(self, block: bytes) -> bytes:
        if len(block) != BLOCK:
            raise Scp03Error(f"AES block must be 16 bytes, got {len(block)}")
        return self._ecb.update(bytes(block))

    def cbc_encrypt(self, iv: bytes, data: bytes) -> bytes:
        if len(data) % BLOCK:
            raise Scp03Error(f"AES-CBC input must be a multiple of 16 bytes, got {len(data)}")
        if not data:
            return b""
        data = bytes(data)
        first = _int(data[:BLOCK]) ^ _int(iv) ^ self._enc_last
        out = self._cbc_enc.update(first.to_bytes(BLOCK, "big") + data[BLOCK:])
        self._enc_last = _int(out[-BLOCK:])
        return out

    def cbc_encrypt_icv(self, icv_input: bytes, data: bytes) -> bytes:
        """CBC encryption under the IV ``AES(key, icv_input)`` (the ICV of Amd D §6.2.6, §6.2.7) in one pass:
        CBC over ``icv_input || data`` from a zero IV starts with exactly that IV, so its output after the
        first block is the ciphertext."""
        if len(data) % BLOCK or len(icv_input) != BLOCK:
            raise Scp03Error(f"AES-CBC input must be a multiple of 16 bytes, got {len(data)}")
        if not data:
            return b""
        first = int.from_bytes(icv_input, "big") ^ self._enc_last
        out = self._cbc_enc.update(first.to_bytes(BLOCK, "big") + data)
        self._enc_last = int.from_bytes(out[-BLOCK:], "big")
        return out[BLOCK:]

    def cbc_decrypt(self, iv: bytes, data: bytes) -> bytes:
        """CBC decryption under ``iv``: the IV goes in front as a ciphertext block, the context chains the
        next block from it, and the block it yields itself is dropped (no chaining state to correct)."""
        if len(data) % BLOCK:
            raise Scp03Error(f"AES-CBC ciphertext must be a multiple of 16 bytes, got {len(data)}")
        if not data:
            return b""
        if len(iv) != BLOCK:
            raise Scp03Error(f"AES-CBC IV must be 16 bytes, got {len(iv)}")
        return self._cbc_dec.update(bytes(iv) + bytes(data))[BLOCK:]

    def cmac(self, data: bytes) -> bytes:
        c = self._cmac.copy()
        c.update(bytes(data))
        return c.finalize()


def kcv(key: bytes) -> bytes:
    """AES key check value: first 3 bytes of AES-ECB(key, 01 x 16) (Amd D §7.2.2)."""
    return ecb_block(key, b"\x01" * BLOCK)[:3]
