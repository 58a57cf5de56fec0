"""PKCS#1 v1.5 signatures as the JPKI card makes them (docs/spec/jpki-applet.md, "Commands" and "Signing";
RFC 8017 §8.2, §9.2).

The card's ``80 2A 00 80`` pads the bytes it is given with EMSA-PKCS1-v1_5 type 01 and applies the raw
RSA private-key operation; the host supplies the DER DigestInfo. This module builds DigestInfos, encodes
and checks the padding independently of any crypto library (the kit's own verifier, used by the
conformance tests so that a wrong padding is named precisely), and signs with ``cryptography`` for the
emulator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

# DER prefixes of DigestInfo (RFC 8017 §9.2 note 1): SEQUENCE { AlgorithmIdentifier { oid, NULL },
# OCTET STRING digest }. Only the digest follows the prefix.
DIGEST_INFO_PREFIX: dict[str, bytes] = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}

DIGEST_SIZE = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}

#: RFC 8017 §9.2 step 3: the padding string is at least 8 bytes, so the data is at most k - 11 bytes.
MIN_PADDING = 8
OVERHEAD = MIN_PADDING + 3


def digest_info(hash_name: str, digest: bytes) -> bytes:
    """DER DigestInfo for an already computed ``digest`` of ``hash_name`` (sha1, sha224, ... sha512)."""
    name = hash_name.lower().replace("-", "")
    if name not in DIGEST_INFO_PREFIX:
        raise ValueError(f"unknown hash {hash_name!r}; known: {', '.join(DIGEST_INFO_PREFIX)}")
    if len(digest) != DIGEST_SIZE[name]:
        raise ValueError(f"a {name} digest is {DIGEST_SIZE[name]} bytes, got {len(digest)}")
    return DIGEST_INFO_PREFIX[name] + bytes(digest)


def digest_info_of(hash_name: str, message: bytes) -> bytes:
    """DigestInfo of ``message`` hashed with ``hash_name``: what a host sends to ``80 2A 00 80``."""
    name = hash_name.lower().replace("-", "")
    return digest_info(name, hashlib.new(name, message).digest())


def max_data_length(k: int) -> int:
    """Longest data ``80 2A 00 80`` accepts for a k-byte modulus (jpki-applet.md, "Signing": 1..k-11, 245 for
    2048)."""
    return k - OVERHEAD


def encode_type1(data: bytes, k: int) -> bytes:
    """EM = 00 01 FF..FF 00 || data, k bytes long (RFC 8017 §9.2 steps 3-5)."""
    if not 1 <= len(data) <= max_data_length(k):
        raise ValueError(
            f"data of {len(data)} bytes does not fit a {k}-byte modulus (1..{max_data_length(k)})"
        )
    return b"\x00\x01" + b"\xff" * (k - len(data) - 3) + b"\x00" + bytes(data)


@dataclass(frozen=True)
class Recovered:
    """What the public-key operation on a signature gives back, and whether it is well-formed type-1."""

    em: bytes
    data: bytes | None  # the bytes after the padding, None when the padding is malformed
    problem: str = ""


def recover(n: int, e: int, signature: bytes) -> Recovered:
    """Apply the public key to ``signature`` and parse EM strictly (RFC 8017 §8.2.2 with §9.2).

    Strict: 00 01, at least 8 FF bytes and nothing else, 00, then the data. Any deviation is named.
    """
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return Recovered(b"", None, f"signature is {len(signature)} bytes; the modulus is {k}")
    s = int.from_bytes(signature, "big")
    if s >= n:
        return Recovered(b"", None, "signature representative is not below the modulus")
    em = pow(s, e, n).to_bytes(k, "big")
    if em[:2] != b"\x00\x01":
        return Recovered(em, None, f"EM starts {em[:2].hex()}, not 0001 (block type 1)")
    end = em.find(b"\x00", 2)
    if end < 0:
        return Recovered(em, None, "no 00 separator after the padding")
    pad = em[2:end]
    if pad.strip(b"\xff"):
        return Recovered(em, None, "padding string holds bytes other than FF")
    if len(pad) < MIN_PADDING:
        return Recovered(em, None, f"padding string is {len(pad)} bytes; at least {MIN_PADDING} are required")
    return Recovered(em, em[end + 1 :])


def verify_data(public_key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> str:
    """'' when ``signature`` is the type-1 signature of exactly ``data``; otherwise what is wrong."""
    nums = public_key.public_numbers()
    rec = recover(nums.n, nums.e, signature)
    if rec.data is None:
        return rec.problem
    if rec.data != data:
        return f"signed data is {rec.data.hex()}, expected {bytes(data).hex()}"
    return ""


def sign_data(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """Type-1 padding over ``data`` as given, then RSA (the card's 80 2A P1=00), with ``cryptography``.

    ``NoDigestInfo`` exists from cryptography 47 on; with an older release the same signature is computed
    from the key's private numbers (RSADP with CRT, RFC 8017 §5.1.2) over :func:`encode_type1`.
    """
    no_digest_info = getattr(utils, "NoDigestInfo", None)
    if no_digest_info is not None:
        return private_key.sign(bytes(data), padding.PKCS1v15(), no_digest_info())
    nums = private_key.private_numbers()
    k = (nums.public_numbers.n.bit_length() + 7) // 8
    m = int.from_bytes(encode_type1(bytes(data), k), "big")
    s1, s2 = pow(m, nums.dmp1, nums.p), pow(m, nums.dmq1, nums.q)
    s = s2 + nums.q * ((nums.iqmp * (s1 - s2)) % nums.p)
    return s.to_bytes(k, "big")
