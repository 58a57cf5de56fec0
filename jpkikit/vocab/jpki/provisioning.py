"""Host side of the provisioning command set (docs/provisioning-commands.md): the C-APDUs a TSM sends to
the smartphone JPKI applet, in plain form (an SCP03 layer wraps them), and parsers for their answers.

Used by the reference TSM (jpkikit.reference.tsm.flows) and by the conformance tests of an SE or a TSM.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.errors import KitError, TlvError
from jpkikit.reference.emulator.jpki_phone import (
    ALL_SLOTS,
    CA_BIT,
    INS_BLOCK_PIN,
    INS_COMMIT,
    INS_DELETE_KEYS,
    INS_GENERATE_KEY,
    INS_GET_SE_ID,
    INS_PUT_CERTIFICATE,
    INS_RESET_RETRY_COUNTER,
    INS_SET_TEMP_PIN,
    MORE_BLOCKS,
    TAG_EXPONENT,
    TAG_MODULUS,
    TAG_PUBLIC_KEY,
    TAG_R,
    commitment,
)
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import decode

CLA = 0x80
SLOT_AUTH, SLOT_SIGN = 0x01, 0x02
SLOT_NAMES = {"auth": SLOT_AUTH, "sign": SLOT_SIGN}
#: Certificate bytes per PUT CERTIFICATE block: fits a short APDU after SCP03 padding and the C-MAC.
BLOCK = 200

__all__ = ["commitment"]


class SeAnswerError(KitError):
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


def unblock_pin(pin_sfi_p2: int, temp_pin: bytes, new_pin: bytes) -> CommandApdu:
    """The app's RESET RETRY COUNTER (ISO class, outside SCP03): temporary PIN ‖ new PIN (flow 4.2)."""
    return CommandApdu(0x00, INS_RESET_RETRY_COUNTER, 0, pin_sfi_p2, temp_pin + new_pin)


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
