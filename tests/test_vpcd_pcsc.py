"""VpcdServer + PcscTransport through real pcscd and the vsmartcard-vpcd driver.

Tests marked ``pcsc`` need pcscd (started here when absent; we must be root for that) and the vpcd
driver; they are skipped, with the reason, only when those are not installed. The other tests run the
server against a fake vpcd driver (a local TCP listener) and need nothing.

Set JPKI_TEST_VPCD_PORT=35964 to use the second vpcd slot when the first is busy.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from jpkikit.errors import CardAbsent, DeviceTimeout, DeviceUnreachable, ReaderNotFound
from jpkikit.host import pcscd
from jpkikit.host.pcsc import PcscTransport, list_readers
from jpkikit.host.vpcd import (
    VpcdServer,
    frame,
    wait_for_card,
    wait_for_card_removed,
)
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card

from .pcsc_support import READER, require_free_slot, served, start_server

ATR = bytes.fromhex("3B8A80010031C173C8400000900090")
TIMEOUT = 1.0  # PcscTransport timeout used here: short, the virtual card answers in microseconds


class EchoCard:
    """A SimulatedCard that answers every APDU with the APDU itself ‖ 9000 and records power events."""

    def __init__(self, delay: float = 0.0) -> None:
        self.events: list[str] = []
        self.commands: list[bytes] = []
        self.delay = delay
        self.wake = threading.Event()  # set to cut a delay short

    def power_on(self) -> bytes:
        self.events.append("on")
        return ATR

    def power_off(self) -> None:
        self.events.append("off")

    def reset(self) -> bytes:
        self.events.append("reset")
        return ATR

    @property
    def atr(self) -> bytes:
        return ATR

    def process(self, command: bytes) -> bytes:
        self.commands.append(command)
        if self.delay:
            self.wake.wait(self.delay)
        return command + b"\x90\x00"


def _serve(card: EchoCard) -> VpcdServer:
    return start_server(card, poll_interval=0.05)


@pytest.fixture(scope="module")
def daemon() -> None:
    require_free_slot()


@pytest.fixture
def card() -> EchoCard:
    return EchoCard()


@pytest.fixture
def server(daemon: None, card: EchoCard) -> Iterator[VpcdServer]:
    server = _serve(card)
    try:
        assert wait_for_card(READER, timeout=5) == ATR
        yield server
    finally:
        card.wake.set()
        assert server.join(timeout=3), "the vpcd server did not stop"
        wait_for_card_removed(READER, timeout=5)


@pytest.fixture
def transport(server: VpcdServer) -> Iterator[PcscTransport]:
    with PcscTransport(READER, timeout=TIMEOUT) as transport:
        yield transport  # type: ignore[misc]


# --- through pcscd ---------------------------------------------------------------------------------------


@pytest.mark.pcsc
@pytest.mark.usefixtures("server")
def test_card_listed_with_atr() -> None:
    info = {i.name: i for i in list_readers(timeout=TIMEOUT)}
    assert info[READER].card_present
    assert info[READER].atr == ATR


@pytest.mark.pcsc
def test_transmit_and_atr(transport: PcscTransport, card: EchoCard) -> None:
    assert transport.atr == ATR
    assert transport.protocol in ("T=0", "T=1")
    command = bytes.fromhex("00A4040007A0000000010101") + bytes(200)
    assert transport.transmit(command) == command + b"\x90\x00"
    assert card.commands == [command]
    assert "on" in card.events


@pytest.mark.pcsc
def test_reset_warm_and_cold(transport: PcscTransport, card: EchoCard) -> None:
    card.events.clear()
    assert transport.reset() == ATR
    assert card.events == ["reset"]
    card.events.clear()
    assert transport.reset(cold=True) == ATR
    assert card.events == ["off", "on"]
    assert transport.transmit(bytes(4)) == bytes(4) + b"\x90\x00"


@pytest.mark.pcsc
@pytest.mark.usefixtures("server")
def test_reader_by_substring_and_index(card: EchoCard) -> None:
    with PcscTransport(READER[-5:].lower(), timeout=TIMEOUT) as t:
        assert t.reader == READER
    index = [i.name for i in list_readers(timeout=TIMEOUT)].index(READER)
    with PcscTransport(index, timeout=TIMEOUT) as t:
        assert t.reader == READER
        assert t.transmit(bytes(4))[-2:] == b"\x90\x00"


@pytest.mark.pcsc
@pytest.mark.usefixtures("daemon")
def test_unknown_and_ambiguous_reader() -> None:
    names = [i.name for i in list_readers(timeout=TIMEOUT)]
    with pytest.raises(ReaderNotFound) as unknown:
        PcscTransport("no such reader", timeout=TIMEOUT)
    assert "available readers" in str(unknown.value)
    assert repr(READER) in str(unknown.value)
    with pytest.raises(ReaderNotFound, match="out of range"):
        PcscTransport(len(names), timeout=TIMEOUT)
    if sum("Virtual PCD" in n for n in names) > 1:
        with pytest.raises(ReaderNotFound, match="ambiguous"):
            PcscTransport("virtual pcd", timeout=TIMEOUT)


@pytest.mark.pcsc
def test_card_removed_then_back(daemon: None, card: EchoCard) -> None:
    server = _serve(card)
    wait_for_card(READER, timeout=5)
    with PcscTransport(READER, timeout=TIMEOUT) as transport:
        assert server.join(timeout=3)
        wait_for_card_removed(READER, timeout=5)
        with pytest.raises(CardAbsent):
            transport.transmit(bytes(4))
        with pytest.raises(CardAbsent):
            transport.reset()  # nothing to reconnect to
        with pytest.raises(CardAbsent, match="no card is connected"):
            transport.transmit(bytes(4))
        server = _serve(card)  # the same card goes back into the reader
        try:
            wait_for_card(READER, timeout=5)
            assert transport.reset() == ATR  # reconnects after the removal
            assert transport.transmit(b"\x00\xb0\x00\x00") == b"\x00\xb0\x00\x00\x90\x00"
            assert len(card.commands) == 1
        finally:
            assert server.join(timeout=3)
            wait_for_card_removed(READER, timeout=5)


@pytest.mark.pcsc
@pytest.mark.usefixtures("server")
def test_slow_card_times_out(card: EchoCard) -> None:
    card.delay = 10.0
    with PcscTransport(READER, timeout=0.5) as transport:
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"within 0\.5 s"):
            transport.transmit(bytes(4))
        assert time.monotonic() - started < 0.5 + 0.5
        assert transport.broken
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match="unusable"):
            transport.transmit(bytes(4))
        assert time.monotonic() - started < 0.1
        card.wake.set()  # let the stuck call finish so pcscd frees the reader


@pytest.mark.pcsc
@pytest.mark.usefixtures("daemon")
def test_pcscd_restart_keeps_card_state(card: EchoCard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.vpcd")
    server = _serve(card)
    try:
        wait_for_card(READER, timeout=5)
        with PcscTransport(READER, timeout=TIMEOUT) as t:
            t.transmit(b"\x00\x01\x02\x03")
        pcscd.restart_daemon(timeout=10)
        assert wait_for_card(READER, timeout=10) == ATR
        assert server.connections == 2
        assert "connection to the vpcd driver lost" in caplog.text
        with PcscTransport(READER, timeout=TIMEOUT) as t:
            t.transmit(b"\x00\x04\x05\x06")
        assert card.commands == [b"\x00\x01\x02\x03", b"\x00\x04\x05\x06"]  # same card object, same state
        assert "off" in card.events  # the drop took the card out of the reader: it lost power
    finally:
        assert server.join(timeout=3)
        wait_for_card_removed(READER, timeout=5)


@pytest.mark.pcsc
@pytest.mark.usefixtures("daemon")
def test_pcscd_stopped_is_unreachable_until_started() -> None:
    pcscd.stop_daemon(timeout=10)
    try:
        assert not pcscd.daemon_running()
        with pytest.raises(DeviceUnreachable, match="pcscd is not running; start it with"):
            pcscd.ensure_daemon(start=False)
        with pytest.raises(DeviceUnreachable, match="SCARD_E_NO_SERVICE"):
            list_readers(timeout=TIMEOUT)
        with pytest.raises(DeviceUnreachable):
            PcscTransport(READER, timeout=TIMEOUT)
    finally:
        pcscd.ensure_daemon(start=True, timeout=10)
    assert READER in [i.name for i in list_readers(timeout=TIMEOUT)]


@pytest.mark.pcsc
@pytest.mark.usefixtures("server")
@pytest.mark.skipif(
    not shutil.which("opensc-tool"), reason="opensc-tool not installed (apt-get install opensc)"
)
def test_opensc_tool_lists_the_card() -> None:
    out = subprocess.run(["opensc-tool", "-l"], capture_output=True, text=True, timeout=10, check=True).stdout
    line = next(line for line in out.splitlines() if line.endswith(READER))
    assert "Yes" in line.split()


@pytest.mark.pcsc
@pytest.mark.usefixtures("server")
@pytest.mark.skipif(
    not shutil.which("pcsc_scan"), reason="pcsc_scan not installed (apt-get install pcsc-tools)"
)
def test_pcsc_scan_lists_reader_and_card() -> None:
    readers = subprocess.run(
        ["pcsc_scan", "-r"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    assert READER in readers
    cards = subprocess.run(["pcsc_scan", "-c", "-n"], capture_output=True, text=True, timeout=10).stdout
    assert READER in cards
    assert " ".join(f"{b:02X}" for b in ATR) in cards


# --- against a fake driver (no pcscd) --------------------------------------------------------------------


def _eventually(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_port_retries_quietly_and_stops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.vpcd")
    server = VpcdServer(
        EchoCard(), port=_closed_port(), reconnect_interval=0.05, logger=logging.getLogger("test.vpcd")
    )
    server.start()
    time.sleep(0.6)
    assert not server.connected
    attempts = [r for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(attempts) >= 5  # it keeps trying...
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # ...but warns once
    assert "is pcscd running" in warnings[0].getMessage()
    started = time.monotonic()
    assert server.join(timeout=2)
    assert time.monotonic() - started < 0.5


class FakeDriver:
    """Listens like the vpcd driver; the test drives the conversation."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(3)
        self.port = self.listener.getsockname()[1]

    def accept(self) -> socket.socket:
        conn, _ = self.listener.accept()
        conn.settimeout(3)
        return conn

    @staticmethod
    def ask(conn: socket.socket, payload: bytes) -> bytes:
        conn.sendall(frame(payload))
        (length,) = struct.unpack(">H", _recv(conn, 2))
        return _recv(conn, length)

    def close(self) -> None:
        self.listener.close()


