"""The floor of a served card: a virtual card for the vsmartcard vpcd driver that answers every command
APDU with 6A82 and does nothing else.

The vpcd framing (the kit's own account of it is in jpkikit/host/vpcd.py): every message is a 2-byte
big-endian length and that many bytes; a 1-byte message from the driver is a control code (00 power off,
01 power on, 02 reset: no answer; 04: the ATR). It ACKs at once after every read (TCP_QUICKACK, since
the driver sends length and payload in two writes) and sends each answer in one write (TCP_NODELAY), as
any card served to vpcd must to avoid a delayed-ACK stall; there is nothing else it could leave out.

Run: python benchmarks/minimal_vpcd_card.py PORT ATR_HEX
"""

from __future__ import annotations

import socket
import sys
import time

GET_ATR = 0x04
FILE_NOT_FOUND = b"\x00\x02\x6a\x82"  # framed 6A82


def read_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("vpcd closed the connection")
        out += chunk
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    return out


def connect(port: int, within: float = 10.0) -> socket.socket:
    deadline = time.monotonic() + within
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def serve(port: int, atr: bytes) -> None:
    sock = connect(port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    framed_atr = len(atr).to_bytes(2, "big") + atr
    while True:
        length = int.from_bytes(read_exactly(sock, 2), "big")
        message = read_exactly(sock, length)
        if length == 1:
            if message[0] == GET_ATR:
                sock.sendall(framed_atr)
            continue  # power off / on / reset: no answer
        sock.sendall(FILE_NOT_FOUND)


if __name__ == "__main__":
    try:
        serve(int(sys.argv[1]), bytes.fromhex(sys.argv[2]))
    except (ConnectionError, KeyboardInterrupt):
        pass
