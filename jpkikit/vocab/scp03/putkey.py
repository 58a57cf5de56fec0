"""PUT KEY for AES keys (GPCS §11.8; Amd D §7.2, Table 7-10): key data encrypted with the static Key-DEK
(AES-CBC, zero ICV, §6.2.8) with a 3-byte KCV. Two encodings of one key component exist and a card must accept
both:

* long form (Amd D Table 7-10): ``88 L  keylen  E(DEK, key)  03 KCV`` with L = 1 + ciphertext length;
* short form (GPCS Table 11-71): ``88 L  E(DEK, key)  03 KCV`` with L = ciphertext length, for keys that
  are a multiple of 16 bytes. The card tells them apart by whether L is a multiple of 16.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.scp03.crypto import AES_KEY_LENGTHS, BLOCK, cbc_decrypt, cbc_encrypt, check_key, kcv
from jpkikit.vocab.scp03.errors import Scp03Error
from jpkikit.vocab.scp03.keys import StaticKeys

INS_PUT_KEY = 0xD8
KEY_TYPE_AES = 0x88
ZERO_ICV = b"\x00" * BLOCK


def encrypt_key(dek: bytes, key: bytes) -> bytes:
    """§6.2.8: AES-CBC with a zero ICV; a 24-byte key is padded with 8 arbitrary (here random) bytes."""
    check_key(key)
    padded = bytes(key) + (os.urandom(-len(key) % BLOCK))
    return cbc_encrypt(dek, ZERO_ICV, padded)


def encode_aes_key(dek: bytes, key: bytes, long_form: bool = True) -> bytes:
    """One key component (type 88) with its KCV."""
    ciphertext = encrypt_key(dek, key)
    if long_form:
        block = bytes((len(key),)) + ciphertext
    else:
        if len(key) % BLOCK:
            raise Scp03Error(f"the short form needs a key length that is a multiple of 16, got {len(key)}")
        block = ciphertext
    return bytes((KEY_TYPE_AES, len(block))) + block + b"\x03" + kcv(key)


def put_key_command(
    keys: StaticKeys, dek: bytes, *, replace_kvn: int = 0x00, first_kid: int = 0x01, long_form: bool = True
) -> CommandApdu:
    """PUT KEY of a whole SCP03 key set (ENC, MAC, DEK as KIDs first_kid..first_kid+2), encrypted under the
    current static ``dek``. ``replace_kvn`` 00 adds a key set."""
    if not 0x01 <= keys.kvn <= 0x7F:
        raise Scp03Error(f"new key version number must be 01..7F (GPCS §11.8.2.2), got {keys.kvn:02X}")
    data = bytes((keys.kvn,)) + b"".join(
        encode_aes_key(dek, k, long_form) for k in (keys.enc, keys.mac, keys.dek)
    )
    return CommandApdu(0x80, INS_PUT_KEY, replace_kvn, 0x80 | first_kid, data, ne=256)


@dataclass(frozen=True, repr=False)
class KeyComponent:
    key: bytes
    kcv: bytes

    def __repr__(self) -> str:
        return f"KeyComponent(AES-{len(self.key) * 8}, kcv={self.kcv.hex().upper()})"


class PutKeyError(Scp03Error):
    """Card side: the PUT KEY data is unacceptable; ``sw`` is what to answer (GPCS Table 11-78)."""

    def __init__(self, message: str, sw: int) -> None:
        super().__init__(message)
        self.sw = sw


def parse_key_data(data: bytes, dek: bytes) -> tuple[int, list[KeyComponent]]:
    """Card side: decode ``newKVN || component...``, decrypting with ``dek`` and checking each KCV.

    Raises PutKeyError(6A80) for malformed data or unsupported types, PutKeyError(6982) for a wrong KCV.
    """
    data = bytes(data)
    if not data:
        raise PutKeyError("PUT KEY data is empty", 0x6A80)
    kvn, pos, out = data[0], 1, []
    while pos < len(data):
        if pos + 2 > len(data):
            raise PutKeyError(f"offset {pos}: key type and length expected", 0x6A80)
        key_type, length = data[pos], data[pos + 1]
        pos += 2
        if key_type != KEY_TYPE_AES:
            raise PutKeyError(f"key type {key_type:02X} is not supported, only AES (88)", 0x6A80)
        block = data[pos : pos + length]
        if len(block) != length:
            raise PutKeyError(f"offset {pos}: key block of {length} bytes is cut short", 0x6A80)
        pos += length
        if length % BLOCK == 0:  # short form (GPCS Table 11-71)
            key_length, ciphertext = length, block
        else:  # long form (Amd D Table 7-10)
            key_length, ciphertext = block[0], block[1:]
        if key_length not in AES_KEY_LENGTHS or len(ciphertext) % BLOCK or len(ciphertext) < key_length:
            raise PutKeyError(f"AES key block of {length} bytes does not hold a 16/24/32-byte key", 0x6A80)
        key = cbc_decrypt(dek, ZERO_ICV, ciphertext)[:key_length]
        if pos >= len(data):
            raise PutKeyError("KCV length byte missing", 0x6A80)
        kcv_length = data[pos]
        given = data[pos + 1 : pos + 1 + kcv_length]
        pos += 1 + kcv_length
        if kcv_length != 3 or len(given) != 3:
            raise PutKeyError("an AES key needs a 3-byte KCV", 0x6A80)
        if given != kcv(key):
            raise PutKeyError("KCV does not match the decrypted key", 0x6982)
        out.append(KeyComponent(key, given))
    return kvn, out


def parse_put_key_response(data: bytes, count: int = 3) -> tuple[int, list[bytes]]:
    """Host side: ``KVN || KCV...`` with no length bytes (GPCS §11.8.3)."""
    if len(data) != 1 + 3 * count:
        raise Scp03Error(f"PUT KEY response is {len(data)} bytes; {1 + 3 * count} expected for {count} keys")
    return data[0], [data[1 + 3 * n : 4 + 3 * n] for n in range(count)]
