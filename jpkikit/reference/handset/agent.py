"""The handset agent (server side of docs/handset-agent-protocol.md) for the reference handset: JSON lines
over TCP on 127.0.0.1, each request answered by exactly one response; a malformed request gets a protocol
error response and the connection stays open."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable
from typing import Any

from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset import omapi
from jpkikit.reference.handset.handset import ReferenceHandset
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as p
from jpkikit.vocab.omapi.errors import OmapiError

AGENT_NAME = "jpkikit reference handset agent"


class _Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _str(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise _Bad(p.INVALID_PARAMS, f"params.{name} must be a non-empty string")
    return value


def _hex(params: dict[str, Any], name: str, optional: bool = False) -> bytes | None:
    value = params.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _Bad(p.INVALID_PARAMS, f"params.{name} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise _Bad(p.INVALID_PARAMS, f"params.{name} is not hex") from None


def _p2(params: dict[str, Any]) -> int:
    value = params.get("p2", 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
        raise _Bad(p.INVALID_PARAMS, "params.p2 must be an integer 0..255")
    return value


class Dispatcher:
    """Turns one request object into one response object; holds the handles of one connection."""

    def __init__(self, handset: ReferenceHandset, lock: threading.Lock) -> None:
        self.handset = handset
        self.lock = lock
        self.sessions: dict[str, omapi.Session] = {}
        self.channels: dict[str, omapi.Channel] = {}
        self._next = 0
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "service.hello": self.hello,
            "service.readers": self.readers,
            "reader.open_session": self.open_session,
            "session.atr": self.atr,
            "session.open_basic_channel": lambda q: self.open_channel(q, basic=True),
            "session.open_logical_channel": lambda q: self.open_channel(q, basic=False),
            "session.close_channels": self.close_channels,
            "session.close": self.close_session,
            "channel.transmit": self.transmit,
            "channel.select_response": self.select_response,
            "channel.is_closed": self.is_closed,
            "channel.close": self.close_channel,
            "testbed.se_trace": self.se_trace,
            "testbed.clear_se_trace": self.clear_se_trace,
            "testbed.store_rules": self.store_rules,
        }

    def handle_line(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return p.error(None, p.PARSE_ERROR, f"not a JSON text: {exc}")
        if not isinstance(request, dict):
            return p.error(None, p.INVALID_REQUEST, "a request must be a JSON object")
        rid = request.get("id")
        if not isinstance(rid, (int, str)) or isinstance(rid, bool):
            return p.error(None, p.INVALID_REQUEST, "id must be an integer or a string")
        if request.get("v") != p.VERSION:
            return p.error(rid, p.UNSUPPORTED_VERSION, f"this agent speaks v={p.VERSION}")
        method = request.get("method")
        params = request.get("params", {})
        if not isinstance(method, str):
            return p.error(rid, p.INVALID_REQUEST, "method must be a string")
        if not isinstance(params, dict):
            return p.error(rid, p.INVALID_REQUEST, "params must be an object")
        handler = self.methods.get(method)
        if handler is None:
            return p.error(rid, p.UNKNOWN_METHOD, f"no method {method!r}")
        try:
            with self.lock:
                return p.result(rid, handler(params))
        except _Bad as exc:
            return p.error(rid, exc.code, str(exc))
        except OmapiError as exc:
            return p.error(rid, p.CODE_OF[type(exc)], str(exc), exc.java)
        except Exception as exc:  # the agent must answer, whatever happens
            return p.error(rid, p.INTERNAL, repr(exc))

    # -- handles -----------------------------------------------------------------------------------------

    def _handle(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}{self._next}"

    def _session(self, params: dict[str, Any]) -> omapi.Session:
        handle = _str(params, "session")
        if handle not in self.sessions:
            raise _Bad(p.UNKNOWN_HANDLE, f"no session {handle!r}")
        return self.sessions[handle]

    def _channel(self, params: dict[str, Any]) -> omapi.Channel:
        handle = _str(params, "channel")
        if handle not in self.channels:
            raise _Bad(p.UNKNOWN_HANDLE, f"no channel {handle!r}")
        return self.channels[handle]

    # -- methods -------------------------------------------------------------------------------------------

    def hello(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "protocol": p.VERSION,
            "agent": AGENT_NAME,
            "identities": "any",
            "capabilities": ["testbed.se_trace", "testbed.store_rules"],
        }

    def readers(self, params: dict[str, Any]) -> dict[str, Any]:
        readers = self.handset.service.get_readers()
        return {"readers": [{"name": r.name, "present": r.is_secure_element_present()} for r in readers]}

    def open_session(self, params: dict[str, Any]) -> dict[str, Any]:
        reader = self.handset.service.reader(_str(params, "reader"))
        app = params.get("app")
        if not isinstance(app, dict) or not isinstance(app.get("hashes"), list) or not app["hashes"]:
            raise _Bad(p.INVALID_PARAMS, "params.app.hashes must be a non-empty list of hex hashes")
        try:
            hashes = tuple(bytes.fromhex(h) for h in app["hashes"])
            identity = AppIdentity(str(app.get("name", "app")), hashes)
        except (TypeError, ValueError) as exc:
            raise _Bad(p.INVALID_PARAMS, f"params.app.hashes: {exc}") from None
        handle = self._handle("s")
        self.sessions[handle] = reader.open_session(identity)
        return {"session": handle}

    def atr(self, params: dict[str, Any]) -> dict[str, Any]:
        atr = self._session(params).get_atr()
        return {"atr": atr.hex().upper() if atr else None}

    def open_channel(self, params: dict[str, Any], basic: bool) -> dict[str, Any]:
        session = self._session(params)
        aid = _hex(params, "aid", optional=True)
        p2 = _p2(params)
        opener = session.open_basic_channel if basic else session.open_logical_channel
        channel = opener(aid, p2)
        if channel is None:
            return {"channel": None, "select_response": None}
        handle = self._handle("c")
        self.channels[handle] = channel
        sr = channel.get_select_response()
        return {"channel": handle, "select_response": sr.hex().upper() if sr is not None else None}

    def close_channels(self, params: dict[str, Any]) -> dict[str, Any]:
        self._session(params).close_channels()
        return {}

    def close_session(self, params: dict[str, Any]) -> dict[str, Any]:
        self._session(params).close()
        return {}

    def transmit(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        apdu = _hex(params, "apdu")
        assert apdu is not None
        return {"response": channel.transmit(apdu).hex().upper()}

    def select_response(self, params: dict[str, Any]) -> dict[str, Any]:
        sr = self._channel(params).get_select_response()
        return {"select_response": sr.hex().upper() if sr is not None else None}

    def is_closed(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"closed": self._channel(params).is_closed()}

    def close_channel(self, params: dict[str, Any]) -> dict[str, Any]:
        self._channel(params).close()
        return {}

    def se_trace(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"commands": [c.hex().upper() for c in self.handset.se_trace()]}

    def clear_se_trace(self, params: dict[str, Any]) -> dict[str, Any]:
        self.handset.clear_se_trace()
        return {}

    def store_rules(self, params: dict[str, Any]) -> dict[str, Any]:
        docs = params.get("rules")
        if not isinstance(docs, list):
            raise _Bad(p.INVALID_PARAMS, "params.rules must be a list of rules")
        try:
            rules = [seac.rule_from_json(d) for d in docs]
        except seac.SeacError as exc:
            raise _Bad(p.INVALID_PARAMS, f"params.rules: {exc}") from None
        self.handset.store_rules(rules)
        return {}


class _Handler(socketserver.StreamRequestHandler):
    server: AgentServer

    def handle(self) -> None:
        dispatcher = Dispatcher(self.server.handset, self.server.lock)
        try:
            self._serve(dispatcher)
        finally:
            with self.server.lock:  # the connection's sessions end with it (handset-agent-protocol.md §1)
                for session in dispatcher.sessions.values():
                    session.close()

    def _serve(self, dispatcher: Dispatcher) -> None:
        while True:
            line = self.rfile.readline(p.MAX_LINE + 1)
            if not line:
                return
            if len(line) > p.MAX_LINE and not line.endswith(b"\n"):
                self.wfile.write(p.encode(p.error(None, p.LINE_TOO_LONG, f"over {p.MAX_LINE} bytes")))
                while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                    line = self.rfile.readline(p.MAX_LINE + 1)
                continue
            if not line.strip():
                continue
            self.wfile.write(p.encode(dispatcher.handle_line(line)))
            self.wfile.flush()


class AgentServer(socketserver.ThreadingTCPServer):
    """Serves ``handset`` on ``host:port`` (port 0: any free port; see :attr:`address`)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, handset: ReferenceHandset, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handset = handset
        self.lock = threading.Lock()
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    def start(self) -> AgentServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, name="handset-agent", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


def serve(handset: ReferenceHandset, host: str = "127.0.0.1", port: int = 0) -> AgentServer:
    return AgentServer(handset, host, port).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m jpkikit.reference.handset.agent``: serve the reference handset until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m jpkikit.reference.handset.agent", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=47820, help="TCP port (0: any free port)")
    parser.add_argument("--personality", default="gp-se", choices=["gp-se", "sim"])
    parser.add_argument("--state", help="emulator state file of the handset's SE")
    args = parser.parse_args(argv)
    handset = ReferenceHandset.over_emulator(args.personality, args.state)
    server = AgentServer(handset, args.host, args.port)
    host, port = server.address
    print(f"reference handset agent on {host}:{port} (protocol v{p.VERSION})", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        handset.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
