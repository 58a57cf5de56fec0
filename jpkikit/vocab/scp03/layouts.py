"""Binary layouts of SCP03 data (GlobalPlatform Card Specification v2.3.1 Amendment D v1.1.1), in
``construct``, used by the host side and the card side alike:

* :data:`INITIALIZE_UPDATE_RESPONSE` — Amendment D §7.1.1, Table 7-2;
* :data:`AES_KEY_COMPONENT`, :data:`PUT_KEY_DATA`, :data:`PUT_KEY_RESPONSE` — GPCS v2.3.1 §11.8.2.3,
  Table 11-71 and §11.8.3; Amendment D Table 7-10.
"""

from __future__ import annotations

from typing import Any

from construct import (
    Array,
    Bytes,
    ConstructError,
    IfThenElse,
    Int8ub,
    Int24ub,
    Rebuild,
    Struct,
    Terminated,
    this,
)

from jpkikit.vocab.binary import Absent, Checked, UntilEnd, build, explain, fields
from jpkikit.vocab.scp03.errors import Scp03AnswerError, Scp03Error
from jpkikit.vocab.scp03.levels import I_PSEUDO_RANDOM, I_S16, mode_from_i

# -- INITIALIZE UPDATE response (Amd D §7.1.1, Table 7-2) ----------------------------------------------------

SCP03 = 0x03
DIVERSIFICATION_LENGTH = 10
KEY_INFORMATION_LENGTH = 3  # KVN || SCP identifier (03) || i
COUNTER_LENGTH = 3


def challenge_length(i: int) -> int:
    """Card challenge and card cryptogram: 8 bytes in S8 mode, 16 in S16 (i b1; Amd D §4.1.3,
    docs/spec/globalplatform.md#the-i-parameter)."""
    return 16 if i & I_S16 else 8


def initialize_update_response_length(i: int) -> int:
    """The length Table 7-2 gives for an ``i``: 29 or 32 bytes (S8), 45 or 48 (S16)."""
    counter = COUNTER_LENGTH if i & I_PSEUDO_RANDOM else 0
    return DIVERSIFICATION_LENGTH + KEY_INFORMATION_LENGTH + 2 * challenge_length(i) + counter


_IU_KEY_INFORMATION = (
    "diversification" / Bytes(DIVERSIFICATION_LENGTH),  # key diversification data
    "kvn" / Int8ub,  # key information: key version number,
    "scp" / Checked(Int8ub, lambda v: v == SCP03, lambda v: f"names SCP {v:02X}, not SCP03"),  # SCP id,
    "i" / Int8ub,  # and the i parameter (Table 5-1)
)
#: The fixed start of the response: diversification data and key information (13 bytes).
INITIALIZE_UPDATE_HEADER = Struct(*_IU_KEY_INFORMATION)
#: The whole response: challenge and cryptogram of ``challenge_length(i)`` bytes, then the 3-byte sequence
#: counter only when i b5 (pseudo-random card challenge, §6.2.2.1) is set.
INITIALIZE_UPDATE_RESPONSE = Struct(
    *_IU_KEY_INFORMATION,
    "card_challenge" / Bytes(lambda c: challenge_length(c.i)),
    "card_cryptogram" / Bytes(lambda c: challenge_length(c.i)),
    "sequence_counter"
    / IfThenElse(
        lambda c: bool(c.i & I_PSEUDO_RANDOM),
        Int24ub,
        Absent("the i parameter has no pseudo-random card challenge (b5)"),
    ),
    Terminated,
)
INITIALIZE_UPDATE_FIELDS = (
    "diversification",
    "kvn",
    "scp",
    "i",
    "card_challenge",
    "card_cryptogram",
    "sequence_counter",
)


def parse_initialize_update_response(data: bytes) -> dict[str, Any]:
    """Table 7-2 fields of an INITIALIZE UPDATE response; otherwise Scp03AnswerError (a malformed answer
    of the card), naming what is wrong."""
    data = bytes(data)
    what = "INITIALIZE UPDATE response"
    try:
        return fields(INITIALIZE_UPDATE_RESPONSE.parse(data), INITIALIZE_UPDATE_FIELDS)
    except ConstructError as exc:
        name, reason = explain(exc)
    if name == "scp" and not reason.startswith("cut short"):
        raise Scp03AnswerError(f"{what} {reason}")
    if name in ("diversification", "kvn", "scp", "i"):
        raise Scp03AnswerError(
            f"{what} is {len(data)} bytes; too short to hold diversification data and key information"
        )
    i = INITIALIZE_UPDATE_HEADER.parse(data).i
    counter = "with" if i & I_PSEUDO_RANDOM else "without"
    last = "sequence counter" if i & I_PSEUDO_RANDOM else "card cryptogram"
    where = f"{name.replace('_', ' ')} {reason}" if name else reason.replace("the last field", f"the {last}")
    raise Scp03AnswerError(
        f"{what} is {len(data)} bytes; i={i:02X} ({mode_from_i(i).name}, {counter} sequence counter) needs "
        f"{initialize_update_response_length(i)} ({where})"
    )


def build_initialize_update_response(values: dict[str, Any]) -> bytes:
    return build(INITIALIZE_UPDATE_RESPONSE, values, "INITIALIZE UPDATE response", Scp03Error)


# -- PUT KEY (GPCS §11.8.2.3, Table 11-71; Amd D §7.2, Table 7-10) -------------------------------------------

KEY_TYPE_AES = 0x88
KCV_LENGTH = 3
AES_BLOCK = 16


def _long_form(c: Any) -> bool:
    return c.length % AES_BLOCK != 0


#: One AES key component. Long form (Amd D Table 7-10): ``88 L keylen E(DEK, key) 03 KCV`` with
#: L = 1 + ciphertext length; short form (GPCS Table 11-71): ``88 L E(DEK, key) 03 KCV`` with L = ciphertext
#: length. The ciphertext is whole AES blocks, so L tells them apart: a multiple of 16 is the short form.
AES_KEY_COMPONENT = Struct(
    "key_type"
    / Checked(
        Int8ub,
        lambda v: v == KEY_TYPE_AES,
        lambda v: f"key type {v:02X} is not supported, only AES (88)",
        fixed=KEY_TYPE_AES,
    ),
    "length" / Rebuild(Int8ub, lambda c: len(c.ciphertext) + (c.key_length is not None)),
    "key_length" / IfThenElse(_long_form, Int8ub, Absent("the short form has no key-length byte")),
    "ciphertext" / Bytes(lambda c: c.length - (c.key_length is not None)),
    "kcv_length"
    / Checked(
        Int8ub,
        lambda v: v == KCV_LENGTH,
        lambda v: f"KCV length {v:02X}; an AES key needs a 3-byte KCV",
        fixed=KCV_LENGTH,
    ),
    "kcv" / Bytes(KCV_LENGTH),
)
KEY_COMPONENT_FIELDS = ("key_type", "length", "key_length", "ciphertext", "kcv_length", "kcv")
#: PUT KEY command data: the new key version number, then the key components (KIDs in P2 order).
PUT_KEY_DATA = Struct("kvn" / Int8ub, "components" / UntilEnd(AES_KEY_COMPONENT))
#: PUT KEY response data (GPCS §11.8.3): the key version number and one KCV per key, no length bytes; the
#: number of keys is the context parameter ``count`` (``PUT_KEY_RESPONSE.sizeof(count=3)`` is 10).
PUT_KEY_RESPONSE = Struct("kvn" / Int8ub, "kcvs" / Array(this._params.count, Bytes(KCV_LENGTH)))
