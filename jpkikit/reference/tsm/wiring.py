"""Wiring of the reference TSM for the kit's own emulator: the APSD key set and AIDs of
jpkikit.reference.emulator.gp.issuance, a back end, an HTTP server on loopback."""

from __future__ import annotations

from pathlib import Path

from jpkikit.reference.backend import JlisBackend
from jpkikit.reference.emulator.gp.issuance import APSD_AID, APSD_KEYS
from jpkikit.reference.tsm.flows import SeTarget
from jpkikit.reference.tsm.server import TsmHttpServer, TsmService
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.scp03.keys import StaticKeys

DEFAULT_LEVEL = 0x33


def emulator_target(level: int = DEFAULT_LEVEL) -> SeTarget:
    return SeTarget(JPKI_AID, APSD_AID, StaticKeys.single(APSD_KEYS[0x30], 0x30), level)


def start_reference_tsm(
    db: str | Path = ":memory:",
    target: SeTarget | None = None,
    service: type[TsmService] = TsmService,
    port: int = 0,
) -> TsmHttpServer:
    """A running reference TSM on 127.0.0.1 (``port`` 0: an ephemeral one); ``stop()`` it when done."""
    return TsmHttpServer(service(JlisBackend(db), target or emulator_target()), port=port).start()
