"""Wiring of the reference TSM for the kit's own emulator: the APSD and ISD key sets and AIDs of
jpkikit.reference.emulator.gp.issuance, a back end, an HTTP(S) server on loopback."""

from __future__ import annotations

import ssl
from pathlib import Path

from jpkikit.reference import keypool
from jpkikit.reference.backend import JlisBackend
from jpkikit.reference.emulator.gp.issuance import APSD_AID, APSD_KEYS, ISD_KEYS
from jpkikit.reference.tsm.flows import SeiTarget, SeTarget, TsmOptions
from jpkikit.reference.tsm.server import TsmHttpServer, TsmService
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.scp03.keys import StaticKeys

DEFAULT_LEVEL = 0x33


def emulator_target(level: int = DEFAULT_LEVEL) -> SeTarget:
    return SeTarget(JPKI_AID, APSD_AID, StaticKeys.single(APSD_KEYS[0x30], 0x30), level)


def emulator_sei_target(level: int = DEFAULT_LEVEL) -> SeiTarget:
    return SeiTarget(
        ISD_AID,
        StaticKeys.single(ISD_KEYS[0x30], 0x30),
        level,
        APSD_AID,
        StaticKeys.single(APSD_KEYS[0x30], 0x30),
        JPKI_AID,
    )


def server_tls(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """TLS 1.2 or later with the server certificate ``cert`` (PEM, chain first) and its key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def start_reference_tsm(
    db: str | Path = ":memory:",
    target: SeTarget | None = None,
    service: type[TsmService] = TsmService,
    port: int = 0,
    sei: SeiTarget | None = None,
    options: TsmOptions | None = None,
    tls: ssl.SSLContext | None = None,
    card_cas: tuple = (),
) -> TsmHttpServer:
    """A running reference TSM on 127.0.0.1 (``port`` 0: an ephemeral one); ``stop()`` it when done. The
    same ``db`` after a restart gives back every order, journal, push target and outcome."""
    keypool.enable()  # every issuance makes two key pairs (on the kit's SEs, or at J-LIS): made ahead
    backend = JlisBackend(db, card_cas=card_cas)
    tsm = service(backend, target or emulator_target(), sei, options)
    return TsmHttpServer(tsm, port=port, tls=tls).start()
