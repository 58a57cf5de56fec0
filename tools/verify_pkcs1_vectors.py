#!/usr/bin/env python3
"""Check vectors/pkcs1/persona-signatures.json independently of the kit.

Reads n and e from the persona certificates with asn1crypto, recomputes s^e mod n with Python integers and
compares it with EMSA-PKCS1-v1_5 built here from scratch (RFC 8017 §9.2), and each DigestInfo with one
built from hashlib and the DER prefixes of RFC 8017 §9.2 note 1. Imports neither jpkikit nor cryptography.

Usage: python tools/verify_pkcs1_vectors.py [path]     (exit 1 and a list of problems if any)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from asn1crypto import x509

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "vectors" / "pkcs1" / "persona-signatures.json"

# AlgorithmIdentifier OIDs, DER-encoded (RFC 8017 §9.2 note 1 gives the full prefixes).
_OIDS = {
    "sha1": "2b0e03021a",
    "sha224": "608648016503040204",
    "sha256": "608648016503040201",
    "sha384": "608648016503040202",
    "sha512": "608648016503040203",
}


def _der(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes((tag, len(body))) + body


def digest_info(hash_name: str, message: bytes) -> bytes:
    oid = bytes.fromhex(_OIDS[hash_name])
    algorithm = _der(0x30, _der(0x06, oid) + b"\x05\x00")
    return _der(0x30, algorithm + _der(0x04, hashlib.new(hash_name, message).digest()))


def verify(doc: dict[str, Any], root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    keys = {}
    for label, info in doc["keys"].items():
        cert = x509.Certificate.load((root / info["certificate"]).read_bytes())
        pub = cert.public_key["public_key"].parsed
        n, e = pub["modulus"].native, pub["public_exponent"].native
        if f"{n:x}" != info["modulus"].lstrip("0") or e != info["public_exponent"]:
            problems.append(f"key {label}: modulus/exponent differ from {info['certificate']}")
        keys[label] = (n, e)
    for v in doc["vectors"]:
        n, e = keys[v["key"]]
        k = (n.bit_length() + 7) // 8
        data = bytes.fromhex(v["data"])
        if v["hash"] is not None and digest_info(v["hash"], bytes.fromhex(v["message"])) != data:
            problems.append(f"{v['id']}: data is not the {v['hash']} DigestInfo of the message")
        em = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
        sig = bytes.fromhex(v["signature"])
        if len(sig) != k or pow(int.from_bytes(sig, "big"), e, n) != int.from_bytes(em, "big"):
            problems.append(f"{v['id']}: signature does not recover to the type-01 encoding of data")
    return problems


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    problems = verify(json.loads(path.read_text(encoding="utf-8")))
    for p in problems:
        print(p)
    print(f"{path}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
