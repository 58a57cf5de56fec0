"""What the PC/SC integration tests share: the vpcd slot to use, the prerequisites, and serving a card.

Set JPKI_TEST_VPCD_PORT=35964 to use the second vpcd slot ("Virtual PCD 00 01") when the first is busy.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jpkikit.host import pcscd
from jpkikit.host.link import SimulatedCard
from jpkikit.host.pcsc import ReaderInfo, list_readers
from jpkikit.host.vpcd import VpcdServer, driver_installed, reader_name, wait_for_card, wait_for_card_removed

PORT = int(os.environ.get("JPKI_TEST_VPCD_PORT", "35963"))
READER = reader_name(PORT)  # "Virtual PCD 00 00" for the default port
MISSING = [
    what
    for what, ok in (
        ("pcscd (apt-get install pcscd)", pcscd.pcscd_binary() is not None),
        ("the vpcd driver (apt-get install vsmartcard-vpcd)", driver_installed()),
    )
    if not ok
]


#: Seconds a restarted pcscd gets to list the vpcd readers.
READER_BACK_WITHIN = 5.0


def _readers_within(seconds: float) -> dict[str, ReaderInfo]:
    deadline = time.monotonic() + seconds
    while True:
        info = {i.name: i for i in list_readers(timeout=5)}
        if READER in info or time.monotonic() >= deadline:
            return info
        time.sleep(0.2)


def require_free_slot() -> None:
    """pcscd up (started if needed) with a free vpcd slot; skips only when pcscd/vpcd are not installed. A
    pcscd without the vpcd readers is restarted once."""
    if MISSING:
        pytest.skip(f"not installed: {', '.join(MISSING)}")
    pcscd.ensure_daemon(start=True)
    info = {i.name: i for i in list_readers(timeout=5)}
    if READER not in info:  # pcscd came up without the vpcd readers (started before the driver was set up)
        pcscd.restart_daemon()  # once
        info = _readers_within(READER_BACK_WITHIN)
    if READER not in info:
        pytest.fail(
            f"pcscd has no reader {READER!r}, even after a restart (readers: {sorted(info)}); "
            "check /etc/reader.conf.d/vpcd"
        )
    if info[READER].card_present:
        pytest.fail(f"{READER!r} already holds a card: another virtual card uses port {PORT}; stop it first")


def start_server(card: SimulatedCard, **options: float) -> VpcdServer:
    options.setdefault("reconnect_interval", 0.1)
    server = VpcdServer(card, port=PORT, logger=logging.getLogger("test.vpcd"), **options)
    server.start()
    return server


@contextmanager
def served(card: SimulatedCard, **options: float) -> Iterator[VpcdServer]:
    """``card`` inserted in the vpcd reader for the duration of the block, removed after it."""
    server = start_server(card, **options)
    try:
        assert wait_for_card(READER, timeout=5) == card.atr
        yield server
    finally:
        server.stop()
        assert server.join(timeout=3), "the vpcd server did not stop"
        wait_for_card_removed(READER, timeout=5)
