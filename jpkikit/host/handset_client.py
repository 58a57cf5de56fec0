"""The kit's side of the handset agent protocol (docs/handset-agent-protocol.md, versions 1 and 2): a client
whose objects mirror OMAPI (:class:`RemoteSession`, :class:`RemoteChannel`) and raise the OMAPI exception
kinds
(jpkikit.vocab.omapi.errors) when the agent reports an OMAPI exception, and
:class:`~jpkikit.vocab.omapi.agent_protocol.AgentProtocolError` for protocol errors.

The client speaks version 2 and falls back to version 1 when the agent answers ``unsupported_version``.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jpkikit.errors import DeviceTimeout, DeviceUnreachable, TransportError
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as p


@dataclass(frozen=True)
class AppRef:
    """The app identity a call is made as: its name for reports, its signing-certificate hashes, its package
    name, whether it holds SECURE_ELEMENT_PRIVILEGED_OPERATION (docs/handset-agent-protocol.md §5)."""

    name: str
    hashes: tuple[bytes, ...]
    package: str | None = None
    privileged: bool = False

    def wire(self, v: int) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "hashes": [h.hex().upper() for h in self.hashes]}
        if v >= 2:
            out["id"] = self.name
            if self.package:
                out["package"] = self.package
            if self.privileged:
                out["privileged"] = True
        return out


class HandsetClient:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0, version: int = p.VERSION
    ):
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
        self.v = version
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
        if not isinstance(message, dict) or message.get("v") not in p.VERSIONS:
            raise p.AgentProtocolError(p.INVALID_REQUEST, "agent answered outside protocol v1/v2")
        return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        rid = next(self._ids)
        message = self.send_raw(p.encode({"v": self.v, "id": rid, "method": method, "params": params}))
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
        if message.get("v") != self.v:
            raise p.AgentProtocolError(
                p.INVALID_REQUEST, f"a v{self.v} request answered in v{message.get('v')}"
            )
        value = message.get("result")
        if not isinstance(value, dict):
            raise p.AgentProtocolError(p.INVALID_REQUEST, "answer has neither result nor error")
        return value

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sock.close()

    # -- service -------------------------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """service.hello in the newest version both sides speak (v2, else v1)."""
        try:
            return self.call("service.hello")
        except p.AgentProtocolError as exc:
            if exc.code != p.UNSUPPORTED_VERSION or self.v == 1:
                raise
            self.v = 1
            return self.call("service.hello")

    def _app(self, app: AppRef | None) -> dict[str, Any]:
        return {} if app is None else {"app": app.wire(self.v)}

    def readers(self, app: AppRef | None = None) -> list[str]:
        return [r["name"] for r in self.call("service.readers", **self._app(app))["readers"]]

    def readers_present(self, app: AppRef | None = None) -> dict[str, bool]:
        return {
            r["name"]: bool(r["present"]) for r in self.call("service.readers", **self._app(app))["readers"]
        }

    def version(self, app: AppRef | None = None) -> str:
        return str(self.call("service.version", **self._app(app))["version"])

    def is_connected(self, app: AppRef | None = None) -> bool:
        return bool(self.call("service.is_connected", **self._app(app))["connected"])

    def uicc_reader(self, slot: int, app: AppRef | None = None) -> str:
        return str(self.call("service.uicc_reader", slot=slot, **self._app(app))["reader"])

    def shutdown(self, app: AppRef | None = None) -> None:
        self.call("service.shutdown", **self._app(app))

    def open_session(self, reader: str, hashes: Sequence[bytes] | AppRef, name: str = "app") -> RemoteSession:
        app = hashes if isinstance(hashes, AppRef) else AppRef(name, tuple(hashes))
        handle = self.call("reader.open_session", reader=reader, app=app.wire(self.v))["session"]
        return RemoteSession(self, handle)

    def reader_present(self, reader: str, app: AppRef | None = None) -> bool:
        return bool(self.call("reader.is_present", reader=reader, **self._app(app))["present"])

    def close_sessions(self, reader: str, app: AppRef) -> None:
        self.call("reader.close_sessions", reader=reader, **self._app(app))

    def reset_reader(self, reader: str, app: AppRef) -> bool:
        return bool(self.call("reader.reset", reader=reader, **self._app(app))["reset"])

    # -- NFC -----------------------------------------------------------------------------------------------

    def nfc_register(self, app: AppRef, reader: str, aid: bytes) -> None:
        self.call("nfc.register", reader=reader, aid=aid.hex().upper(), **self._app(app))

    def nfc_events(self, app: AppRef) -> list[dict[str, str]]:
        return list(self.call("nfc.events", **self._app(app))["events"])

    # -- test bed (optional methods) ---------------------------------------------------------------------

    def se_trace(self) -> list[bytes]:
        return [bytes.fromhex(c) for c in self.call("testbed.se_trace")["commands"]]

    def clear_se_trace(self) -> None:
        self.call("testbed.clear_se_trace")

    def store_rules(self, rules: Sequence[seac.Rule]) -> None:
        self.call("testbed.store_rules", rules=[seac.rule_to_json(r) for r in rules])

    def rule_sources(self, selectable: bool) -> None:
        self.call("testbed.rule_sources", selectable=selectable)

    def se_fault(self, fault: str | None) -> None:
        self.call("testbed.se_fault", fault=fault)

    def reset_se(self) -> None:
        self.call("testbed.reset_se")

    def nfc_transaction(self, reader: str, aid: bytes, data: bytes = b"") -> list[str]:
        answer = self.call(
            "testbed.nfc_transaction", reader=reader, aid=aid.hex().upper(), data=data.hex().upper()
        )
        return [str(n) for n in answer["delivered"]]


class RemoteSession:
    def __init__(self, client: HandsetClient, handle: str) -> None:
        self.client, self.handle = client, handle

    def get_atr(self) -> bytes | None:
        atr = self.client.call("session.atr", session=self.handle)["atr"]
        return bytes.fromhex(atr) if atr else None

    def is_closed(self) -> bool:
        return bool(self.client.call("session.is_closed", session=self.handle)["closed"])

    def reader(self) -> str:
        return str(self.client.call("session.reader", session=self.handle)["reader"])

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

    def transmit(self, apdu: bytes | None) -> bytes:
        wire = apdu.hex() if apdu is not None else None
        return bytes.fromhex(self.client.call("channel.transmit", channel=self.handle, apdu=wire)["response"])

    def get_select_response(self) -> bytes | None:
        sr = self.client.call("channel.select_response", channel=self.handle)["select_response"]
        return bytes.fromhex(sr) if sr else None

    def is_closed(self) -> bool:
        return bool(self.client.call("channel.is_closed", channel=self.handle)["closed"])

    def is_open(self) -> bool:
        return bool(self.client.call("channel.is_open", channel=self.handle)["open"])

    def is_basic_channel(self) -> bool:
        return bool(self.client.call("channel.is_basic", channel=self.handle)["basic"])

    def select_next(self) -> bool:
        return bool(self.client.call("channel.select_next", channel=self.handle)["selected"])

    def session(self) -> str | None:
        handle = self.client.call("channel.session", channel=self.handle)["session"]
        return str(handle) if handle is not None else None

    def close(self) -> None:
        self.client.call("channel.close", channel=self.handle)
