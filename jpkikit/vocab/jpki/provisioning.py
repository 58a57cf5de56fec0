"""The provisioning command set of the smartphone JPKI applet, as a specification
(docs/provisioning-commands.md): instruction codes, tags, the commitment S = H[R] (seed 004 p.15 step ⑰),
the C-APDUs a TSM sends (plain form; an SCP03 layer wraps them), the app's own commands (COMMIT and the
unblock with the temporary PIN, outside SCP03), the key package of the SIM design's off-card key delivery
(seed 003 §1(1)イ, seed 001 §5(1): the key sent encrypted over the network) and parsers for the answers.

No public specification defines these commands; this is the kit's profile of them. The host side, the
reference TSM and the reference applet all take the codes from here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.errors import KitError, MalformedAnswer, TlvError
from jpkikit.secrets import Secret, reveal_bytes
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.tlv import Tlv, decode
from jpkikit.vocab.scp03.crypto import BLOCK as AES_BLOCK
from jpkikit.vocab.scp03.crypto import cbc_decrypt, cbc_encrypt, pad80, unpad80

CLA = 0x80


class ProvIns(IntEnum):
    """Proprietary-class (CLA 80/84) instructions of the provisioning command set."""

    GET_SE_ID = 0x10  # read the SE identification ID (seed 004 p.18, steps ⑥⑦)
    COMMIT = 0x12  # random R, answer S = H[R]: the app's command, before it signs (seed 004 p.15 ①②)
    GENERATE_KEY = 0x14  # RSA key pair on chip, answer public key + R (step ⑰, second half)
    PUT_CERTIFICATE = 0x16  # write a certificate (steps ㉑㉒)
    SET_TEMP_PIN = 0x18  # set the temporary PIN (seed 004 p.17, flows of p.17 and p.18)
    BLOCK_PIN = 0x1A  # block the PIN: only an unblock with the temporary PIN opens it (p.17)
    DELETE_KEYS = 0x1C  # delete keys and certificates (p.21-26)
    PUT_KEY_PAIR = 0x1E  # SIM design only: a key pair generated off card, delivered encrypted (seed 003)


def ins_name(ins: int) -> str | None:
    try:
        return ProvIns(ins).name.replace("_", " ")
    except ValueError:
        return None


INS_GET_SE_ID, INS_COMMIT, INS_GENERATE_KEY = ProvIns.GET_SE_ID, ProvIns.COMMIT, ProvIns.GENERATE_KEY
INS_PUT_CERTIFICATE, INS_SET_TEMP_PIN = ProvIns.PUT_CERTIFICATE, ProvIns.SET_TEMP_PIN
INS_BLOCK_PIN, INS_DELETE_KEYS = ProvIns.BLOCK_PIN, ProvIns.DELETE_KEYS
INS_PUT_KEY_PAIR = ProvIns.PUT_KEY_PAIR
PROVISIONING_INS = frozenset(ProvIns)
#: The commands that write to the SE (what "nothing written to the SE" counts).
WRITE_INS = frozenset(
    {
        INS_GENERATE_KEY,
        INS_PUT_CERTIFICATE,
        INS_SET_TEMP_PIN,
        INS_BLOCK_PIN,
        INS_DELETE_KEYS,
        INS_PUT_KEY_PAIR,
    }
)
#: The app's commands, sent without a secure channel (the app holds no SCP03 keys): COMMIT, before the
#: application is signed (seed 004 p.15: S travels inside the card-signed application).
APP_INS = frozenset({INS_COMMIT})
#: The app's "unblock with the temporary PIN" is the ISO RESET RETRY COUNTER (seed 004 p.17).
INS_RESET_RETRY_COUNTER = Ins.RESET_RETRY_COUNTER

SE_ID_LENGTH = 16
R_LENGTH = 32
ALL_SLOTS = 0xFF
MORE_BLOCKS = 0x80  # PUT CERTIFICATE P1: more blocks follow
CA_BIT = 0x10  # PUT CERTIFICATE P2: the slot's CA certificate rather than its own
# Tags of the GENERATE KEY response (ISO/IEC 7816-8 public key template).
TAG_PUBLIC_KEY, TAG_MODULUS, TAG_EXPONENT, TAG_R = 0x7F49, 0x81, 0x82, 0xC0
# The key package of PUT KEY PAIR: E0 { 5A SE identification ID, 81 AES-CBC(DEK, PKCS#8 DER || 80 00..) }.
TAG_KEY_PACKAGE, TAG_PACKAGE_SE_ID, TAG_WRAPPED_KEY = 0xE0, 0x5A, 0x81


def commitment(r: bytes) -> bytes:
    """S = H[R] (seed 004 p.15 step ⑰); H is SHA-256 in the kit's profile of the command set."""
    return hashlib.sha256(r).digest()


SLOT_AUTH, SLOT_SIGN = 0x01, 0x02
SLOT_NAMES = {"auth": SLOT_AUTH, "sign": SLOT_SIGN}
#: Certificate bytes per PUT CERTIFICATE block: fits a short APDU after SCP03 padding and the C-MAC.
BLOCK = 200


class SeAnswerError(MalformedAnswer):
    """The SE answered a provisioning command with something that does not parse."""


def get_se_id() -> CommandApdu:
    return CommandApdu(CLA, INS_GET_SE_ID, 0, 0, ne=256)


def commit(slot: int) -> CommandApdu:
    return CommandApdu(CLA, INS_COMMIT, 0, slot, ne=256)


