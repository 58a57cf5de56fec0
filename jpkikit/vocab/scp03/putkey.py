"""PUT KEY for AES keys (GPCS §11.8; Amd D §7.2, Table 7-10): key data encrypted with the static Key-DEK
(AES-CBC, zero ICV, §6.2.8) with a 3-byte KCV. Two encodings of one key component exist and a card must accept
both:

* long form (Amd D Table 7-10): ``88 L  keylen  E(DEK, key)  03 KCV`` with L = 1 + ciphertext length;
* short form (GPCS Table 11-71): ``88 L  E(DEK, key)  03 KCV`` with L = ciphertext length, for keys that
  are a multiple of 16 bytes. The card tells them apart by whether L is a multiple of 16.

The layouts (command data, key component, response) are :mod:`jpkikit.vocab.scp03.layouts`; this module adds
the cryptography (encryption under the DEK, KCVs) and the card's checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from jpkikit.vocab.binary import build, fields, parse
from jpkikit.vocab.gp.constants import INS_PUT_KEY
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.scp03.crypto import AES_KEY_LENGTHS, BLOCK, cbc_decrypt, cbc_encrypt, check_key, kcv
from jpkikit.vocab.scp03.errors import Scp03AnswerError, Scp03Error
from jpkikit.vocab.scp03.keys import StaticKeys
from jpkikit.vocab.scp03.layouts import (
    AES_KEY_COMPONENT,
    KEY_COMPONENT_FIELDS,
    KEY_TYPE_AES,
    PUT_KEY_DATA,
    PUT_KEY_RESPONSE,
)

ZERO_ICV = b"\x00" * BLOCK


def encrypt_key(dek: bytes, key: bytes) -> bytes:
    """§6.2.8: AES-CBC with a zero ICV; a 24-byte key is padded with 8 arbitrary (here random) bytes."""
    check_key(key)
    padded = bytes(key) + (os.urandom(-len(key) % BLOCK))
    return cbc_encrypt(dek, ZERO_ICV, padded)


def _component(dek: bytes, key: bytes, long_form: bool) -> dict[str, object]:
    """The fields of :data:`~jpkikit.vocab.scp03.layouts.AES_KEY_COMPONENT` for ``key``."""
    if not long_form and len(key) % BLOCK:
        raise Scp03Error(f"the short form needs a key length that is a multiple of 16, got {len(key)}")
    return {
        "key_type": KEY_TYPE_AES,
        "length": None,  # rebuilt from the fields after it
        "key_length": len(key) if long_form else None,
        "ciphertext": encrypt_key(dek, key),
        "kcv_length": None,  # always 03
        "kcv": kcv(key),
    }


def encode_aes_key(dek: bytes, key: bytes, long_form: bool = True) -> bytes:
    """One key component (type 88) with its KCV."""
    return build(AES_KEY_COMPONENT, _component(dek, key, long_form), "PUT KEY key component", Scp03Error)


def put_key_command(
    keys: StaticKeys, dek: bytes, *, replace_kvn: int = 0x00, first_kid: int = 0x01, long_form: bool = True
) -> CommandApdu:
    """PUT KEY of a whole SCP03 key set (ENC, MAC, DEK as KIDs first_kid..first_kid+2), encrypted under the
    current static ``dek``. ``replace_kvn`` 00 adds a key set."""
    if not 0x01 <= keys.kvn <= 0x7F:
        raise Scp03Error(f"new key version number must be 01..7F (GPCS §11.8.2.2), got {keys.kvn:02X}")
    components = [_component(dek, k, long_form) for k in (keys.enc, keys.mac, keys.dek)]
    data = build(PUT_KEY_DATA, {"kvn": keys.kvn, "components": components}, "PUT KEY data", Scp03Error)
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


def _malformed(message: str) -> PutKeyError:
    return PutKeyError(message, 0x6A80)


def parse_key_data(data: bytes, dek: bytes) -> tuple[int, list[KeyComponent]]:
    """Card side: decode ``newKVN || component...`` (:data:`~jpkikit.vocab.scp03.layouts.PUT_KEY_DATA`),
    decrypting with ``dek`` and checking each KCV.

    Raises PutKeyError(6A80) for malformed data or unsupported types, PutKeyError(6982) for a wrong KCV.
    """
    parsed = parse(PUT_KEY_DATA, data, "PUT KEY data", _malformed)
    out = []
    for n, raw in enumerate(parsed.components):
        component = fields(raw, KEY_COMPONENT_FIELDS)
        ciphertext = component["ciphertext"]
        key_length = len(ciphertext) if component["key_length"] is None else component["key_length"]
        if key_length not in AES_KEY_LENGTHS or len(ciphertext) % BLOCK or len(ciphertext) < key_length:
            raise _malformed(
                f"PUT KEY data: components[{n}]: AES key block of {component['length']} bytes does not "
                "hold a 16/24/32-byte key"
            )
        key = cbc_decrypt(dek, ZERO_ICV, ciphertext)[:key_length]
        if component["kcv"] != kcv(key):
            raise PutKeyError(f"PUT KEY data: components[{n}].kcv does not match the decrypted key", 0x6982)
        out.append(KeyComponent(key, component["kcv"]))
    return parsed.kvn, out


def parse_put_key_response(data: bytes, count: int = 3) -> tuple[int, list[bytes]]:
    """Host side: ``KVN || KCV...`` with no length bytes (GPCS §11.8.3; layout
    :data:`~jpkikit.vocab.scp03.layouts.PUT_KEY_RESPONSE`)."""
    expected = PUT_KEY_RESPONSE.sizeof(count=count)
    if len(data) != expected:
        raise Scp03AnswerError(f"PUT KEY response is {len(data)} bytes; {expected} expected for {count} keys")
    parsed = parse(PUT_KEY_RESPONSE, data, "PUT KEY response", Scp03AnswerError, count=count)
    return parsed.kvn, list(parsed.kcvs)


def put_key_response(kvn: int, kcvs: list[bytes]) -> bytes:
    """Card side: the response data of a successful PUT KEY (GPCS §11.8.3)."""
    response = {"kvn": kvn, "kcvs": kcvs}
    return build(PUT_KEY_RESPONSE, response, "PUT KEY response", Scp03Error, count=len(kcvs))
