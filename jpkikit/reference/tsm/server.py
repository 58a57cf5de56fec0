"""The reference TSM: an HTTP server (stdlib, loopback) speaking GP Amendment B to the handset's admin agent
and a small JSON API to the JPKI app and the call centre (docs/tsm-protocol.md).

Endpoints: ``POST /orders`` (JSON: the user's signed application, steps ①-⑤) -> ``{order, admin_uri}``;
``POST /ram/<order>`` (Amendment B session running the order's flow); ``GET /orders/<order>`` (state and
result; the temporary PINs go to the app only, seed 004 p.17); ``POST /certificates/<serial>/<suspend|
release|revoke>`` (call centre); ``GET /crl/<auth|sign>``; ``GET /deletions`` (remote deletion outcomes).

Orders are the TSM's in-memory session state; certificates, bindings and status are the back end's (sqlite).
Remote deletion (seed 004 p.25) is pushed to the old device through a registered push target; when there is
none, or it fails, the outcome is recorded as "not deleted" — a normal result, not an error.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

from jpkikit.errors import KitError
from jpkikit.reference.backend import BackendError, JlisBackend
from jpkikit.reference.tsm.flows import (
    CARD_OPERATIONS,
    FLOWS,
    FlowError,
    Order,
    Script,
    SeTarget,
    new_temp_pin,
)
from jpkikit.vocab.gp.ram_script import (
    CONTENT_TYPE_SCRIPT,
    H_NEXT_URI,
    H_PROTOCOL,
    H_TARGET,
    PROTOCOL,
    ScriptError,
    decode_responses,
    encode_commands,
)

log = logging.getLogger("jpkikit.reference.tsm")

#: push(se_id, admin_uri) -> True when the device was reached (FCM push -> app -> agent, seed 004 p.25).
PushTarget = Callable[[str, str], bool]


def http_push(url: str) -> PushTarget:
    """A push target that POSTs {"se_id", "admin_uri"} as JSON to ``url`` (the kit's stand-in for FCM ->
    app -> agent); delivered when the receiver answers 2xx."""

    def push(se_id: str, admin_uri: str) -> bool:
        split = urlsplit(url)
        conn = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port or 80, timeout=60)
        try:
            body = json.dumps({"se_id": se_id, "admin_uri": admin_uri}).encode()
            conn.request("POST", split.path or "/", body=body, headers={"Content-Type": "application/json"})
            return 200 <= conn.getresponse().status < 300
        finally:
            conn.close()

    return push


@dataclass
class OrderState:
    id: str
    order: Order
    state: str = "pending"  # pending | running | done | failed
    error: str | None = None
    reason: str | None = None
    flow: Script | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def public(self) -> dict[str, Any]:
        return {
            "order": self.id,
            "operation": self.order.operation,
            "state": self.state,
            "reason": self.reason,
            "error": self.error,
            "result": self.order.result,
        }


class TsmService:
    """The TSM's logic behind the HTTP layer (also usable in-process)."""

    flows: ClassVar[dict[str, Any]] = FLOWS

    def __init__(self, backend: JlisBackend, target: SeTarget) -> None:
        self.backend = backend
        self.target = target
        self.orders: dict[str, OrderState] = {}
        self.push_targets: dict[str, PushTarget] = {}
        self.deletions: list[dict[str, Any]] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- orders --------------------------------------------------------------------------------------------

    def create_order(self, doc: dict[str, Any]) -> OrderState:
        operation = doc.get("operation")
        if operation not in self.flows:
            raise FlowError("bad-request", f"unknown operation {operation!r}")
        order = Order(operation, kinds=tuple(doc.get("kinds", ("auth", "sign"))))
        order.confirm_revoke_old = bool(doc.get("confirm_revoke_old", False))
        order.se_id = doc.get("se_id")
        order.push_url = doc.get("push_url")
        if operation in CARD_OPERATIONS:
            order.applicant = self.backend.check_application(  # steps ③-⑤
                bytes.fromhex(doc["card_certificate"]),
                bytes.fromhex(doc["application"]),
                bytes.fromhex(doc["signature"]),
            )
        state = OrderState(uuid.uuid4().hex, order)
        with self._lock:
            self.orders[state.id] = state
        return state

    def new_temp_pin(self) -> bytes:
        """A fresh random temporary PIN (seed 004 p.17); it goes to the SE under SCP03 and to the app only."""
        return new_temp_pin()

    def admin_uri(self, order_id: str) -> str:
        return f"/ram/{order_id}"

    # -- Amendment B session -------------------------------------------------------------------------------

    def ram_step(self, order_id: str, body: bytes) -> bytes | None:
        """The next command script of an order's session, or None when the session is over (HTTP 204)."""
        state = self.orders.get(order_id)
        if state is None:
            raise FlowError("unknown-order", order_id)
        with state.lock:
            if state.state in ("done", "failed"):
                return None
            try:
                if state.flow is None:
                    if body:
                        raise FlowError("protocol", "first POST of a session carried a response script")
                    state.flow = self.flows[state.order.operation](
                        state.order, self.target, self.backend, self
                    )
                    state.state = "running"
                    script = next(state.flow)
                else:
                    if not body:
                        raise FlowError("protocol", "the agent restarted the session in the middle of a flow")
                    script = state.flow.send(decode_responses(body))
            except StopIteration:
                state.state = "done"
                se_id = state.order.result.get("se_id")
                if state.order.push_url and se_id:
                    self.push_targets[se_id] = http_push(state.order.push_url)
                return None
            except (FlowError, BackendError, ScriptError) as exc:
                self._fail(state, exc)
                return None
            except KitError as exc:
                self._fail(state, FlowError("se-garbage", str(exc)))
                return None
            return encode_commands(script)

    def _fail(self, state: OrderState, exc: KitError) -> None:
        state.state, state.error = "failed", str(exc)
        state.reason = getattr(exc, "reason", "error")
        log.info("order %s (%s) failed: %s", state.id, state.order.operation, state.reason)
        if state.order.operation == "delete":
            self._record_deletion(state.order.se_id or "?", False, state.error)

    # -- remote deletion (seed 004 p.25) ----------------------------------------------------------------

    def request_remote_deletion(self, se_id: str) -> None:
        state = self.create_order({"operation": "delete", "se_id": se_id})
        push = self.push_targets.get(se_id)
        if push is None:
            self._record_deletion(se_id, False, "no push target for the old device")
            state.state = "failed"
            return

        def run() -> None:
            try:
                reached = push(se_id, self.admin_uri(state.id))
            except Exception as exc:  # a push service failure is an outcome to record, not a crash
                reached, why = False, f"push failed: {exc}"
            else:
                why = "push not delivered"
            if not reached:
                self._record_deletion(se_id, False, why)
            elif state.state == "done":
                self._record_deletion(se_id, True, None)
            elif state.state != "failed":
                self._record_deletion(se_id, False, "the device did not finish the deletion session")

        thread = threading.Thread(target=run, name=f"push-{se_id[:8]}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _record_deletion(self, se_id: str, deleted: bool, why: str | None) -> None:
        with self._lock:
            self.deletions.append(
                {"se_id": se_id, "outcome": "deleted" if deleted else "not deleted", "why": why}
            )

    def wait_idle(self, timeout: float = 30.0) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    # -- call centre -----------------------------------------------------------------------------------

    def certificate_action(self, serial: str, action: str) -> None:
        {"suspend": self.backend.suspend, "release": self.backend.release, "revoke": self.backend.revoke}[
            action
        ](serial)


class _Handler(BaseHTTPRequestHandler):
    server: TsmHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("tsm http: " + format, *args)

    def _send(self, code: int, body: bytes = b"", ctype: str = "application/json", **headers: str) -> None:
        self.send_response(code)
        if body or code != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, doc: Any) -> None:
        self._send(code, json.dumps(doc).encode())

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        tsm, parts = self.server.tsm, self.path.strip("/").split("/")
        if parts[0] == "orders" and len(parts) == 2 and parts[1] in tsm.orders:
            return self._json(200, tsm.orders[parts[1]].public())
        if parts[0] == "crl" and len(parts) == 2 and parts[1] in ("auth", "sign"):
            return self._send(200, tsm.backend.crl(parts[1]), "application/pkix-crl")
        if parts == ["deletions"]:
            return self._json(200, tsm.deletions)
        return self._json(404, {"error": "not-found"})

    def do_POST(self) -> None:
        tsm, parts, body = self.server.tsm, self.path.strip("/").split("/"), self._body()
        try:
            if parts == ["orders"]:
                state = tsm.create_order(json.loads(body or b"{}"))
                return self._json(201, {"order": state.id, "admin_uri": tsm.admin_uri(state.id)})
            if parts[0] == "ram" and len(parts) == 2:
                if self.headers.get(H_PROTOCOL) != PROTOCOL:
                    return self._json(
                        400, {"error": "protocol", "message": f"{H_PROTOCOL} must be {PROTOCOL}"}
                    )
                script = tsm.ram_step(parts[1], body)
                if script is None:
                    return self._send(204)
                target = f"//aid/{tsm.target.jpki_aid.hex().upper()}"
                headers = {H_NEXT_URI: tsm.admin_uri(parts[1]), H_TARGET: target}
                return self._send(200, script, CONTENT_TYPE_SCRIPT, **headers)
            if (
                parts[0] == "certificates"
                and len(parts) == 3
                and parts[2] in ("suspend", "release", "revoke")
            ):
                tsm.certificate_action(parts[1], parts[2])
                return self._json(200, {"serial": parts[1], "status": tsm.backend.status(parts[1])})
        except (BackendError, FlowError) as exc:
            return self._json(403, {"error": exc.reason, "message": str(exc)})
        except (KeyError, ValueError) as exc:
            return self._json(400, {"error": "bad-request", "message": str(exc)})
        return self._json(404, {"error": "not-found"})


class TsmHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tsm: TsmService, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.tsm = tsm
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TsmHttpServer:
        self._thread = threading.Thread(target=self.serve_forever, name="tsm-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
