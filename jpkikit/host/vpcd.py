"""Serve a SimulatedCard to pcscd through the vsmartcard ``vpcd`` reader driver (docs/architecture.md, host
layer).

Once served, pcscd, OpenSC and any PC/SC application see the emulator as a card in a virtual reader.

The vpcd protocol, as implemented by the ``libifdvpcd`` driver (vsmartcard 3.3) and checked against it
on the kit's CI image:

* pcscd loads the driver from ``/etc/reader.conf.d/vpcd`` (``DEVICENAME /dev/null:0x8C7B``). The driver
  *listens* on TCP port 0x8C7B = 35963 for slot 0 (reader ``Virtual PCD 00 00``) and 35964 for slot 1
  (``Virtual PCD 00 01``), on all interfaces; the virtual card *connects* to it.
* Every message, both ways, is a 2-byte big-endian length followed by that many bytes.
* A 1-byte message from the driver is a control code: 00 power off, 01 power on, 02 warm reset (no
  answer) and 04 get ATR (answered with the framed ATR). pcscd polls with 04 every ~0.4 s to detect the
  card; a closed connection or an empty answer means "card removed". After 01 and 02 the driver always
  asks for the ATR (04) at once.
* Any other message is a command APDU, answered with the framed response APDU. The driver passes an
  application's command through unchanged, whatever its length, so a command of 1, 2 or 3 bytes arrives
  too: it goes to the card like any other (the kit's emulator answers 6700, wrong length, ISO/IEC 7816-4
  §5.6: a command needs at least CLA INS P1 P2). A 1-byte message that is not one of the four control
  codes is such a command.
* The one ambiguity of the framing: a 1-byte command equal to a control code (00, 01, 02, 04) cannot be
  told from that control code, so it is taken as one. 04 is answered with the ATR, which the application
  gets as its response. 00, 01 and 02 are done (power off, power on, reset) and get no answer at first;
  if the driver then sends nothing for :data:`LATE_ANSWER` seconds (the ATR request that follows a real
  01 or 02 comes at once, pcscd's 04 polls follow a real 00 within ~0.4 s, and none comes while the
  driver waits for an answer) the message was a command after all, and it is answered 6700 then. The
  card has been powered off, powered on or reset by it.
* The driver accepts one card per slot (a second one waits in the listen backlog, silently) and has no
  receive timeout: a card that never answers blocks that reader in pcscd until the connection closes.
* A card that replaces another on a slot within one of pcscd's polls is not seen as a new card: pcscd
  keeps the old one's state, and sends commands without the power on (01) a new card gets. A command
  that finds the served card unpowered therefore powers it on first (what the reader would have done
  for the card pcscd believes is there); a card that answered 6F00 instead was unusable on that slot
  until pcscd noticed the swap, which it may never do.
* The driver writes the length and the payload with two send() calls (Nagle on), so the card side must
  ACK the length at once (TCP_QUICKACK) or every exchange costs a ~40 ms delayed ACK. The payload needs no
  ACK of its own when an answer follows (the answer carries it); a message without an answer (power off,
  power on, reset) is ACKed at once too, or the driver's next message would wait out the delayed ACK.
"""

from __future__ import annotations

import logging
import signal
import socket
import struct
import threading
import time
from enum import IntEnum
from pathlib import Path
from typing import NoReturn, Self

from jpkikit.errors import CardAbsent, DeviceUnreachable, KitError, TransportError
from jpkikit.host.link import SimulatedCard
from jpkikit.host.pcsc import list_readers

VPCD_PORT = 0x8C7B  # 35963, from DEVICENAME /dev/null:0x8C7B
VPCD_READER = "Virtual PCD 00 00"
VPCD_CONFIG = Path("/etc/reader.conf.d/vpcd")
SW_NO_PRECISE_DIAGNOSIS = bytes.fromhex("6F00")  # ISO 7816-4 §5.6: what a card says when it fails inside
SW_WRONG_LENGTH = bytes.fromhex("6700")  # ISO 7816-4 §5.6: the late answer to a 1-byte 00, 01 or 02 command
#: Seconds of silence after an unanswered 1-byte 00, 01 or 02 after which it is answered as a command.
LATE_ANSWER = 2.0

