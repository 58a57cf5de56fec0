"""The P1 values of COMPUTE DIGITAL SIGNATURE (80 2A P1 P2) as far as a public source defines them
(docs/spec/jpki-applet.md#commands, the signature scheme table; single source: myna-card, which tried every
P1 value on a card). P1 00 is the scheme every client uses (jpkikit.vocab.jpki.pkcs1); 01 to 05 make the
card hash with SHA-256 and/or sign with RSASSA-PSS. Any other P1 is refused with 6A86.

This module says what each scheme signs and checks an RSASSA-PSS signature independently of any crypto
library (RFC 8017 §8.1.2, §9.1.2), naming what is wrong, as :mod:`jpkikit.vocab.jpki.pkcs1` does for type 1.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.vocab.jpki.pkcs1 import digest_info, verify_data


class SignatureScheme(IntEnum):
    """P1 of 80 2A (docs/spec/jpki-applet.md#commands)."""

    VERBATIM = 0x00  # PKCS#1 v1.5 type 1 over the data as given (a DigestInfo)
    SHA256_BARE = 0x01  # the card hashes; type 1 over the bare 32-byte hash
    PREHASHED_DIGEST_INFO = 0x02  # the data is a SHA-256 hash; type 1 over its DigestInfo
    SHA256_DIGEST_INFO = 0x03  # the card hashes; type 1 over the DigestInfo
    PREHASHED_PSS = 0x04  # the data is a SHA-256 hash; RSASSA-PSS
    SHA256_PSS = 0x05  # the card hashes; RSASSA-PSS


#: The schemes a profile may claim besides P1 00 (ics.jpki.signature_schemes).
OPTIONAL_SCHEMES = tuple(s for s in SignatureScheme if s is not SignatureScheme.VERBATIM)
#: Schemes whose data field is a 32-byte SHA-256 hash, exactly.
PREHASHED = frozenset({SignatureScheme.PREHASHED_DIGEST_INFO, SignatureScheme.PREHASHED_PSS})
#: Schemes in which the card hashes the message itself (its length is limited only by the data field).
HASHING = frozenset(
    {SignatureScheme.SHA256_BARE, SignatureScheme.SHA256_DIGEST_INFO, SignatureScheme.SHA256_PSS}
)
PSS = frozenset({SignatureScheme.PREHASHED_PSS, SignatureScheme.SHA256_PSS})
HASH_LENGTH = 32  # SHA-256
#: The salt length the source's verifier expects (the hash length, RFC 8017 §9.1 note 4's usual choice).
PSS_SALT_LENGTH = HASH_LENGTH


def message_hash(scheme: SignatureScheme, data: bytes) -> bytes:
    """The SHA-256 hash a scheme other than P1 00 signs: the data itself (02, 04) or its hash (01, 03, 05)."""
    return bytes(data) if scheme in PREHASHED else hashlib.sha256(bytes(data)).digest()


def type1_payload(scheme: SignatureScheme, data: bytes) -> bytes:
    """What the PKCS#1 v1.5 type-1 block of scheme 00, 01, 02 or 03 carries after its padding."""
    if scheme is SignatureScheme.VERBATIM:
        return bytes(data)
    if scheme is SignatureScheme.SHA256_BARE:
        return message_hash(scheme, data)
    if scheme in (SignatureScheme.PREHASHED_DIGEST_INFO, SignatureScheme.SHA256_DIGEST_INFO):
        return digest_info("sha256", message_hash(scheme, data))
    raise ValueError(f"P1 {scheme:02X} is an RSASSA-PSS scheme, not PKCS#1 v1.5")


def data_length_ok(scheme: SignatureScheme, length: int, max_command_data: int = 255) -> bool:
    """Whether a data field of ``length`` bytes is one the scheme takes (the table's data field column)."""
    if scheme in PREHASHED:
        return length == HASH_LENGTH
    if scheme is SignatureScheme.VERBATIM:
        return 1 <= length <= 245
    return 1 <= length <= max_command_data


def _mgf1_sha256(seed: bytes, length: int) -> bytes:
    """MGF1 with SHA-256 (RFC 8017 §B.2.1)."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def pss_salt(public_key: rsa.RSAPublicKey, m_hash: bytes, signature: bytes) -> tuple[bytes | None, str]:
    """EMSA-PSS-VERIFY with SHA-256 and MGF1-SHA-256 (RFC 8017 §8.1.2, §9.1.2) of ``signature`` over the
    message hash ``m_hash``, any salt length: (the salt, '') when it verifies, (None, what is wrong) when
    not."""
    nums = public_key.public_numbers()
    n, e = nums.n, nums.e
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return None, f"signature is {len(signature)} bytes; the modulus is {k}"
    s = int.from_bytes(signature, "big")
    if s >= n:
        return None, "signature representative is not below the modulus"
    em_bits = n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    full = pow(s, e, n).to_bytes(k, "big")
    if k > em_len and full[0]:
        return None, "the representative does not fit emBits (wrong key or padding)"
    em = full[k - em_len :]
    if em[-1] != 0xBC:
        return None, f"EM does not end in BC (RSASSA-PSS); it starts {em[:2].hex()} (PKCS#1 v1.5 starts 0001)"
    masked_db, h = em[: em_len - HASH_LENGTH - 1], em[em_len - HASH_LENGTH - 1 : -1]
    top = 8 * em_len - em_bits  # leftmost bits of EM outside emBits (RFC 8017 §9.1.2 step 6)
    mask = (0xFF << (8 - top)) & 0xFF if top else 0
    if masked_db[0] & mask:
        return None, "the leftmost bits of the masked DB are not zero"
    db = bytearray(a ^ b for a, b in zip(masked_db, _mgf1_sha256(h, len(masked_db)), strict=True))
    db[0] &= ~mask & 0xFF
    separator = db.find(b"\x01")
    if separator < 0 or bytes(db[:separator]).strip(b"\x00"):
        return None, "DB is not PS || 01 || salt (wrong MGF, hash or key)"
    salt = bytes(db[separator + 1 :])
    if hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest() != h:
        return None, "H does not match the hash of the message hash and the salt (another message was signed)"
    return salt, ""


def verify_scheme(
    scheme: SignatureScheme, public_key: rsa.RSAPublicKey, data: bytes, signature: bytes
) -> str:
    """'' when ``signature`` is what ``scheme`` makes of ``data`` (the table in docs/spec/jpki-applet.md):
    type 1 over the right payload, or RSASSA-PSS over the right hash with a salt of PSS_SALT_LENGTH bytes;
    otherwise what is wrong."""
    if scheme not in PSS:
        return verify_data(public_key, type1_payload(scheme, data), signature)
    salt, problem = pss_salt(public_key, message_hash(scheme, data), signature)
    if salt is None:
        return problem
    if len(salt) != PSS_SALT_LENGTH:
        return f"RSASSA-PSS salt is {len(salt)} bytes; the scheme uses {PSS_SALT_LENGTH} (the hash length)"
    return ""