def _recv(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        assert chunk, "server closed the connection"
        data += chunk
    return data


@pytest.fixture
def driver() -> Iterator[FakeDriver]:
    driver = FakeDriver()
    yield driver
    driver.close()


def test_protocol_against_fake_driver(driver: FakeDriver) -> None:
    card = EchoCard()
    server = VpcdServer(card, port=driver.port, reconnect_interval=0.05, poll_interval=0.05)
    server.start()
    try:
        conn = driver.accept()
        assert driver.ask(conn, b"\x04") == ATR
        conn.sendall(frame(b"\x01") + frame(b"\x02") + frame(b"\x00"))  # power on, reset, power off
        assert driver.ask(conn, bytes.fromhex("00A40000")) == bytes.fromhex("00A400009000")
        assert card.events == ["on", "reset", "off", "on"]  # a command to a card powered off powers it on
        big = bytes(4) + b"\x00\xff\xff" + bytes(65535 - 7)  # largest frame
        assert driver.ask(conn, big) == bytes.fromhex("6F00")  # response would not fit a frame
        conn.close()
    finally:
        assert server.join(timeout=2)


def test_a_card_pcscd_never_powered_answers_commands(driver: FakeDriver) -> None:
    """A card swapped in within one of pcscd's polls gets commands without a power on (01): the served
    emulator powers itself on and answers them, not 6F00 (ISO 7816-4 §5.6) for good."""
    server = VpcdServer(
        Card(get_personality("gp-se")), port=driver.port, reconnect_interval=0.05, poll_interval=0.05
    )
    server.start()
    try:
        conn = driver.accept()
        assert driver.ask(conn, bytes.fromhex("00A4040005A000000000")) == bytes.fromhex("6A82")
        conn.close()
    finally:
        assert server.join(timeout=2)


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (b"\x00\x00", "empty message"),
        (b"\x00\x10\x00\xa4", "short read"),  # header says 16 bytes, 2 arrive, then silence
        (b"\x00\x10\x00\xa4", "closed the connection mid-frame"),
    ],
)
def test_malformed_frames_reconnect(
    driver: FakeDriver, garbage: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="test.vpcd")
    card = EchoCard()
    server = VpcdServer(
        card,
        port=driver.port,
        reconnect_interval=0.05,
        poll_interval=0.05,
        frame_timeout=0.3,
        logger=logging.getLogger("test.vpcd"),
    )
    server.start()
    try:
        conn = driver.accept()
        conn.sendall(frame(b"\x01"))  # power on
        conn.sendall(garbage)
        if "closed" in reason:
            conn.close()
        conn2 = driver.accept()  # the server dropped the link and came back
        assert _eventually(lambda: server.connections == 2)
        assert driver.ask(conn2, b"\x04") == ATR
        assert card.events == ["on", "off"]  # powered off when the link dropped
        assert reason in caplog.text
        conn.close()
        conn2.close()
    finally:
        assert server.join(timeout=2)


