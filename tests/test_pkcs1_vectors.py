"""PKCS#1 v1.5: the kit's padding/verification against NIST CAVP SigGen15/SigVer15 (from the
``cryptography-vectors`` package), and the persona known answers in vectors/pkcs1/ (generator up to date,
schema, independent verifier, OpenSSL, and the emulator's own 80 2A output)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.jpki.pkcs1 import (
    digest_info,
    digest_info_of,
    encode_type1,
    max_data_length,
    recover,
    sign_data,
    verify_data,
)

from .tools_loader import load_tool

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors" / "pkcs1" / "persona-signatures.json"
SCHEMA = ROOT / "vectors" / "pkcs1" / "persona-signatures.schema.json"

cryptography_vectors = pytest.importorskip("cryptography_vectors", reason="pip install cryptography-vectors")
CAVP = Path(cryptography_vectors.__file__).parent / "asymmetric" / "RSA" / "FIPS_186-2"


def cavp(name: str) -> Iterator[dict[str, str]]:
    """Test cases of a CAVP .rsp/.txt file; section values (n, e, p, q, d) are carried into each case."""
    context: dict[str, str] = {}
    case: dict[str, str] = {}
    for line in (CAVP / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key in ("n", "p", "q") or (key in ("e", "d") and "Msg" not in case and "SHAAlg" not in case):
            context[key] = value
            continue
        case[key] = value
        if key in ("S", "Result") and ("Result" in case or name.startswith("SigGen")):
            yield {**context, **case}
            case = {}
    if case and "S" in case:
        yield {**context, **case}


def _int(h: str) -> int:
    return int(h, 16)


def test_siggen15_kit_encoding_and_recovery() -> None:
    count = 0
    for v in cavp("SigGen15_186-3.rsp"):
        n, e = _int(v["n"]), _int(v["e"])
        k = (n.bit_length() + 7) // 8
        di = digest_info_of(v["SHAAlg"], bytes.fromhex(v["Msg"]))
        sig = bytes.fromhex(v["S"])
        assert recover(n, e, sig).data == di, v["S"][:16]
        assert pow(int.from_bytes(sig, "big"), e, n) == int.from_bytes(encode_type1(di, k), "big")
        count += 1
    assert count >= 200


def test_siggen15_signing_path_reproduces_nist_signatures() -> None:
    count = 0
    keys: dict[str, rsa.RSAPrivateKey] = {}  # one key per [mod = ...] section; building one is slow
    for v in cavp("SigGen15_186-2.txt"):
        if v["n"] not in keys:
            n, e, d = _int(v["n"]), _int(v["e"]), _int(v["d"])
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
            keys[v["n"]] = rsa.RSAPrivateNumbers(
                p,
                q,
                d,
                rsa.rsa_crt_dmp1(d, p),
                rsa.rsa_crt_dmq1(d, q),
                rsa.rsa_crt_iqmp(p, q),
                rsa.RSAPublicNumbers(e, n),
            ).private_key()
        di = digest_info_of(v["SHAAlg"], bytes.fromhex(v["Msg"]))
        assert sign_data(keys[v["n"]], di).hex() == v["S"].lower()
        count += 1
    assert count >= 50 and len(keys) >= 5


def test_sigver15_kit_verdicts_match_nist() -> None:
    results = {"P": 0, "F": 0}
    for v in cavp("SigVer15_186-3.rsp"):
        n, e = _int(v["n"]), _int(v["e"])
        public = rsa.RSAPublicNumbers(e, n).public_key()
        di = digest_info_of(v["SHAAlg"], bytes.fromhex(v["Msg"]))
        sig = bytes.fromhex(v["S"])
        expected = v["Result"].startswith("P")
        assert (verify_data(public, di, sig) == "") is expected, v["Result"]
        algorithm = getattr(hashes, v["SHAAlg"].upper())()
        try:  # cross-check with pyca/cryptography's own verifier
            public.verify(sig, bytes.fromhex(v["Msg"]), padding.PKCS1v15(), algorithm)
            theirs = True
        except InvalidSignature:
            theirs = False
        assert theirs is expected
        results["P" if expected else "F"] += 1
    assert results["P"] >= 70 and results["F"] >= 350


def test_recover_names_padding_faults() -> None:
    key = rsa.generate_private_key(65537, 1024)
    nums = key.private_numbers()
    n, d = nums.public_numbers.n, nums.d
    k = 128

    def raw_sign(em: bytes) -> bytes:
        return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")

    data = digest_info("sha256", b"\x11" * 32)
    assert recover(n, 65537, raw_sign(encode_type1(data, k))).data == data
    cases = {
        "block type 1": b"\x00\x02" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data,
        "other than FF": b"\x00\x01"
        + b"\xff" * 10
        + b"\xee"
        + b"\xff" * (k - 14 - len(data))
        + b"\x00"
        + data,
        "at least 8": b"\x00\x01" + b"\xff" * 7 + b"\x00" + b"\x22" * (k - 10),
        "no 00 separator": b"\x00\x01" + b"\xff" * (k - 2),
    }
    for words, em in cases.items():
        assert words in recover(n, 65537, raw_sign(em)).problem, words
    assert "bytes" in recover(n, 65537, b"\x01").problem
    assert "below the modulus" in recover(n, 65537, b"\xff" * k).problem
    assert max_data_length(256) == 245
    with pytest.raises(ValueError):
        encode_type1(b"\x00" * 246, 256)
    with pytest.raises(ValueError):
        digest_info("md5", b"")


# -- the persona known answers ------------------------------------------------------------------------


def _doc() -> dict:  # type: ignore[type-arg]
    return json.loads(VECTORS.read_text(encoding="utf-8"))


def test_persona_vectors_up_to_date_and_schema_valid() -> None:
    gen = load_tool("gen_pkcs1_vectors")
    assert gen.render(gen.generate()) == VECTORS.read_text(encoding="utf-8")
    doc = _doc()
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    ids = [v["id"] for v in doc["vectors"]]
    assert len(ids) == len(set(ids)) == 2 * (5 * 4 + 2)


def test_independent_verifier_accepts_and_catches_corruption() -> None:
    verifier = load_tool("verify_pkcs1_vectors")
    assert verifier.verify(_doc()) == []
    for field in ("signature", "data", "message"):
        bad = copy.deepcopy(_doc())
        v = bad["vectors"][5]
        v[field] = ("00" if v[field][:2] != "00" else "11") + v[field][2:]
        assert verifier.verify(bad), field


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_recovers_every_persona_signature(tmp_path: Path) -> None:
    doc = _doc()
    for label, info in doc["keys"].items():
        cert = ROOT / info["certificate"]
        pub = tmp_path / f"{label}.pub.pem"
        subprocess.run(
            ["openssl", "x509", "-inform", "DER", "-in", str(cert), "-pubkey", "-noout", "-out", str(pub)],
            check=True,
        )
    for v in doc["vectors"]:
        sig = tmp_path / "sig.bin"
        sig.write_bytes(bytes.fromhex(v["signature"]))
        out = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verifyrecover",
                "-pubin",
                "-inkey",
                str(tmp_path / f"{v['key']}.pub.pem"),
                "-pkeyopt",
                "rsa_padding_mode:pkcs1",
                "-in",
                str(sig),
            ],
            check=True,
            capture_output=True,
        ).stdout
        assert out.hex() == v["data"], v["id"]


def test_emulator_signs_the_known_answers() -> None:
    card = Card(get_personality("gp-se"))
    card.power_on()
    pins = {"auth": ("0018", "0017", b"1234"), "sign": ("001B", "001A", b"ABC123")}

    def tx(raw: bytes) -> bytes:
        return card.process(raw)

    assert tx(bytes.fromhex("00A4040C0A") + JPKI_AID) == b"\x90\x00"
    for v in _doc()["vectors"]:
        pin_ef, key_ef, pin = pins[v["key"]]
        assert tx(bytes.fromhex(f"00A4020C02{pin_ef}")) == b"\x90\x00"
        assert tx(bytes.fromhex("0020008000")[:4] + bytes((len(pin),)) + pin) == b"\x90\x00"
        assert tx(bytes.fromhex(f"00A4020C02{key_ef}")) == b"\x90\x00"
        data = bytes.fromhex(v["data"])
        assert (
            tx(bytes.fromhex("802A0080") + bytes((len(data),)) + data + b"\x00").hex()
            == v["signature"] + "9000"
        )


def test_fallback_without_no_digest_info_gives_the_same_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.asymmetric import utils

    from jpkikit.reference.persona import load_persona

    persona = load_persona()
    vectors = _doc()["vectors"][::7]
    monkeypatch.delattr(utils, "NoDigestInfo", raising=False)
    for v in vectors:
        signature = sign_data(persona.private_key(v["key"]), bytes.fromhex(v["data"]))
        assert signature.hex() == v["signature"], v["id"]
