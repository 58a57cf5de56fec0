"""The handset agent (server side of docs/handset-agent-protocol.md, versions 1 and 2) for the reference
handset:
JSON lines over TCP on 127.0.0.1, each request answered by exactly one response in the request's version; a
malformed request gets a protocol error and the connection stays open.

The reference handset can act as any app identity (``"identities": "any"``): each identity a request names is
an app with its own SEService on this connection. A real agent offers only the companion apps it was built
with.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable
from typing import Any

from jpkikit.reference.apps import REFERENCE_APPS, AppIdentity
from jpkikit.reference.handset import omapi
from jpkikit.reference.handset.errors import NotAvailable
from jpkikit.reference.handset.handset import ReferenceHandset
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as p
from jpkikit.vocab.omapi.errors import IllegalArgumentError, OmapiError

AGENT_NAME = "jpkikit reference handset agent"
#: The identity of calls that name no app (service.readers in v1): the agent app itself.
AGENT_APP = AppIdentity("agent", (bytes(20),), "jp.jpkikit.agent")

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class _Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _str(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise _Bad(p.INVALID_PARAMS, f"params.{name} must be a non-empty string")
    return value


def _int(params: dict[str, Any], name: str, low: int, high: int, default: int | None = None) -> int:
    value = params.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _Bad(p.INVALID_PARAMS, f"params.{name} must be an integer {low}..{high}")
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


def _hx(value: bytes | None) -> str | None:
    return value.hex().upper() if value is not None else None


class Dispatcher:
    """Turns one request object into one response object; holds the handles of one connection."""

    def __init__(self, handset: ReferenceHandset, lock: threading.Lock) -> None:
        self.handset = handset
        self.lock = lock
        self.services: dict[str, omapi.SEService] = {}
        self.sessions: dict[str, omapi.Session] = {}
        self.channels: dict[str, omapi.Channel] = {}
        self._next = 0
        self.v = p.VERSION
        self.methods: dict[str, Handler] = {
            "service.hello": self.hello,
            "service.readers": self.readers,
            "reader.open_session": self.open_session,
            "session.atr": lambda q: {"atr": _hx(self._session(q).get_atr())},
            "session.open_basic_channel": lambda q: self.open_channel(q, basic=True),
            "session.open_logical_channel": lambda q: self.open_channel(q, basic=False),
            "session.close_channels": lambda q: self._none(self._session(q).close_channels()),
            "session.close": lambda q: self._none(self._session(q).close()),
            "channel.transmit": self.transmit,
            "channel.select_response": lambda q: {
                "select_response": _hx(self._channel(q).get_select_response())
            },
            "channel.is_closed": lambda q: {"closed": not self._channel(q).is_open()},
            "channel.close": lambda q: self._none(self._channel(q).close()),
            "testbed.se_trace": lambda q: {"commands": [c.hex().upper() for c in self.handset.se_trace()]},
            "testbed.clear_se_trace": lambda q: self._none(self.handset.clear_se_trace()),
            "testbed.store_rules": self.store_rules,
        }
        self.v2_methods: dict[str, Handler] = {
            "service.version": lambda q: {"version": self._service(q).get_version()},
            "service.is_connected": lambda q: {"connected": self._service(q).is_connected()},
            "service.uicc_reader": lambda q: {
                "reader": self._service(q).get_uicc_reader(_int(q, "slot", -(2**31), 2**31 - 1)).get_name()
            },
            "service.shutdown": lambda q: self._none(self._service(q).shutdown()),
            "reader.is_present": lambda q: {"present": self._reader(q).is_secure_element_present()},
            "reader.close_sessions": lambda q: self._none(self._reader(q).close_sessions()),
            "reader.reset": lambda q: {"reset": self._reader(q).reset()},
            "session.is_closed": lambda q: {"closed": self._session(q).is_closed()},
            "session.reader": lambda q: {"reader": self._session(q).get_reader().get_name()},
            "channel.select_next": lambda q: {"selected": self._channel(q).select_next()},
            "channel.is_basic": lambda q: {"basic": self._channel(q).is_basic_channel()},
            "channel.is_open": lambda q: {"open": self._channel(q).is_open()},
            "channel.session": self.channel_session,
            "nfc.register": self.nfc_register,
            "nfc.events": lambda q: {"events": self.handset.nfc.take(self._app(q))},
            "testbed.rule_sources": self.rule_sources,
            "testbed.se_fault": self.se_fault,
            "testbed.reset_se": lambda q: self._none(self.handset.reset_se()),
            "testbed.nfc_transaction": self.nfc_transaction,
        }

    @staticmethod
    def _none(_: object = None) -> dict[str, Any]:
        return {}

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
        v = request.get("v")
        if v not in p.VERSIONS:
            return p.error(
                rid, p.UNSUPPORTED_VERSION, f"this agent speaks v={', '.join(map(str, p.VERSIONS))}"
            )
        self.v = v
        method = request.get("method")
        params = request.get("params", {})
        if not isinstance(method, str):
            return p.error(rid, p.INVALID_REQUEST, "method must be a string", v=v)
        if not isinstance(params, dict):
            return p.error(rid, p.INVALID_REQUEST, "params must be an object", v=v)
        handler = self.methods.get(method) or (self.v2_methods.get(method) if v >= 2 else None)
        if handler is None:
            return p.error(rid, p.UNKNOWN_METHOD, f"no method {method!r} in protocol v{v}", v=v)
        try:
            with self.lock:
                return p.result(rid, handler(params), v=v)
        except _Bad as exc:
            return p.error(rid, exc.code, str(exc), v=v)
        except NotAvailable as exc:
            return p.error(rid, p.UNSUPPORTED, str(exc), v=v)
        except OmapiError as exc:
            code = p.CODE_OF[type(exc)]
            if v == 1 and code not in p.V1_OMAPI_ERRORS:
                return p.error(rid, p.INTERNAL, f"{exc.java}: {exc}", v=v)
            return p.error(rid, code, str(exc), exc.java, v=v)
        except Exception as exc:  # the agent must answer, whatever happens
            return p.error(rid, p.INTERNAL, repr(exc), v=v)

    # -- identities and handles ------------------------------------------------------------------------

    def _handle(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}{self._next}"

    def _app(self, params: dict[str, Any], required: bool = True) -> AppIdentity:
        app = params.get("app")
        if app is None and not required:
            return AGENT_APP
        if not isinstance(app, dict):
            raise _Bad(p.INVALID_PARAMS, "params.app must be an object (id, package, hashes)")
        name = app.get("id") or app.get("name")
        hashes = app.get("hashes")
        if hashes is None and isinstance(name, str) and name in REFERENCE_APPS:
            return REFERENCE_APPS[name]
        if not isinstance(hashes, list) or not hashes:
            raise _Bad(p.INVALID_PARAMS, "params.app.hashes must be a non-empty list of hex hashes")
        package = app.get("package")
        if package is not None and (not isinstance(package, str) or not package):
            raise _Bad(p.INVALID_PARAMS, "params.app.package must be a non-empty string")
        privileged = app.get("privileged", False)
        if not isinstance(privileged, bool):
            raise _Bad(p.INVALID_PARAMS, "params.app.privileged must be true or false")
        try:
            values = tuple(bytes.fromhex(h) for h in hashes)
            label = str(name or "app")
            return AppIdentity(
                label, values, package or f"jp.jpkikit.identity.{values[0].hex()[:12]}", privileged
            )
        except (TypeError, ValueError) as exc:
            raise _Bad(p.INVALID_PARAMS, f"params.app.hashes: {exc}") from None

    def _service(self, params: dict[str, Any]) -> omapi.SEService:
        app = self._app(params, required=False)
        key = f"{app.package}|{app.name}|{app.privileged}|{','.join(h.hex() for h in app.hashes)}"
        service = self.services.get(key)
        if service is None:
            service = self.services[key] = self.handset.omapi_class(
                self.handset.service, app, self.handset.android
            )
        return service

    def _reader(self, params: dict[str, Any]) -> omapi.Reader:
        name = _str(params, "reader")
        service = self._service(params)
        for reader in service.get_readers():
            if reader.get_name() == name or (name == "SIM" and reader.get_name() == "SIM1"):
                return reader
        raise IllegalArgumentError(f"Reader: {name} doesn't exist")

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

    # -- methods ---------------------------------------------------------------------------------------------

    def hello(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.v == 1:
            return {
                "protocol": 1,
                "agent": AGENT_NAME,
                "identities": "any",
                "capabilities": list(p.V1_TESTBED),
            }
        return {
            "protocol": p.VERSION,
            "versions": list(p.VERSIONS),
            "agent": AGENT_NAME,
            "android_api": self.handset.android.api,
            "identities": "any",
            "capabilities": [*p.TESTBED_METHODS, "nfc.events"],
        }

    def readers(self, params: dict[str, Any]) -> dict[str, Any]:
        readers = self._service(params).get_readers()
        return {
            "readers": [{"name": r.get_name(), "present": r.is_secure_element_present()} for r in readers]
        }

    def open_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(params.get("app"), dict):
            raise _Bad(p.INVALID_PARAMS, "params.app.hashes must be a non-empty list of hex hashes")
        reader = self._reader(params)
        handle = self._handle("s")
        self.sessions[handle] = reader.open_session()
        return {"session": handle}

    def open_channel(self, params: dict[str, Any], basic: bool) -> dict[str, Any]:
        session = self._session(params)
        aid = _hex(params, "aid", optional=True)
        p2 = _int(params, "p2", 0, 255, 0)
        opener = session.open_basic_channel if basic else session.open_logical_channel
        channel = opener(aid, p2)
        if channel is None:
            return {"channel": None, "select_response": None}
        handle = self._handle("c")
        self.channels[handle] = channel
        return {"channel": handle, "select_response": _hx(channel.get_select_response())}

    def transmit(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if self.v >= 2 and "apdu" in params and params["apdu"] is None:
            return {"response": _hx(channel.transmit(None))}
        apdu = _hex(params, "apdu")
        return {"response": _hx(channel.transmit(apdu))}

    def channel_session(self, params: dict[str, Any]) -> dict[str, Any]:
        session = self._channel(params).get_session()
        handle = next((h for h, s in self.sessions.items() if s is session), None)
        return {"session": handle}

    def store_rules(self, params: dict[str, Any]) -> dict[str, Any]:
        docs = params.get("rules")
        if not isinstance(docs, list):
            raise _Bad(p.INVALID_PARAMS, "params.rules must be a list of rules")
        try:
            rules = [seac.rule_from_json(d) for d in docs]
        except seac.SeacError as exc:
            raise _Bad(p.INVALID_PARAMS, f"params.rules: {exc}") from None
        store = self.handset.store_rules(rules)
        return {} if self.v == 1 else {"store": store}

    def rule_sources(self, params: dict[str, Any]) -> dict[str, Any]:
        selectable = params.get("selectable")
        if not isinstance(selectable, bool):
            raise _Bad(p.INVALID_PARAMS, "params.selectable must be true or false")
        self.handset.set_rule_sources(selectable)
        return {}

    def se_fault(self, params: dict[str, Any]) -> dict[str, Any]:
        fault = params.get("fault")
        if fault is not None and not isinstance(fault, str):
            raise _Bad(p.INVALID_PARAMS, "params.fault must be a string or null")
        try:
            self.handset.set_se_fault(fault)
        except Exception as exc:
            raise _Bad(p.INVALID_PARAMS, str(exc)) from None
        return {}

    def nfc_register(self, params: dict[str, Any]) -> dict[str, Any]:
        aid = _hex(params, "aid")
        assert aid is not None
        self.handset.nfc.register(self._app(params), _str(params, "reader"), aid)
        return {}

    def nfc_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        aid = _hex(params, "aid")
        data = _hex(params, "data", optional=True) or b""
        assert aid is not None
        return {"delivered": self.handset.nfc_transaction(_str(params, "reader"), aid, data)}

    def close(self) -> None:
        """The connection ended: its sessions end with it (handset-agent-protocol.md §1)."""
        for session in self.sessions.values():
            try:
                session.close()
            except Exception:
                pass


class _Handler(socketserver.StreamRequestHandler):
    server: AgentServer

    def handle(self) -> None:
        dispatcher = self.server.dispatcher_class(self.server.handset, self.server.lock)
        try:
            self._serve(dispatcher)
        finally:
            with self.server.lock:
                dispatcher.close()

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
    handler_class: type[socketserver.BaseRequestHandler] = _Handler
    dispatcher_class: type[Dispatcher] = Dispatcher

    def __init__(self, handset: ReferenceHandset, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handset = handset
        self.lock = threading.Lock()
        super().__init__((host, port), self.handler_class)
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

    from jpkikit.reference.handset.se import ACCESS_RULES
    from jpkikit.vocab.omapi.android import LATEST_API, OLDEST_API

    parser = argparse.ArgumentParser(prog="python -m jpkikit.reference.handset.agent", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=p.DEFAULT_PORT, help="TCP port (0: any free port)")
    parser.add_argument("--personality", default="gp-se", choices=["gp-se", "sim", "sim-auth"])
    parser.add_argument("--access-rules", default="aram", choices=ACCESS_RULES)
    parser.add_argument("--android-api", type=int, default=LATEST_API, choices=range(OLDEST_API, 37))
    parser.add_argument("--state", help="emulator state file of the handset's SE")
    args = parser.parse_args(argv)
    handset = ReferenceHandset.over_emulator(
        args.personality, args.state, android_api=args.android_api, access_rules=args.access_rules
    )
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
