#!/usr/bin/env python3
"""Verify vectors/scp03/scp03-vectors.json with an implementation that shares no code with
jpkikit.vocab.scp03.

Written separately from the kit: AES-CMAC is built here from AES-ECB (SP 800-38B §6.1-6.2 subkeys, checked
against the SP 800-38B example at start-up), and the KDF (Amd D §4.1.5), cryptograms, pseudo-random card
challenge (§6.2.2.1), C-MAC/C-DECRYPTION (§6.2.4, §6.2.6) and R-MAC/R-ENC (§6.2.5, §6.2.7) are recomputed
from the plain values and compared with every field of every vector. Only ``cryptography``'s raw AES and the
standard library are used.

Usage: python tools/verify_scp03_vectors.py [vectors/scp03/scp03-vectors.json]; exit status 1 on mismatch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

DEFAULT = Path(__file__).resolve().parent.parent / "vectors" / "scp03" / "scp03-vectors.json"
ZERO = bytes(16)


def aes_ecb(key: bytes, data: bytes) -> bytes:
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def aes_cbc(key: bytes, iv: bytes, data: bytes, decrypt: bool = False) -> bytes:
    c = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(data) + op.finalize()


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def dbl(block: bytes) -> bytes:
    n = int.from_bytes(block, "big") << 1
    if n >> 128:
        n = (n & ((1 << 128) - 1)) ^ 0x87
    return n.to_bytes(16, "big")


def aes_cmac(key: bytes, message: bytes) -> bytes:
    """SP 800-38B: K1 = dbl(AES(K, 0)), K2 = dbl(K1); last block XOR K1 (complete) or padded XOR K2."""
    k1 = dbl(aes_ecb(key, ZERO))
    k2 = dbl(k1)
    if message and len(message) % 16 == 0:
        blocks = [message[i : i + 16] for i in range(0, len(message), 16)]
        blocks[-1] = xor(blocks[-1], k1)
    else:
        padded = message + b"\x80" + b"\x00" * (15 - len(message) % 16)
        blocks = [padded[i : i + 16] for i in range(0, len(padded), 16)]
        blocks[-1] = xor(blocks[-1], k2)
    state = ZERO
    for block in blocks:
        state = aes_ecb(key, xor(state, block))
    return state


def self_test() -> None:
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")  # SP 800-38B Appendix D.1, examples 1-2
    assert aes_cmac(key, b"").hex() == "bb1d6929e95937287fa37d129b756746"
    assert (
        aes_cmac(key, bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")).hex()
        == "070a16b46b4d4144f79bdd9dd04a287c"
    )


def kdf(key: bytes, constant: int, context: bytes, bits: int) -> bytes:
    out = b""
    counter = 1
    while len(out) * 8 < bits:
        label = bytes(11) + bytes([constant]) + b"\x00" + bits.to_bytes(2, "big") + bytes([counter])
        out += aes_cmac(key, label + context)
        counter += 1
    return out[: bits // 8]


def pad(data: bytes) -> bytes:
    data += b"\x80"
    while len(data) % 16:
        data += b"\x00"
    return data


def unpad(data: bytes) -> bytes:
    i = len(data) - 1
    while data[i] == 0:
        i -= 1
    assert data[i] == 0x80, "bad padding"
    return data[:i]


def split_command(raw: bytes) -> tuple[bytes, bytes, bytes | None]:
    """Header, data and Le byte(s) of a short or extended command."""
    header, body = raw[:4], raw[4:]
    if not body:
        return header, b"", None
    if len(body) == 1:
        return header, b"", body
    if body[0]:
        n = body[0]
        return header, body[1 : 1 + n], body[1 + n :] or None
    n = int.from_bytes(body[1:3], "big")
    return header, body[3 : 3 + n], body[3 + n :] or None


class Checker:
    def __init__(self, vid: str) -> None:
        self.vid = vid
        self.errors: list[str] = []

    def eq(self, what: str, expected: bytes | str, actual: str) -> None:
        exp = expected.hex().upper() if isinstance(expected, bytes) else expected.upper()
        if exp != actual.upper():
            self.errors.append(f"{self.vid}: {what}: recomputed {exp}, file has {actual.upper()}")


def verify_vector(v: dict[str, Any]) -> list[str]:
    c = Checker(v["id"])
    h = bytes.fromhex
    n = 8 if v["mode"] == "S8" else 16
    level = int(v["security_level"], 16)
    enc, mac = h(v["static_keys"]["enc"]), h(v["static_keys"]["mac"])
    kbits = len(enc) * 8
    hc, counter_field = h(v["host_challenge"]), h(v["sequence_counter"])
    cc = kdf(enc, 0x02, counter_field + h(v["sd_aid"]), n * 8)
    c.eq("card_challenge", cc, v["card_challenge"])
    ctx = hc + cc
    s_enc, s_mac, s_rmac = kdf(enc, 0x04, ctx, kbits), kdf(mac, 0x06, ctx, kbits), kdf(mac, 0x07, ctx, kbits)
    c.eq("s_enc", s_enc, v["session_keys"]["s_enc"])
    c.eq("s_mac", s_mac, v["session_keys"]["s_mac"])
    c.eq("s_rmac", s_rmac, v["session_keys"]["s_rmac"])
    card_crypto, host_crypto = kdf(s_mac, 0x00, ctx, n * 8), kdf(s_mac, 0x01, ctx, n * 8)
    c.eq("card_cryptogram", card_crypto, v["card_cryptogram"])
    c.eq("host_cryptogram", host_crypto, v["host_cryptogram"])
    kvn = h(v["static_keys"]["kvn"])
    c.eq(
        "initialize_update.command",
        b"\x80\x50" + kvn + b"\x00" + bytes([n]) + hc + b"\x00",
        v["initialize_update"]["command"],
    )
    iu = h(v["diversification_data"]) + kvn + b"\x03" + h(v["i"]) + cc + card_crypto + counter_field
    c.eq("initialize_update.response", iu + b"\x90\x00", v["initialize_update"]["response"])
    chain = aes_cmac(s_mac, ZERO + bytes([0x84, 0x82, level, 0x00, 2 * n]) + host_crypto)
    ea = bytes([0x84, 0x82, level, 0x00, 2 * n]) + host_crypto + chain[:n]
    c.eq("external_authenticate.command", ea, v["external_authenticate"]["command"])
    for number, x in enumerate(v["exchanges"], 1):
        where = f"exchange {number} (case {x['case']})"
        c.eq(f"{where} counter", str(number), str(x["counter"]))
        header, data, le = split_command(h(x["plain_command"]))
        if level & 0x02 and data:
            icv = aes_ecb(s_enc, number.to_bytes(16, "big"))
            data = aes_cbc(s_enc, icv, pad(data))
        cla = bytes([(header[0] & 0xF0) | 0x04])
        lc = len(data) + n
        lc_field = bytes([lc]) if lc <= 255 else b"\x00" + lc.to_bytes(2, "big")
        chain = aes_cmac(s_mac, chain + cla + header[1:] + lc_field + data)
        wrapped = cla + header[1:] + lc_field + data + chain[:n] + (le or b"")
        c.eq(f"{where} wrapped_command", wrapped, x["wrapped_command"])
        c.eq(f"{where} mac_chaining_value", chain, x["mac_chaining_value"])
        # decrypting what was sent gives back the plain data
        if level & 0x02:
            _, sent, _ = split_command(h(x["wrapped_command"]))
            body = sent[:-n]
            if body:
                back = unpad(aes_cbc(s_enc, aes_ecb(s_enc, number.to_bytes(16, "big")), body, decrypt=True))
                c.eq(f"{where} decrypted command data", back, split_command(h(x["plain_command"]))[1].hex())
        plain = h(x["plain_response"])
        rdata, sw = plain[:-2], plain[-2:]
        if not (sw == b"\x90\x00" or sw[0] in (0x62, 0x63)):
            c.eq(f"{where} wrapped_response", sw, x["wrapped_response"])
            continue
        if level & 0x20 and rdata:
            rdata = aes_cbc(s_enc, aes_ecb(s_enc, b"\x80" + number.to_bytes(15, "big")), pad(rdata))
        if level & 0x10:
            rdata += aes_cmac(s_rmac, chain + rdata + sw)[:n]
        c.eq(f"{where} wrapped_response", rdata + sw, x["wrapped_response"])
    return c.errors


def verify(doc: dict[str, Any]) -> list[str]:
    self_test()
    errors: list[str] = []
    if doc.get("format") != "jpkikit-vectors/scp03/1":
        return [f"unknown format {doc.get('format')!r}"]
    ids = [v["id"] for v in doc["vectors"]]
    if len(set(ids)) != len(ids):
        errors.append("vector IDs are not unique")
    for v in doc["vectors"]:
        try:
            errors += verify_vector(v)
        except (KeyError, ValueError, AssertionError, IndexError) as exc:
            errors.append(f"{v.get('id', '?')}: malformed vector: {exc!r}")
    return errors


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT
    doc = json.loads(path.read_text(encoding="utf-8"))
    errors = verify(doc)
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{path}: {len(doc['vectors'])} vectors, {len(errors)} mismatches")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