class FaultyCard(EchoCard):
    def process(self, command: bytes) -> bytes:
        raise RuntimeError("bug in the card")


def test_handle_survives_card_faults(caplog: pytest.LogCaptureFixture) -> None:
    server = VpcdServer(FaultyCard(), logger=logging.getLogger("test.vpcd"))
    with caplog.at_level(logging.WARNING, logger="test.vpcd"):
        assert server.handle(bytes.fromhex("00A40000")) == bytes.fromhex("6F00")  # ISO 7816-4 §5.6
        assert server.handle(b"\x07") == bytes.fromhex("6F00")  # not a control code: a command, answered
    assert "bug in the card" in caplog.text


def test_silent_driver_is_reported_once(driver: FakeDriver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.vpcd")
    log = logging.getLogger("test.vpcd")
    with VpcdServer(
        EchoCard(), port=driver.port, logger=log, poll_interval=0.05, silence_warning=0.2
    ) as server:
        conn = driver.accept()
        assert _eventually(lambda: "another virtual card" in caplog.text)
        assert server.connected
        assert driver.ask(conn, b"\x04") == ATR  # still serving once the driver speaks
        conn.close()
    assert caplog.text.count("another virtual card") == 1


def test_signal_stops_the_server() -> None:
    server = VpcdServer(EchoCard(), port=_closed_port(), reconnect_interval=0.05)
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        server.install_signal_handlers((signal.SIGUSR1,))
        server.start()
        os.kill(os.getpid(), signal.SIGUSR1)
        assert _eventually(lambda: server.stopping)
        assert server.join(timeout=1)
    finally:
        signal.signal(signal.SIGUSR1, previous)


# --- commands shorter than four bytes: the served emulator answers them ----------------------------------

SHORT_COMMANDS = [b"\xa4", b"\x07", b"\xff", b"\x00\xa4", b"\x00\xa4\x04"]  # none a control code
WRONG_LENGTH = bytes.fromhex("6700")  # ISO 7816-4 §5.6
SELECT_ABSENT = bytes.fromhex("00A4040C0AD392F0002601000000FF")  # an application the card lacks: 6A82


def _emulator() -> object:
    from jpkikit.reference.emulator.build import make_card

    return make_card("gp-se")


def test_short_commands_are_answered_6700_against_fake_driver(driver: FakeDriver) -> None:
    card = _emulator()
    server = VpcdServer(card, port=driver.port, reconnect_interval=0.05, poll_interval=0.05)  # type: ignore[arg-type]
    server.start()
    try:
        conn = driver.accept()
        conn.sendall(frame(b"\x01"))  # power on
        assert driver.ask(conn, b"\x04") == card.atr  # type: ignore[attr-defined]
        for command in SHORT_COMMANDS:
            assert driver.ask(conn, command) == WRONG_LENGTH, command.hex()
        assert driver.ask(conn, SELECT_ABSENT) == bytes.fromhex("6A82")  # still in step
        conn.close()
    finally:
        assert server.join(timeout=2)


def test_a_one_byte_command_equal_to_a_control_code_is_answered_late(driver: FakeDriver) -> None:
    card = EchoCard()
    server = VpcdServer(card, port=driver.port, reconnect_interval=0.05, poll_interval=0.05, late_answer=0.3)
    server.start()
    try:
        conn = driver.accept()
        conn.sendall(frame(b"\x01"))  # a real power on: the ATR request follows at once, no late answer
        assert driver.ask(conn, b"\x04") == ATR
        time.sleep(0.5)
        conn.sendall(frame(b"\x02"))  # a real reset, then silence with no answer expected... until 0.3 s
        started = time.monotonic()
        (length,) = struct.unpack(">H", _recv(conn, 2))
        assert _recv(conn, length) == WRONG_LENGTH  # taken as a 1-byte command the driver waits on
        assert 0.3 <= time.monotonic() - started < 1.5
        assert card.events == ["on", "reset"]  # done as the control code it also is
        assert driver.ask(conn, b"\x04") == ATR  # and the conversation is still in step
        assert driver.ask(conn, b"\x00\xa4") == b"\x00\xa4\x90\x00"
        conn.close()
    finally:
        assert server.join(timeout=2)


@pytest.mark.pcsc
@pytest.mark.usefixtures("daemon")
def test_short_commands_through_pcscd_are_answered() -> None:
    with served(_emulator(), late_answer=0.5):  # type: ignore[arg-type]
        with PcscTransport(READER, timeout=5) as transport:
            for command in SHORT_COMMANDS:
                assert transport.transmit(command) == WRONG_LENGTH, command.hex()
            started = time.monotonic()
            assert transport.transmit(b"\x02") == WRONG_LENGTH  # the ambiguous one: answered late
            assert time.monotonic() - started < 3
            transport.reset()
            assert transport.transmit(SELECT_ABSENT) == bytes.fromhex("6A82")
