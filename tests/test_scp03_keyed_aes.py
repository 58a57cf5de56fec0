"""KeyedAes (contexts keyed once per session key) gives exactly what the one-shot primitives give, call
after call, whatever the order of the calls; and the session's byte-level host path is its object path."""

from __future__ import annotations

import os
import random

import pytest

from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.scp03 import Mode, SessionKeys
from jpkikit.vocab.scp03.crypto import KeyedAes, cbc_decrypt, cbc_encrypt, cmac, ecb_block
from jpkikit.vocab.scp03.levels import PROTECTED_LEVELS
from jpkikit.vocab.scp03.session import Scp03Session


@pytest.mark.parametrize("length", [16, 24, 32])
def test_keyed_contexts_match_the_one_shot_primitives(length: int) -> None:
    rng = random.Random(length)
    key = rng.randbytes(length)
    keyed = KeyedAes(key)
    for i in range(300):  # interleaved, so the CBC contexts' chaining state is exercised
        iv, blocks = rng.randbytes(16), rng.randbytes(16 * (i % 6))
        op = i % 5
        if op == 0:
            assert keyed.cbc_encrypt(iv, blocks) == cbc_encrypt(key, iv, blocks)
        elif op == 1:
            assert keyed.cbc_encrypt_icv(iv, blocks) == cbc_encrypt(key, ecb_block(key, iv), blocks)
        elif op == 2:
            assert keyed.cbc_decrypt(iv, blocks) == cbc_decrypt(key, iv, blocks)
        elif op == 3:
            message = rng.randbytes(i % 70)
            assert keyed.cmac(message) == cmac(key, message)
        else:
            assert keyed.ecb_block(iv) == ecb_block(key, iv)
    assert "redacted" in repr(keyed) and key.hex() not in repr(keyed)


@pytest.mark.parametrize("level", PROTECTED_LEVELS)
@pytest.mark.parametrize("mode", [Mode.S8, Mode.S16])
def test_wrap_and_unwrap_bytes_are_the_object_path(level: int, mode: Mode) -> None:
    keys = SessionKeys(os.urandom(16), os.urandom(16), os.urandom(16))
    by_object, by_bytes, card = (Scp03Session(keys, mode, level) for _ in range(3))
    commands = [
        CommandApdu(0x80, 0xE2, 0x90, 0x00, bytes(range(16))),
        CommandApdu(0x80, 0xCA, 0x00, 0x66, ne=256),
        CommandApdu(0x80, 0xE2, 0x80, 0x01, os.urandom(200), ne=1),
        CommandApdu(0x80, 0xE2, 0x80, 0x02, os.urandom(300)),  # extended once wrapped
        CommandApdu(0x81, 0xF2, 0x40, 0x00, b"\x4f\x00"),  # logical channel 1
    ]
    for apdu in commands:
        wire = by_object.wrap_command(apdu).to_bytes()
        assert by_bytes.wrap_command_bytes(apdu) == wire
        card.unwrap_command(CommandApdu.parse(wire))
        for response in (ResponseApdu(os.urandom(20), 0x9000), ResponseApdu(b"", 0x6A82)):
            answer = card.wrap_response(response)
            assert (
                by_bytes.unwrap_response_bytes(answer.to_bytes())
                == by_object.unwrap_response(answer).to_bytes()
            )
            if response.sw != 0x9000:
                break
        assert by_bytes.chain == by_object.chain and by_bytes.counter == by_object.counter
