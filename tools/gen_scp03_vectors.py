#!/usr/bin/env python3
"""Generate the SCP03 known-answer vectors in vectors/scp03/scp03-vectors.json with the kit's own SCP03 code
(jpkikit.vocab.scp03: host side Scp03Layer against the card side CardSecureChannel).

One vector per key length (AES-128/192/256) x security level (01, 03, 11, 13, 33) x mode (S8, S16): static
keys, challenges, sequence counter, session keys, cryptograms, and a full trace of INITIALIZE UPDATE,
EXTERNAL AUTHENTICATE and commands of cases 1-4 (plus an error and a warning response), each command and
response both plain and wrapped. Everything is deterministic, so re-running gives identical bytes.
tools/verify_scp03_vectors.py checks the file with an independent implementation.

Usage: python tools/gen_scp03_vectors.py [--out vectors/scp03/scp03-vectors.json] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jpkikit.host.link import Transport  # noqa: E402
from jpkikit.host.scp03 import Scp03Layer  # noqa: E402
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel, ChannelState  # noqa: E402
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu  # noqa: E402
from jpkikit.vocab.scp03.handshake import host_cryptogram  # noqa: E402
from jpkikit.vocab.scp03.keys import StaticKeys  # noqa: E402
from jpkikit.vocab.scp03.levels import PROTECTED_LEVELS, Mode  # noqa: E402

FORMAT = "jpkikit-vectors/scp03/1"
DEFAULT_OUT = ROOT / "vectors" / "scp03" / "scp03-vectors.json"
SD_AID = bytes.fromhex("A000000151000000")  # default ISD AID, GPCS H.1.3
DIVERSIFICATION = bytes.fromhex("00010203040506070809")
SEQUENCE_COUNTER = 0x00002A  # value the card returns (after its increment), Amd D §6.2.2.1
KVN = 0x30

# (case, plain command, plain response) — the card answers these fixed responses.
EXCHANGES: list[tuple[str, str, str]] = [
    ("1", "80F08007", "9000"),  # SET STATUS-like header, no data, no Le
    ("2", "80CA006600", "660C730A06082A864886FC6B01009000"),
    ("3", "80E2900005DF20020102", "9000"),
    ("4", "80F24002024F0000", "E30E4F08A0000001510000009F7001019000"),
    ("3-multiblock", "80E2010020" + bytes(range(32)).hex(), "9000"),
    ("2-error", "80CA00FE00", "6A88"),
    ("4-warning", "80F24003024F0000", "E3054F03A000016310"),
]


def static_keys(length: int) -> StaticKeys:
    """Distinct keys per role so that a swapped key shows: ENC 40.., MAC 50.., DEK 60.. (length bytes)."""
    return StaticKeys(
        bytes((0x40 + n) & 0xFF for n in range(length)),
        bytes((0x50 + n) & 0xFF for n in range(length)),
        bytes((0x60 + n) & 0xFF for n in range(length)),
        KVN,
    )


def host_challenge(mode: Mode) -> bytes:
    return bytes(range(0xA0, 0xA0 + int(mode)))


class VectorCard(Transport):
    """The card side for generation: CardSecureChannel plus the fixed plain responses; records the wire."""

    description = "vector card"

    def __init__(self, keys: StaticKeys, i: int) -> None:
        self.keys, self.i = keys, i
        self.sc = CardSecureChannel(SD_AID)
        self.wire: list[tuple[str, str]] = []
        self.plain: list[tuple[str, str]] = []

    def transmit(self, command: bytes) -> bytes:
        apdu = CommandApdu.parse(command)
        if apdu.ins == 0x50:
            response = self.sc.initialize_update(apdu, self.keys, self.i, SEQUENCE_COUNTER, DIVERSIFICATION)
        elif apdu.ins == 0x82 and self.sc.state is ChannelState.PENDING:
            response = self.sc.external_authenticate(apdu)
        else:
            plain = self.sc.unwrap(apdu)
            if isinstance(plain, ResponseApdu):
                raise SystemExit(f"vector card refused {command.hex()}: {plain}")
            answer = next(r for _, c, r in EXCHANGES if CommandApdu.parse(bytes.fromhex(c)) == plain)
            self.plain.append((plain.to_bytes().hex(), answer))
            response = self.sc.wrap(ResponseApdu.parse(bytes.fromhex(answer)))
        self.wire.append((command.hex(), response.to_bytes().hex()))
        return response.to_bytes()

    def reset(self, cold: bool = False) -> bytes:
        return b"\x3b\x00"

    @property
    def atr(self) -> bytes:
        return b"\x3b\x00"

    def close(self) -> None:
        pass


def vector(length: int, level: int, mode: Mode) -> dict[str, Any]:
    keys = static_keys(length)
    i = 0x70 | (0x01 if mode is Mode.S16 else 0x00)
    card = VectorCard(keys, i)
    layer = Scp03Layer(card, keys, sd_aid=SD_AID)
    hs = layer.initialize_update(KVN, mode, host_challenge(mode))
    session = layer.external_authenticate(level)
    exchanges = []
    for case, command, _ in EXCHANGES:
        response = layer.send(CommandApdu.parse(bytes.fromhex(command)))
        wire_command, wire_response = card.wire[-1]
        exchanges.append(
            {
                "case": case,
                "counter": session.counter,
                "plain_command": command.upper(),
                "wrapped_command": wire_command.upper(),
                "mac_chaining_value": session.chain.hex().upper(),
                "plain_response": response.to_bytes().hex().upper(),
                "wrapped_response": wire_response.upper(),
            }
        )
    r = hs.response
    return {
        "id": f"SCP03-AES{length * 8}-{mode.name}-L{level:02X}",
        "key_length": length,
        "mode": mode.name,
        "security_level": f"{level:02X}",
        "i": f"{i:02X}",
        "sd_aid": SD_AID.hex().upper(),
        "static_keys": {
            "kvn": f"{KVN:02X}",
            "enc": keys.enc.hex().upper(),
            "mac": keys.mac.hex().upper(),
            "dek": keys.dek.hex().upper(),
        },
        "host_challenge": hs.host_challenge.hex().upper(),
        "sequence_counter": f"{SEQUENCE_COUNTER:06X}",
        "diversification_data": DIVERSIFICATION.hex().upper(),
        "card_challenge": r.card_challenge.hex().upper(),
        "session_keys": {
            "s_enc": hs.keys.s_enc.hex().upper(),
            "s_mac": hs.keys.s_mac.hex().upper(),
            "s_rmac": hs.keys.s_rmac.hex().upper(),
        },
        "card_cryptogram": r.card_cryptogram.hex().upper(),
        "host_cryptogram": host_cryptogram(hs.keys, hs.host_challenge, r.card_challenge, mode).hex().upper(),
        "initialize_update": {"command": card.wire[0][0].upper(), "response": card.wire[0][1].upper()},
        "external_authenticate": {"command": card.wire[1][0].upper(), "response": card.wire[1][1].upper()},
        "exchanges": exchanges,
    }


def generate() -> dict[str, Any]:
    vectors = [vector(n, level, mode) for n in (16, 24, 32) for mode in Mode for level in PROTECTED_LEVELS]
    return {
        "format": FORMAT,
        "provenance": {
            "generator": "tools/gen_scp03_vectors.py (jpkikit.vocab.scp03: Scp03Layer vs CardSecureChannel)",
            "verifier": "tools/verify_scp03_vectors.py (independent: own CMAC, KDF, wrap and unwrap)",
            "spec": "GlobalPlatform Card Spec v2.3.1 Amendment D (SCP03) v1.1.1 §4.1.5, §6.2, §7.1; "
            "S16 mode as i bit b1, as the implementations use it "
            "(docs/spec/globalplatform.md#the-i-parameter)",
            "cross_checks": "KDF and CMAC primitives are tested against NIST CAVP (tests/test_scp03_cavp.py)",
        },
        "vectors": vectors,
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--check", action="store_true", help="fail if the file differs from a fresh generation"
    )
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out}: out of date; run tools/gen_scp03_vectors.py", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text)['vectors'])} vectors to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