_LOG = logging.getLogger(__name__)
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class Control(IntEnum):
    """vpcd control codes (1-byte messages from the driver)."""

    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    GET_ATR = 0x04


CONTROL_CODES = frozenset(int(code) for code in Control)
#: Control codes the driver sends without waiting for an answer.
_UNANSWERED = frozenset((Control.POWER_OFF, Control.POWER_ON, Control.RESET))


def reader_name(port: int = VPCD_PORT) -> str:
    """The PC/SC reader name pcscd gives the vpcd slot served on ``port`` (default reader.conf)."""
    slot = port - VPCD_PORT
    if slot not in (0, 1):
        raise KitError(f"port {port} is not a vpcd slot of the default configuration (35963 or 35964)")
    return f"Virtual PCD 00 {slot:02X}"


def driver_installed() -> bool:
    """True when pcscd is configured to load the vpcd driver and the driver library exists."""
    try:
        config = VPCD_CONFIG.read_text()
    except OSError:
        return False
    for line in config.splitlines():
        key, _, value = line.strip().partition(" ")
        if key == "LIBPATH":
            return Path(value.strip()).is_file()
    return False


def frame(payload: bytes) -> bytes:
    """One vpcd message: 2-byte big-endian length ‖ payload."""
    if len(payload) > 0xFFFF:
        raise TransportError(f"vpcd message of {len(payload)} bytes does not fit a 2-byte length")
    return struct.pack(">H", len(payload)) + payload


def _quick_ack(sock: socket.socket) -> None:
    """ACK at once (Linux TCP_QUICKACK, which the kernel clears again, hence after every recv).

    The driver writes the 2-byte length and the payload with two send() calls on a socket with Nagle's
    algorithm on, so the payload waits for our ACK of the length; with a delayed ACK every message would
    cost ~40 ms.
    """
    if _TCP_QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            pass


def _timeval(seconds: float) -> bytes:
    """A ``struct timeval`` for SO_RCVTIMEO / SO_SNDTIMEO (at least 1 µs: 0 would mean no timeout)."""
    whole = int(seconds)
    return struct.pack("@ll", whole, max(int((seconds - whole) * 1e6), 0 if whole else 1))


class _Dropped(Exception):
    """The connection ended; ``str()`` says why."""


_STOPPED = "stopped"


