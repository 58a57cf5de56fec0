"""The kit's side of the handset agent protocol (docs/handset-agent-protocol.md): a client whose objects
mirror OMAPI (:class:`RemoteSession`, :class:`RemoteChannel`) and raise the same exceptions as
:mod:`jpkikit.reference.handset.omapi` when the agent reports an OMAPI exception."""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Sequence
from typing import Any

from jpkikit.errors import DeviceTimeout, DeviceUnreachable, TransportError
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as p


class HandsetClient:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> None:
        self.address = (host, port)
        try:
            self.sock = socket.create_connection(self.address, timeout=timeout)
        except OSError as exc:
            raise DeviceUnreachable(
                f"handset agent at {host}:{port} is not reachable ({exc}); is `adb forward tcp:{port} "
                f"tcp:<agent port>` set up and the agent app running?"
            ) from None
        self.file = self.sock.makefile("rwb")
        self._ids = itertools.count(1)
        #: Every exchange with the agent: {"t", "ms", "request", "response"} (evidence for the test report).
        self.log: list[dict[str, Any]] = []
        self._start = time.perf_counter()

    # -- wire ------------------------------------------------------------------------------------------

    def send_raw(self, line: bytes) -> dict[str, Any]:
        """Send one raw line (tests of malformed requests) and return the parsed response."""
        started = time.perf_counter()
        entry: dict[str, Any] = {
            "t": round(started - self._start, 6),
            "request": line.decode("utf-8", "replace"),
        }
        self.log.append(entry)
        try:
            self.file.write(line if line.endswith(b"\n") else line + b"\n")
            self.file.flush()
            answer = self.file.readline(p.MAX_LINE + 1)
        except TimeoutError:
            raise DeviceTimeout(f"handset agent at {self.address} did not answer in time") from None
        except OSError as exc:
            raise TransportError(f"handset agent connection failed: {exc}") from None
        entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
        entry["response"] = answer.decode("utf-8", "replace").rstrip("\n")
        if not answer:
            raise TransportError("handset agent closed the connection")
        try:
            message = json.loads(answer)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise p.AgentProtocolError(
                p.PARSE_ERROR, f"agent sent a non-JSON line: {answer[:80]!r}"
            ) from None
        if not isinstance(message, dict) or message.get("v") != p.VERSION:
            raise p.AgentProtocolError(p.INVALID_REQUEST, f"agent answered outside protocol v{p.VERSION}")
        return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        rid = next(self._ids)
        line = p.encode({"v": p.VERSION, "id": rid, "method": method, "params": params})
        message = self.send_raw(line)
        if message.get("id") != rid:
            raise p.AgentProtocolError(
                p.INVALID_REQUEST, f"answer id {message.get('id')!r} for request {rid}"
            )
        if "error" in message:
            err = message["error"] if isinstance(message["error"], dict) else {}
            code, text = str(err.get("code")), str(err.get("message"))
            if code in p.OMAPI_ERRORS:
                raise p.OMAPI_ERRORS[code](text)
            raise p.AgentProtocolError(code, text)
        value = message.get("result")
        if not isinstance(value, dict):
            raise p.AgentProtocolError(p.INVALID_REQUEST, "answer has neither result nor error")
        return value

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()

    # -- OMAPI ---------------------------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        return self.call("service.hello")

    def readers(self) -> list[str]:
        return [r["name"] for r in self.call("service.readers")["readers"]]

    def open_session(self, reader: str, hashes: Sequence[bytes], name: str = "app") -> RemoteSession:
        app = {"name": name, "hashes": [h.hex().upper() for h in hashes]}
        return RemoteSession(self, self.call("reader.open_session", reader=reader, app=app)["session"])

    # -- test bed (optional methods) ---------------------------------------------------------------------

    def se_trace(self) -> list[bytes]:
        return [bytes.fromhex(c) for c in self.call("testbed.se_trace")["commands"]]

    def clear_se_trace(self) -> None:
        self.call("testbed.clear_se_trace")

    def store_rules(self, rules: Sequence[seac.Rule]) -> None:
        self.call("testbed.store_rules", rules=[seac.rule_to_json(r) for r in rules])


class RemoteSession:
    def __init__(self, client: HandsetClient, handle: str) -> None:
        self.client, self.handle = client, handle

    def get_atr(self) -> bytes | None:
        atr = self.client.call("session.atr", session=self.handle)["atr"]
        return bytes.fromhex(atr) if atr else None

    def _open(self, method: str, aid: bytes | None, p2: int) -> RemoteChannel | None:
        answer = self.client.call(
            method, session=self.handle, aid=aid.hex().upper() if aid is not None else None, p2=p2
        )
        if answer["channel"] is None:
            return None
        sr = answer.get("select_response")
        return RemoteChannel(self.client, answer["channel"], bytes.fromhex(sr) if sr else None)

    def open_basic_channel(self, aid: bytes | None = None, p2: int = 0x00) -> RemoteChannel | None:
        return self._open("session.open_basic_channel", aid, p2)

    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> RemoteChannel | None:
        return self._open("session.open_logical_channel", aid, p2)

    def close_channels(self) -> None:
        self.client.call("session.close_channels", session=self.handle)

    def close(self) -> None:
        self.client.call("session.close", session=self.handle)


class RemoteChannel:
    def __init__(self, client: HandsetClient, handle: str, select_response: bytes | None) -> None:
        self.client, self.handle, self.select_response = client, handle, select_response

    def transmit(self, apdu: bytes) -> bytes:
        return bytes.fromhex(
            self.client.call("channel.transmit", channel=self.handle, apdu=apdu.hex())["response"]
        )

    def get_select_response(self) -> bytes | None:
        sr = self.client.call("channel.select_response", channel=self.handle)["select_response"]
        return bytes.fromhex(sr) if sr else None

    def is_closed(self) -> bool:
        return bool(self.client.call("channel.is_closed", channel=self.handle)["closed"])

    def close(self) -> None:
        self.client.call("channel.close", channel=self.handle)