def generate_key(slot: int) -> CommandApdu:
    # No Le: the answer (about 300 bytes, more once R-ENC pads it) comes back through 61xx + GET RESPONSE,
    # so it also fits a card without extended length.
    return CommandApdu(CLA, INS_GENERATE_KEY, 0, slot)


def put_certificate(slot: int, der: bytes, ca: bool = False, block: int = BLOCK) -> list[CommandApdu]:
    p2 = slot | (CA_BIT if ca else 0)
    chunks = [der[i : i + block] for i in range(0, len(der), block)] or [b""]
    return [
        CommandApdu(CLA, INS_PUT_CERTIFICATE, MORE_BLOCKS if n < len(chunks) - 1 else 0, p2, chunk)
        for n, chunk in enumerate(chunks)
    ]


def set_temp_pin(slot: int, temp_pin: bytes) -> CommandApdu:
    return CommandApdu(CLA, INS_SET_TEMP_PIN, 0, slot, temp_pin)


def block_pin(slot: int) -> CommandApdu:
    return CommandApdu(CLA, INS_BLOCK_PIN, 0, slot)


def delete_keys(slot: int = ALL_SLOTS) -> CommandApdu:
    return CommandApdu(CLA, INS_DELETE_KEYS, 0, slot)


def put_key_pair(slot: int, package: bytes, block: int = BLOCK) -> list[CommandApdu]:
    """PUT KEY PAIR (SIM design): the key package of :func:`key_package` in blocks (P1 80: more follow),
    each a short APDU after SCP03, under SCP03 with C-DECRYPTION."""
    chunks = [package[i : i + block] for i in range(0, len(package), block)] or [b""]
    return [
        CommandApdu(CLA, INS_PUT_KEY_PAIR, MORE_BLOCKS if n < len(chunks) - 1 else 0, slot, chunk)
        for n, chunk in enumerate(chunks)
    ]


def key_package(se_id: bytes, wrapped_key: bytes) -> bytes:
    """E0 { 5A SE ID, 81 wrapped key }: the delivery names the SE it is for (binding to the SE)."""
    body = Tlv(TAG_PACKAGE_SE_ID, se_id).encode() + Tlv(TAG_WRAPPED_KEY, wrapped_key).encode()
    return Tlv(TAG_KEY_PACKAGE, body).encode()


def wrap_private_key(dek: bytes, pkcs8_der: bytes) -> bytes:
    """The private key for the package: AES-CBC under the APSD's static Key-DEK with a zero ICV, as GP
    encrypts key values (Amd D §6.2.8), the DER padded with 80 00.. (ISO/IEC 9797-1 method 2)."""
    return cbc_encrypt(dek, bytes(AES_BLOCK), pad80(pkcs8_der))


def unwrap_private_key(dek: bytes, wrapped: bytes) -> bytes:
    """The PKCS#8 DER inside a wrapped key; SeAnswerError when it is not a padded multiple of blocks."""
    if not wrapped or len(wrapped) % AES_BLOCK:
        raise SeAnswerError(f"wrapped key of {len(wrapped)} bytes is not a multiple of {AES_BLOCK}")
    try:
        return unpad80(cbc_decrypt(dek, bytes(AES_BLOCK), wrapped))
    except KitError as exc:
        raise SeAnswerError(f"wrapped key does not unwrap: {exc}") from None


@dataclass(frozen=True)
class KeyPackage:
    se_id: bytes
    wrapped_key: bytes


def parse_key_package(data: bytes) -> KeyPackage:
    try:
        (outer,) = decode(data)
        if outer.tag != TAG_KEY_PACKAGE:
            raise KeyError(outer.tag)
        items = {t.tag: t.value for t in decode(outer.value)}
        return KeyPackage(items[TAG_PACKAGE_SE_ID], items[TAG_WRAPPED_KEY])
    except (TlvError, KeyError, ValueError) as exc:
        raise SeAnswerError(f"key package does not parse ({exc})") from None


def unblock_pin(pin_sfi_p2: int, temp_pin: Secret | bytes, new_pin: Secret | bytes) -> CommandApdu:
    """The app's RESET RETRY COUNTER (ISO class, outside SCP03): temporary PIN ‖ new PIN (seed 004 p.17)."""
    data = reveal_bytes(temp_pin) + reveal_bytes(new_pin)
    return CommandApdu(0x00, INS_RESET_RETRY_COUNTER, 0, pin_sfi_p2, data)


@dataclass(frozen=True)
class GeneratedKey:
    public_key: rsa.RSAPublicKey
    r: bytes


def parse_generated_key(data: bytes) -> GeneratedKey:
    """7F49 {81 n, 82 e} ‖ C0 R (the GENERATE KEY answer); SeAnswerError when it is anything else."""
    try:
        items = {t.tag: t.value for t in decode(data)}
        template = {t.tag: t.value for t in decode(items[TAG_PUBLIC_KEY])}
        n = int.from_bytes(template[TAG_MODULUS], "big")
        e = int.from_bytes(template[TAG_EXPONENT], "big")
        r = items[TAG_R]
        public = rsa.RSAPublicNumbers(e, n).public_key()
    except (TlvError, KeyError, ValueError) as exc:
        raise SeAnswerError(f"GENERATE KEY answer does not parse ({exc}): {data[:32].hex()}…") from None
    return GeneratedKey(public, r)
