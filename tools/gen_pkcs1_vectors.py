#!/usr/bin/env python3
"""Generate the PKCS#1 v1.5 known-answer signatures of the test persona in vectors/pkcs1/.

For both persona keys (auth, sign) it signs DigestInfos of fixed messages for SHA-1/224/256/384/512, and
raw data of the extreme lengths the card accepts (1 and k-11 = 245 bytes), exactly as the card's
``80 2A 00 80`` does: type-01 padding over the bytes given, then RSA (docs/spec/jpki-applet.md, "Commands" and
"Signing"; RFC 8017 §9.2).
Signing uses the kit's path (jpkikit.vocab.jpki.pkcs1.sign_data, i.e. ``cryptography``); PKCS#1 v1.5
signatures are
deterministic, so re-running gives identical bytes. tools/verify_pkcs1_vectors.py checks the file with an
independent implementation (asn1crypto + integer arithmetic, no jpkikit, no cryptography).

Usage: python tools/gen_pkcs1_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jpkikit.reference.persona import load_persona, read_file  # noqa: E402
from jpkikit.vocab.jpki.pkcs1 import digest_info_of, max_data_length, sign_data  # noqa: E402

FORMAT = "jpkikit-vectors/pkcs1/1"
OUT = ROOT / "vectors" / "pkcs1" / "persona-signatures.json"
HASHES = ("sha1", "sha224", "sha256", "sha384", "sha512")
MESSAGES = {
    "EMPTY": b"",
    "ABC": b"abc",
    "JA": "公的個人認証サービス 署名テスト".encode(),
    "1K": bytes(range(256)) * 4,
}


def generate() -> dict[str, Any]:
    persona = load_persona()
    keys: dict[str, Any] = {}
    vectors: list[dict[str, Any]] = []
    for label in ("auth", "sign"):
        key = persona.private_key(label)
        numbers = key.public_key().public_numbers()
        k = key.key_size // 8
        keys[label] = {
            "certificate": f"jpkikit/reference/persona/{label}.der",
            "certificate_sha256": hashlib.sha256(read_file(f"{label}.der")).hexdigest(),
            "modulus": f"{numbers.n:0{2 * k}x}",
            "public_exponent": numbers.e,
        }
        for hash_name in HASHES:
            for msg_id, message in MESSAGES.items():
                data = digest_info_of(hash_name, message)
                vectors.append(
                    {
                        "id": f"PKCS1-{label.upper()}-{hash_name.upper()}-{msg_id}",
                        "key": label,
                        "hash": hash_name,
                        "message": message.hex(),
                        "data": data.hex(),
                        "signature": sign_data(key, data).hex(),
                    }
                )
        for length in (1, max_data_length(k)):
            data = bytes((i * 7 + 3) & 0xFF for i in range(length))
            vectors.append(
                {
                    "id": f"PKCS1-{label.upper()}-RAW-{length}",
                    "key": label,
                    "hash": None,
                    "message": None,
                    "data": data.hex(),
                    "signature": sign_data(key, data).hex(),
                }
            )
    return {
        "format": FORMAT,
        "description": (
            "PKCS#1 v1.5 (type 01) signatures by the jpkikit test persona keys over the data sent to "
            "COMPUTE DIGITAL SIGNATURE 80 2A 00 80: DigestInfos, and raw data of 1 and k-11 bytes."
        ),
        "provenance": {
            "generator": "tools/gen_pkcs1_vectors.py, signing with jpkikit.vocab.jpki.pkcs1.sign_data "
            "(pyca/cryptography, RSA PKCS1v15 with "
            "NoDigestInfo)",
            "keys": "jpkikit/reference/persona/*-key.pem: deterministic TEST keys from "
            "tools/make_test_pki.py",
            "independent_check": "tools/verify_pkcs1_vectors.py (asn1crypto + Python integers: s^e mod n "
            "compared with an EMSA-PKCS1-v1_5 encoding built from scratch); tests/test_pkcs1_vectors.py also "
            "runs openssl pkeyutl -verifyrecover when openssl is installed",
            "specification": "RFC 8017 §8.2.1 and §9.2; docs/spec/jpki-applet.md, 'Commands' (80 2A P1=00) "
            "and 'Signing'",
        },
        "keys": keys,
        "vectors": vectors,
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from a regeneration", file=sys.stderr)
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
