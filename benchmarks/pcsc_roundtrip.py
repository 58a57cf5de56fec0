"""One APDU through pcscd: the same PC/SC client (pyscard's SCardTransmit, T=any) against cards served to
the two vpcd slots, in rounds that alternate between the two slots so that the machine's load hits both
contenders alike. The command is a SELECT of an AID no card has (00 A4 04 00 05 A0 00 00 00 00): the
kit's emulator runs its whole command path and answers 6A82, like the minimal card and vicc.

Run it under ``flock /tmp/pcsc.lock`` on a machine where others use pcscd.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smartcard import scard

REPO = Path(__file__).resolve().parent.parent
SLOTS = {35963: "Virtual PCD 00 00", 35964: "Virtual PCD 00 01"}
SELECT_ABSENT = [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x00, 0x00]


def emulator(port: int, state: Path | None = None) -> tuple[list[str], dict[str, str] | None]:
    cmd = [sys.executable, "-m", "jpkikit", "emulate", "--personality", "gp-se", "--port", str(port)]
    return cmd + (["--state", str(state)] if state else []), None


def minimal(port: int) -> tuple[list[str], dict[str, str] | None]:
    from jpkikit.reference.emulator.personalities import get_personality

    atr = get_personality("gp-se").atr.hex()  # the same ATR, so pcscd picks the same protocol
    return [sys.executable, str(REPO / "benchmarks" / "minimal_vpcd_card.py"), str(port), atr], None


class Connection:
    def __init__(self, context: int, reader: str, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while True:
            hresult, card, protocol = scard.SCardConnect(
                context, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
            )
            if hresult == scard.SCARD_S_SUCCESS:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{reader}: no card ({scard.SCardGetErrorMessage(hresult)})")
            time.sleep(0.1)
        self.card, self.protocol = card, protocol

    def transmit(self, apdu: list[int]) -> list[int]:
        hresult, response = scard.SCardTransmit(self.card, self.protocol, apdu)
        if hresult != scard.SCARD_S_SUCCESS:
            raise RuntimeError(scard.SCardGetErrorMessage(hresult))
        return response

    def close(self) -> None:
        scard.SCardDisconnect(self.card, scard.SCARD_LEAVE_CARD)


def first_answer(context: int, reader: str, name: str, within: float = 15.0) -> Connection:
    """A connection to the card just served to ``reader`` that has answered the probe as it should (6A82):
    right after another card left the slot, pcscd may still hold the old one for a moment (the transmit
    fails, or another card answers)."""
    deadline = time.monotonic() + within
    while True:
        conn = Connection(context, reader, within)
        try:
            if conn.transmit(SELECT_ABSENT)[-2:] == [0x6A, 0x82]:  # every contender answers so
                return conn
        except RuntimeError:
            pass
        conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: the card served to {reader} never answered 6A82")
        time.sleep(0.2)


@contextmanager
def served(port: int, cmd: list[str], env: dict[str, str] | None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def race(
    contenders: dict[str, tuple[int, tuple[list[str], dict[str, str] | None]]],
    apdus: dict[str, int],
    rounds: int,
) -> dict[str, list[float]]:
    """µs per round trip of each contender (name -> (port, (cmd, env))), one sample per round; the
    contenders are served at once (one slot each) and measured turn by turn."""
    from jpkikit.host.pcscd import ensure_daemon

    ensure_daemon(start=True)  # as a profile's `pcscd: start-if-absent` does
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise RuntimeError(f"pcscd: {scard.SCardGetErrorMessage(hresult)}")
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    procs = []
    try:
        connections = {}
        for name, (port, (cmd, env)) in contenders.items():
            procs.append(served(port, cmd, env))
            procs[-1].__enter__()
            connections[name] = first_answer(context, SLOTS[port], name)
            answer = connections[name].transmit(SELECT_ABSENT)
            if answer[-2:] != [0x6A, 0x82]:
                raise RuntimeError(f"{name}: answered {bytes(answer).hex()} to SELECT of an absent AID")
        for _ in range(rounds):
            for name, conn in connections.items():
                n = apdus[name]
                start = time.perf_counter()
                for _ in range(n):
                    conn.transmit(SELECT_ABSENT)
                samples[name].append((time.perf_counter() - start) / n * 1e6)
        for conn in connections.values():
            conn.close()
    finally:
        for cm in reversed(procs):
            cm.__exit__(None, None, None)
        scard.SCardReleaseContext(context)
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)
