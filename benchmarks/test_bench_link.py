"""Harness overhead per APDU: the raw emulator, the tracer + GET RESPONSE chain, and real PC/SC.

Run: .venv/bin/tox -e bench  (or: pytest benchmarks --benchmark-only)
"""

from __future__ import annotations

import pytest

from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.reference.emulator.jpki import JPKI_AID
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.iso7816.apdu import CommandApdu

SELECT = CommandApdu(0x00, 0xA4, 0x04, 0x0C, JPKI_AID).to_bytes()
SELECT_EF = bytes.fromhex("00A4020C020006")
READ = bytes.fromhex("00B0000020")


def test_raw_emulator_apdu(benchmark: pytest.FixtureRequest) -> None:
    card = Card(get_personality("gp-se"))
    card.power_on()
    card.process(SELECT)
    card.process(SELECT_EF)
    benchmark(card.process, READ)


def bench_reads(benchmark: pytest.FixtureRequest, session: CardSession) -> None:
    """READ BINARY of the token label, the trace emptied after each so it does not grow."""
    session.transmit(SELECT)
    session.transmit(SELECT_EF)

    def one() -> None:
        session.transmit(READ)
        session.tracer.trace.exchanges.clear()

    benchmark(one)


def test_traced_session_apdu(benchmark: pytest.FixtureRequest) -> None:
    bench_reads(benchmark, CardSession(InProcessTransport(Card(get_personality("gp-se")))))


@pytest.mark.pcsc
def test_pcsc_apdu_through_vpcd(benchmark: pytest.FixtureRequest) -> None:
    from jpkikit.harness.plugin import REPO
    from jpkikit.harness.profile import load_profile
    from jpkikit.harness.seam import open_link

    link = open_link(load_profile(REPO / "profiles" / "emulator-gpse-pcsc.yaml"))
    try:
        bench_reads(benchmark, CardSession(link))
    finally:
        link.close()
