"""RSA key pairs generated ahead, for the reference's key generation on the chip (the emulator's GENERATE
KEY, seed 004 p.15 ⑰) and at J-LIS (the SIM design, seed 000 §4(1) ⑤): a small bounded pool per process,
filled by one background thread, so an issuance does not wait for two RSA-2048 generations.

Nothing answered differs from generating the key at the time: every key is fresh, made in this process,
handed out once and kept nowhere else; an empty pool generates at once. The pool is off until a component
that makes many keys turns it on (:func:`enable`; the reference TSM does), so a process that only serves a
card (e.g. to pcscd, where latency is measured) never runs the background thread. A forked child starts
with an empty pool: the parent's keys are never handed out twice.
"""

from __future__ import annotations

import os
import threading
from collections import deque

from cryptography.hazmat.primitives.asymmetric import rsa

PUBLIC_EXPONENT = 65537
KEY_BITS = 2048
POOL_SIZE = 4  # one issuance takes two (auth, sign)


def generate(bits: int = KEY_BITS, exponent: int = PUBLIC_EXPONENT) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=exponent, key_size=bits)


class KeyPool:
    """RSA keys of ``bits`` with exponent 65537, at most ``size`` made ahead."""

    def __init__(self, bits: int = KEY_BITS, size: int = POOL_SIZE) -> None:
        self.bits, self.size = bits, size
        self.enabled = False
        self._keys: deque[rsa.RSAPrivateKey] = deque()
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None

    def enable(self) -> None:
        """Make keys ahead from the first one taken on (a process that never takes one never makes one)."""
        with self._lock:
            self.enabled = True

    def take(self) -> rsa.RSAPrivateKey:
        """A fresh key: one made ahead when there is one, else made now."""
        with self._lock:
            key = self._keys.popleft() if self._keys else None
            if self.enabled:
                self._wake()
        return key if key is not None else generate(self.bits)

    def _wake(self) -> None:
        self._wanted.set()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._fill, name="rsa-keypool", daemon=True)
            self._thread.start()

    def _fill(self) -> None:
        while True:
            self._wanted.wait()
            with self._lock:
                if len(self._keys) >= self.size:
                    self._wanted.clear()
                    continue
                pid = os.getpid()
            key = generate(self.bits)
            with self._lock:
                if pid == os.getpid() and len(self._keys) < self.size:
                    self._keys.append(key)

    def _forget(self) -> None:
        """In a forked child: no key of the parent, no thread (it did not survive the fork)."""
        self._keys.clear()
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._thread = None
        self.enabled = False


POOL = KeyPool()
os.register_at_fork(after_in_child=POOL._forget)


def enable() -> None:
    POOL.enable()


def new_rsa_key(bits: int = KEY_BITS, exponent: int = PUBLIC_EXPONENT) -> rsa.RSAPrivateKey:
    """A fresh RSA key (from the pool when it is of the pool's size and exponent)."""
    if (bits, exponent) != (POOL.bits, PUBLIC_EXPONENT):
        return generate(bits, exponent)
    return POOL.take()
