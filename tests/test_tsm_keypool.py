"""The RSA keys the reference makes ahead (jpkikit.reference.keypool): fresh, handed out once, bounded, and
never shared with a forked child."""

from __future__ import annotations

import os
import time

from jpkikit.reference.keypool import POOL, KeyPool, new_rsa_key


def _filled(pool: KeyPool, n: int, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with pool._lock:
            if len(pool._keys) >= n:
                return True
        time.sleep(0.01)
    return False


def test_an_enabled_pool_fills_up_to_its_bound_and_hands_each_key_out_once() -> None:
    pool = KeyPool(size=2)
    assert pool.take().key_size == 2048 and not pool._keys, "a pool that is off made keys ahead"
    pool.enable()
    time.sleep(0.2)
    assert not pool._keys, "the pool made keys before any was taken"
    pool.take()
    assert _filled(pool, 2), "the enabled pool was never filled"
    time.sleep(0.2)
    assert len(pool._keys) == 2, "the pool grew beyond its bound"
    keys = [pool.take() for _ in range(6)]
    moduli = {k.public_key().public_numbers().n for k in keys}
    assert len(moduli) == 6, "a key was handed out twice"
    assert {k.public_key().public_numbers().e for k in keys} == {65537}
    assert _filled(pool, 2), "the pool was not refilled after keys were taken"


def test_other_sizes_are_made_at_once() -> None:
    assert new_rsa_key(1024).key_size == 1024


def test_a_forked_child_starts_with_an_empty_pool() -> None:
    POOL.enable()
    POOL.take()
    assert _filled(POOL, 1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: none of the parent's keys
        os.write(write, bytes([len(POOL._keys), POOL.enabled]))
        os._exit(0)
    os.close(write)
    answer = os.read(read, 2)
    os.waitpid(pid, 0)
    assert answer == b"\x00\x00", "a forked child got the parent's keys made ahead"