class VpcdServer:
    """Connects ``card`` to the vpcd driver and answers it until stopped, reconnecting as needed.

    The same card object is served across connections, so its state survives pcscd restarts; when the
    connection drops the card is powered off, as a card taken out of a reader would be.

    ``stop()`` (from another thread or a signal handler) ends ``serve_forever()`` within about
    ``poll_interval`` seconds, unless the card is inside ``process()``.
    """

    def __init__(
        self,
        card: SimulatedCard,
        host: str = "127.0.0.1",
        port: int = VPCD_PORT,
        reconnect_interval: float = 1.0,
        logger: logging.Logger | None = None,
        *,
        poll_interval: float = 0.2,
        frame_timeout: float = 5.0,
        late_answer: float = LATE_ANSWER,
        connect_timeout: float = 2.0,
        silence_warning: float = 5.0,
        reminder_interval: float = 60.0,
    ) -> None:
        self.card = card
        self.host, self.port = host, port
        self.reconnect_interval = reconnect_interval
        self.log = logger or _LOG
        self.poll_interval = poll_interval
        self.frame_timeout = frame_timeout
        self.late_answer = late_answer
        self.connect_timeout = connect_timeout
        self.silence_warning = silence_warning
        self.reminder_interval = reminder_interval
        #: Number of successful connections so far (a reconnect after a pcscd restart adds one).
        self.connections = 0
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._powered = False
        self._messages = 0  # messages received on the current connection
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait until the server is connected to the driver; False on timeout."""
        return self._connected.wait(timeout)

    # -- message handling (no sockets: unit-testable) --

    def handle(self, message: bytes) -> bytes | None:
        """The card's answer to one driver message (unframed), or None when none is due.

        Raises _Dropped for messages that mean the link is broken (empty message), and when the card's own
        link fails (a TransportError from a card that relays to another one, such as the mutation proxy):
        the card then leaves the reader, as a card whose contacts broke would.
        """
        if not message:
            raise _Dropped("the driver sent an empty message, which the vpcd protocol never uses")
        if len(message) == 1 and message[0] in CONTROL_CODES:
            return self._control(message[0])
        return self._command(message)

    def _command(self, message: bytes) -> bytes:
        """The card's answer to a command APDU, of whatever length (the card answers a short one 6700).

        A command that finds the card unpowered powers it on first: the driver passes a command only when
        pcscd believes the card powered, and pcscd can believe so of a card it never powered (see the
        module docstring: a card swapped within one of its polls)."""
        if not self._powered:
            self.log.info("a command reached the card while it was powered off: powering it on first")
            self._control(Control.POWER_ON)
        try:
            response = self.card.process(message)
        except TransportError as exc:
            raise _Dropped(f"the card lost its own link: {exc}") from exc
        except Exception:  # the card must not raise (SimulatedCard contract); keep the link up anyway
            self.log.exception("the card raised on APDU %s; answering 6F00", message.hex().upper())
            return SW_NO_PRECISE_DIAGNOSIS
        if type(response) is not bytes:
            response = bytes(response)
        if not 2 <= len(response) <= 0xFFFF:
            self.log.error(
                "the card answered APDU %s with %d bytes (need SW1 SW2, at most 65535); answering 6F00",
                message.hex().upper(),
                len(response),
            )
            return SW_NO_PRECISE_DIAGNOSIS
        return response

    def _control(self, code: int) -> bytes | None:
        try:
            if code == Control.GET_ATR:
                atr = bytes(self.card.atr)
                if not atr:
                    raise _Dropped("the card has an empty ATR (the driver would take it as removed)")
                return atr
            if code == Control.POWER_ON:
                self.log.debug("power on")
                self.card.power_on()
                self._powered = True
            elif code == Control.POWER_OFF:
                self.log.debug("power off")
                self.card.power_off()
                self._powered = False
            elif code == Control.RESET:
                self.log.debug("warm reset")
                self.card.reset()
                self._powered = True
        except _Dropped:
            raise
        except Exception as exc:
            raise _Dropped(f"the card raised on control code {code:02X}: {exc!r}") from exc
        return None

    # -- one connection --

    def _recv_rest(
        self, sock: socket.socket, n: int, first: bytes | None, *, idle_ok: bool, late: bytes | None
    ) -> bytes:
        """``n`` bytes from ``sock`` when the first recv() (in :meth:`_serve_connection`) gave ``first``,
        which is not all of them (None: it timed out; empty: the driver closed the connection). Data is
        ACKed as it comes. ``idle_ok``: waiting for a new message, so no deadline applies. ``late``: an
        unanswered 1-byte control code, answered 6700 once the driver is silent for ``late_answer`` seconds
        (see the module docstring)."""
        data = bytearray()
        started = time.monotonic()
        warned = False
        chunk = first
        while True:
            if chunk is not None:
                if not chunk:
                    where = "mid-frame" if data or not idle_ok else "between messages"
                    raise _Dropped(f"the driver closed the connection {where} (pcscd stopped or restarted?)")
                _quick_ack(sock)
                data += chunk
                if len(data) >= n:
                    return bytes(data)
            else:
                waited = time.monotonic() - started
                if late is not None and not data and waited >= self.late_answer:
                    self.log.warning(
                        "the driver is silent %.1f s after control code %s: it was a 1-byte command; "
                        "answering 6700",
                        waited,
                        late.hex().upper(),
                    )
                    late = None
                    self._send(sock, SW_WRONG_LENGTH)
                elif data or not idle_ok:
                    if waited > self.frame_timeout:
                        raise _Dropped(
                            f"short read: {len(data)} of {n} bytes, then nothing for {waited:.1f} s"
                        ) from None
                elif not warned and self._messages == 0 and waited > self.silence_warning:
                    warned = True
                    self.log.warning(
                        "connected to %s but the driver has sent nothing for %.0f s: another virtual card "
                        "may already occupy this vpcd slot",
                        self.address,
                        waited,
                    )
            if self._stop.is_set():
                raise _Dropped(_STOPPED)
            try:
                chunk = sock.recv(n - len(data))
            except BlockingIOError:
                chunk = None
            except OSError as exc:
                raise _Dropped(f"socket error: {exc}") from exc

    @staticmethod
    def _send(sock: socket.socket, answer: bytes) -> None:
        try:
            sock.sendall(frame(answer))
        except OSError as exc:  # including BlockingIOError: SO_SNDTIMEO expired
            raise _Dropped(f"socket error while answering: {exc}") from exc

    def _serve_connection(self, sock: socket.socket) -> NoReturn:
        """Answer driver messages until the connection drops (raises _Dropped with the reason).

        The socket blocks, with a kernel receive timeout of ``poll_interval`` (SO_RCVTIMEO): a message that
        is there is one recv() call with no poll() before it, and an idle wait still wakes up every
        ``poll_interval`` to look at stop() and the deadlines. The steady state, a command APDU whose length
        and payload are there when asked for, runs inline here: a served card's round trip is a few dozen
        µs, so every call on this path shows (issue 16). A timeout, a short read or a closed connection
        takes :meth:`_recv_rest`; control codes, 1-byte commands and an empty message take :meth:`handle`.
        """
        self._messages = 0
        late: bytes | None = None
        recv, setsockopt = sock.recv, sock.setsockopt
        rest, handle, command, send, stop = (
            self._recv_rest,
            self.handle,
            self._command,
            self._send,
            self._stop,
        )
        quickack = _TCP_QUICKACK
        tcp = socket.IPPROTO_TCP
        while True:
            head: bytes | None
            try:
                head = recv(2)
                if quickack is not None and len(head) == 2:
                    setsockopt(tcp, quickack, 1)  # the driver holds the payload back until this ACK
            except BlockingIOError:  # SO_RCVTIMEO expired: nothing came in poll_interval
                head = None
            except OSError as exc:
                raise _Dropped(f"socket error: {exc}") from exc
            if head is None or len(head) != 2:
                head = rest(sock, 2, head, idle_ok=True, late=late)
            length = (head[0] << 8) | head[1]
            message = b""
            if length:  # the payload needs no ACK of its own: the answer carries it
                got: bytes | None
                try:
                    got = recv(length)
                except BlockingIOError:
                    got = None
                except OSError as exc:
                    raise _Dropped(f"socket error: {exc}") from exc
                message = (
                    got
                    if got is not None and len(got) == length
                    else rest(sock, length, got, idle_ok=False, late=None)
                )
            self._messages += 1
            # a command APDU (two bytes or more) straight to the card; control codes, 1-byte commands and an
            # empty message through handle()
            answer = command(message) if length > 1 else handle(message)
            if answer is not None:
                send(sock, answer)  # the answer ACKs the message
                late = None
            else:  # no answer to ACK it: ACK now, or the driver's next message waits out a delayed ACK
                _quick_ack(sock)
                late = message if len(message) == 1 and message[0] in _UNANSWERED else None
            if stop.is_set():
                raise _Dropped(_STOPPED)

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise DeviceUnreachable(
                f"cannot connect to the vpcd driver at {self.address}: {exc.strerror or exc}"
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one small frame per exchange
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)  # notice a vanished remote host
        sock.settimeout(None)  # blocking: the kernel's timeouts below bound each call instead of poll()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(self.poll_interval))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(self.frame_timeout))
        _quick_ack(sock)
        return sock

    def serve_once(self) -> str:
        """Connect once and serve until the connection ends or stop(); returns why it ended.

        Raises DeviceUnreachable when the driver cannot be reached at all.
        """
        sock = self._connect()
        self.connections += 1
        self._connected.set()
        self.log.info("connected to the vpcd driver at %s; the card is now in the reader", self.address)
        try:
            self._serve_connection(sock)
        except _Dropped as exc:
            return str(exc)
        finally:
            self._connected.clear()
            sock.close()
            if self._powered:  # the card leaves the reader: it loses power (7816-3 deactivation)
                self._powered = False
                try:
                    self.card.power_off()
                except Exception:
                    self.log.exception("the card raised on power off")

    # -- the loop --

    def serve_forever(self, first_connect_within: float | None = None) -> None:
        """Serve the card until stop(), reconnecting whenever the connection cannot be made or drops.

        With ``first_connect_within``, raise DeviceUnreachable if no connection at all was made in that
        many seconds (a wrong host or port is a user error); once connected, drops are retried forever
        (pcscd restarting). Returns at once if stop() was already called (start() clears that).
        """
        failures, first_failure, last_reminder = 0, 0.0, 0.0
        last_drop = ""
        while not self._stop.is_set():
            connected_at = time.monotonic()
            try:
                reason = self.serve_once()
            except DeviceUnreachable as exc:
                now = time.monotonic()
                failures += 1
                if failures == 1:
                    first_failure = last_reminder = now
                if (
                    first_connect_within is not None
                    and self.connections == 0
                    and now - first_failure >= first_connect_within
                ):
                    raise DeviceUnreachable(
                        f"{exc}; gave up after {first_connect_within:g} s. Is pcscd running with the "
                        f"vsmartcard-vpcd driver ({VPCD_CONFIG}), and is the port right?"
                    ) from None
                if failures == 1:
                    self.log.warning(
                        "%s; is pcscd running with the vpcd driver (%s)? Retrying every %g s",
                        exc,
                        VPCD_CONFIG,
                        self.reconnect_interval,
                    )
                elif now - last_reminder >= self.reminder_interval:
                    last_reminder = now
                    self.log.warning(
                        "still cannot reach the vpcd driver at %s after %d attempts over %.0f s; retrying",
                        self.address,
                        failures,
                        now - first_failure,
                    )
                else:
                    self.log.debug("%s (attempt %d)", exc, failures)
            else:
                failures = 0
                if reason == _STOPPED:
                    break
                # A link that keeps dropping for the same reason right after connecting is logged once.
                flapping = reason == last_drop and time.monotonic() - connected_at < self.reminder_interval
                last_drop = reason
                self.log.log(
                    logging.DEBUG if flapping else logging.WARNING,
                    "connection to the vpcd driver lost: %s; the card is out of the reader; reconnecting",
                    reason,
                )
            self._stop.wait(self.reconnect_interval)
        self.log.info("vpcd server for %s stopped", self.address)

    def stop(self) -> None:
        """Ask serve_forever() to return (safe from any thread and from signal handlers)."""
        self._stop.set()

    def start(self) -> threading.Thread:
        """Run serve_forever() in a daemon thread and return it."""
        if self._thread is not None and self._thread.is_alive():
            raise KitError(f"the vpcd server for {self.address} is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.serve_forever, name=f"vpcd {self.address}", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> bool:
        """Stop and wait for the thread started by start(); True when it has ended."""
        self.stop()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def install_signal_handlers(self, signums: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Make these signals stop the server (call from the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            raise KitError("signal handlers can only be installed from the main thread")
        for signum in signums:
            signal.signal(signum, lambda _signum, _frame: self.stop())

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join(timeout=self.poll_interval * 5 + 1)


def _wait_for(reader: str, present: bool, timeout: float, poll_interval: float) -> bytes:
    deadline = time.monotonic() + timeout
    last_error: TransportError | None = None
    seen_reader = False
    while True:
        remaining = deadline - time.monotonic()
        try:
            infos = {info.name: info for info in list_readers(timeout=max(remaining, poll_interval))}
            last_error = None
            info = infos.get(reader)
            seen_reader = seen_reader or info is not None
            if info is not None and info.card_present == present:
                return info.atr
            if info is None and not present:  # no reader, no card
                return b""
        except TransportError as exc:  # pcscd restarting: keep polling until the deadline
            last_error = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_interval)
    if last_error is not None:
        raise last_error
    state = "present" if present else "removed"
    if not seen_reader:
        raise CardAbsent(
            f"reader {reader!r} did not appear within {timeout:g} s, so the card cannot be {state} "
            f"(is the vpcd driver configured in {VPCD_CONFIG}?)"
        )
    raise CardAbsent(f"the card in {reader!r} was not {state} within {timeout:g} s")


def wait_for_card(reader: str = VPCD_READER, timeout: float = 10.0, poll_interval: float = 0.1) -> bytes:
    """Wait until pcscd sees a card in ``reader``; returns its ATR.

    Raises CardAbsent on timeout (or DeviceUnreachable if pcscd never answered).
    """
    return _wait_for(reader, True, timeout, poll_interval)


def wait_for_card_removed(
    reader: str = VPCD_READER, timeout: float = 10.0, poll_interval: float = 0.1
) -> None:
    """Wait until pcscd sees no card in ``reader`` (e.g. after stopping a VpcdServer)."""
    _wait_for(reader, False, timeout, poll_interval)
