"""NIST CAVP known answers for the SCP03 primitives, from the ``cryptography-vectors`` package:
SP 800-108 KBKDF counter mode with CMAC-AES (CAVS 14.4, KDF/nist-800-108-KBKDF-CTR.txt; every CTRLOCATION and
RLEN, since kbkdf_counter_cmac covers all three counter positions) and SP 800-38B AES-CMAC
(CMAC/nist-800-38b-aes{128,192,256}.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.vocab.scp03.crypto import cmac
from jpkikit.vocab.scp03.kdf import kbkdf_counter_cmac

cryptography_vectors = pytest.importorskip("cryptography_vectors", reason="pip install cryptography-vectors")
ROOT = Path(cryptography_vectors.__file__).parent


def _kbkdf_cases() -> list[tuple[str, dict[str, str]]]:
    cases: list[tuple[str, dict[str, str]]] = []
    section: dict[str, str] = {}
    current: dict[str, str] | None = None
    for raw in (ROOT / "KDF" / "nist-800-108-KBKDF-CTR.txt").read_text().splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            name, _, value = line[1:-1].partition("=")
            section[name] = value
            continue
        if "=" not in line or line.startswith("#") or raw.startswith("\t"):
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "COUNT":
            current = dict(section, COUNT=value)
            if section.get("PRF", "").startswith("CMAC_AES"):
                cases.append(
                    (f"{section['PRF']}-{section['CTRLOCATION']}-{section['RLEN']}-{value}", current)
                )
        elif current is not None:
            current[key] = value
    return cases


KBKDF = _kbkdf_cases()


def test_kbkdf_vector_count() -> None:
    # 3 AES key sizes x 3 counter locations x 4 RLENs x 40 vectors; MIDDLE_FIXED is the SCP03 shape
    assert len(KBKDF) == 3 * 3 * 4 * 40
    assert sum(1 for _, c in KBKDF if c["CTRLOCATION"] == "MIDDLE_FIXED" and c["RLEN"] == "8_BITS") == 120


@pytest.mark.parametrize("case", [c for _, c in KBKDF], ids=[i for i, _ in KBKDF])
def test_kbkdf_counter_cmac(case: dict[str, str]) -> None:
    rlen = int(case["RLEN"].split("_")[0]) // 8
    location = case["CTRLOCATION"]
    if location == "MIDDLE_FIXED":
        before, after = bytes.fromhex(case["DataBeforeCtrData"]), bytes.fromhex(case["DataAfterCtrData"])
    elif location == "BEFORE_FIXED":
        before, after = b"", bytes.fromhex(case["FixedInputData"])
    else:
        before, after = bytes.fromhex(case["FixedInputData"]), b""
    out = kbkdf_counter_cmac(bytes.fromhex(case["KI"]), int(case["L"]), before, after, rlen)
    assert out.hex() == case["KO"]


def _cmac_cases() -> list[tuple[str, bytes, bytes, bytes]]:
    out = []
    for bits in (128, 192, 256):
        block: dict[str, str] = {}
        for line in [*(ROOT / "CMAC" / f"nist-800-38b-aes{bits}.txt").read_text().splitlines(), ""]:
            if "=" in line and not line.startswith("#"):
                k, _, v = (p.strip() for p in line.partition("="))
                block[k] = v
            elif block:
                out.append(
                    (
                        f"aes{bits}-{block['COUNT']}",
                        bytes.fromhex(block["KEY"]),
                        bytes.fromhex(block["MESSAGE"]),
                        bytes.fromhex(block["OUTPUT"]),
                    )
                )
                block = {}
    return out


CMAC_CASES = _cmac_cases()


def test_cmac_vector_count() -> None:
    assert len(CMAC_CASES) == 12


@pytest.mark.parametrize(
    ("key", "message", "expected"), [c[1:] for c in CMAC_CASES], ids=[c[0] for c in CMAC_CASES]
)
def test_cmac(key: bytes, message: bytes, expected: bytes) -> None:
    assert cmac(key, message) == expected
