"""vicc, the vsmartcard project's virtual card (Debian ``vsmartcard-vpicc``), run as shipped: no patch.

Two things keep Debian's vicc from starting on Debian 12/13, both fixed from outside its source:

- its library (``python3-virtualsmartcard``) is installed under ``/usr/lib/python3/site-packages/
  virtualsmartcard/``, which is not on Debian's Python path: that directory goes on PYTHONPATH;
- it imports PyCryptodome as ``Crypto``, which Debian ships as ``Cryptodome`` (``python3-pycryptodome``):
  a one-file package ``Crypto`` in a temporary directory takes Cryptodome's modules for its own.

``quickack=True`` adds a ``sitecustomize`` that sets TCP_QUICKACK after every ``recv`` of any socket
(Linux clears it again by itself): the vpcd driver writes a message's length and its payload in two
send() calls with Nagle's algorithm on, so a card that delays its ACK waits ~40 ms a message.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
VICC = "/usr/bin/vicc"

CRYPTO_ALIAS = '''"""Crypto: Debian's PyCryptodome (Cryptodome) under the name PyCrypto's users import."""
import Cryptodome

__path__ = Cryptodome.__path__  # Crypto.X loads Cryptodome/X, whose own imports name Cryptodome
__version__ = Cryptodome.__version__
'''

QUICKACK = '''"""TCP_QUICKACK after every recv (the kernel clears it): no delayed ACK to the vpcd driver."""
import socket

_recv = socket.socket.recv


def _recv_quickack(self, *args, **kwargs):
    data = _recv(self, *args, **kwargs)
    try:
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except OSError:
        pass
    return data


socket.socket.recv = _recv_quickack
'''


def library_dir() -> str | None:
    """The directory holding the ``virtualsmartcard`` package of python3-virtualsmartcard."""
    for pattern in ("/usr/lib/python3/site-packages/virtualsmartcard", "/usr/lib/python3*/*-packages"):
        for candidate in sorted(glob.glob(pattern)):
            if Path(candidate, "virtualsmartcard", "VirtualSmartcard.py").is_file():
                return candidate
    return None


def missing() -> str | None:
    """Why vicc cannot run here, or None."""
    if not Path(VICC).is_file() or library_dir() is None:
        return "vicc is not installed (apt-get install vsmartcard-vpicc)"
    if not glob.glob("/usr/lib/python3/dist-packages/Cryptodome"):
        return "Cryptodome is not installed (apt-get install python3-pycryptodome)"
    return None


def command(port: int, workdir: Path, quickack: bool) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a vicc serving an ISO 7816 card to the vpcd slot ``port``."""
    shims = workdir / ("vicc-quickack" if quickack else "vicc-shipped")
    shutil.rmtree(shims, ignore_errors=True)
    (shims / "Crypto").mkdir(parents=True)
    (shims / "Crypto" / "__init__.py").write_text(CRYPTO_ALIAS)
    if quickack:
        (shims / "sitecustomize.py").write_text(QUICKACK)
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["PYTHONPATH"] = os.pathsep.join([str(shims), library_dir() or ""])
    return [SYSTEM_PYTHON, VICC, "-t", "iso7816", "-H", "127.0.0.1", "-P", str(port)], env
