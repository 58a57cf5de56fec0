"""The reference TSM: an HTTP(S) server (stdlib) speaking GP Amendment B to the handset's admin agent and a
small JSON API to the JPKI app, the call centre, J-LIS, the SP and the handset maker's server
(docs/tsm-protocol.md).

Endpoints: ``POST /orders`` (the app's requests: the card-signed application, seed 004 p.15 ①-⑤, p.18
①-⑤, p.20; or an access code and password, seed 000 §4(1) ⑩⑪) -> ``{order, admin_uri}``; ``POST
/ram/<order>`` (the Amendment B session running the order's flow); ``GET /orders/<order>`` (state and
result; the temporary PINs go to the app only, seed 004 p.17 ㉘); ``POST /certificates/<serial>/<suspend|
revoke>`` (the call centre, p.23 ①); ``POST /jlis/card-revocations`` (J-LIS revoked a card certificate:
the cascade, p.6); ``POST /access-codes`` (the SIM design's restricted-delivery mail); ``POST /sei/rules``
(the SP registers its app certificate hashes with the SEI-TSM, p.13); ``GET /crl/<auth|sign>``; ``GET
/deletions`` (remote deletion outcomes).

Everything lives in sqlite (jpkikit.reference.tsm.store): orders, their flows' journals, the last reply of
each session, push targets and deletion outcomes survive a restart, and a session interrupted by one
resumes (Amendment B: the agent posts its last request again with ``X-Admin-Resume: true``; the TSM
continues where the dialogue stopped, or sends again the reply that was lost). Remote deletion (p.25) is
pushed to the old device through its registered push target; when there is none, or it fails, the outcome
is recorded as "not deleted" — a normal result, not an error.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import ssl
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

from jpkikit.errors import KitError
from jpkikit.reference.backend import BackendError, JlisBackend
from jpkikit.reference.backend.service import CardApplicant, PhoneCertificate
from jpkikit.reference.tsm.flows import (
    CARD_OPERATIONS,
    FLOWS,
    NO_SESSION,
    TEMP_PIN_BYTES,
    FlowError,
    FlowFn,
    Order,
    SeiTarget,
    SeTarget,
    TsmOptions,
    wrap_key,
)
from jpkikit.reference.tsm.journal import JournalDiverged, decode, encode
from jpkikit.reference.tsm.runner import FlowRun
from jpkikit.reference.tsm.secure_script import ScriptChannel
from jpkikit.reference.tsm.store import TsmStore
from jpkikit.vocab.gp.ram_script import (
    CONTENT_TYPE_SCRIPT,
    H_NEXT_URI,
    H_PROTOCOL,
    H_RESUME,
    H_TARGET,
    PROTOCOL,
    ScriptError,
    decode_responses,
    encode_commands,
)
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.scp03.keys import StaticKeys

log = logging.getLogger("jpkikit.reference.tsm")

#: push(url, se_id, admin_uri) -> True when the device was reached (FCM push -> app -> agent, seed 004 p.25).
Push = Callable[[str, str, str], bool]
KINDS = ("auth", "sign")


def http_push(url: str, se_id: str, admin_uri: str) -> bool:
    """POST {"se_id", "admin_uri"} as JSON to ``url`` (the kit's stand-in for FCM -> app -> agent);
    delivered when the receiver answers 2xx."""
    split = urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port or 80, timeout=60)
    try:
        body = json.dumps({"se_id": se_id, "admin_uri": admin_uri}).encode()
        conn.request("POST", split.path or "/", body=body, headers={"Content-Type": "application/json"})
        return 200 <= conn.getresponse().status < 300
    finally:
        conn.close()


class TsmService:
    """The TSM's logic behind the HTTP layer (also usable in-process). Subclasses (the kit's faulty TSMs)
    override one hook each."""

    flows: ClassVar[dict[str, FlowFn]] = FLOWS
    push: ClassVar[Push] = staticmethod(http_push)  # type: ignore[assignment]

    def __init__(
        self,
        backend: JlisBackend,
        target: SeTarget,
        sei: SeiTarget | None = None,
        options: TsmOptions | None = None,
    ) -> None:
        self.backend = backend
        self.target = target
        self.sei = sei
        self.options = options or TsmOptions()
        self.store = TsmStore(backend.store)
        self.runs: dict[str, FlowRun] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- hooks -----------------------------------------------------------------------------------------

    def new_temp_pin(self) -> bytes:
        """A fresh random temporary PIN (seed 004 p.17 補足1), for the SE (under SCP03) and the app."""
        return os.urandom(TEMP_PIN_BYTES)

    def script_channel(
        self, keys: StaticKeys, sd_aid: bytes, level: int, draw: Callable[[int], bytes]
    ) -> ScriptChannel:
        return ScriptChannel(keys, sd_aid, level, draw=draw)

    def key_package(self, se_id: bytes, wrapped: bytes) -> bytes:
        return se.key_package(se_id, wrapped)

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        """The SIM design: the key pair made at J-LIS, wrapped at once under the SE's Key-DEK; the plain key
        is dropped here."""
        cert, key = self.backend.issue_off_card(applicant, se_id, kind)
        return cert, wrap_key(key, self.target.keys.dek)

    def registered_hashes(self, aid: bytes) -> list[bytes]:
        return self.store.hashes(aid)

    def server_tls(self, context: ssl.SSLContext | None) -> ssl.SSLContext | None:
        """The TLS context the HTTP layer serves with (None: plain HTTP)."""
        return context

    # -- orders --------------------------------------------------------------------------------------------

    def create_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        operation = doc.get("operation")
        if operation not in self.flows and operation not in NO_SESSION:
            raise FlowError("bad-request", f"unknown operation {operation!r}")
        order = Order(operation, kinds=tuple(doc.get("kinds") or KINDS))
        if any(k not in KINDS for k in order.kinds):
            raise FlowError("bad-request", f"unknown certificate kinds {order.kinds}")
        order.confirm_revoke_old = bool(doc.get("confirm_revoke_old", False))
        order.push_url = doc.get("push_url")
        if operation == "issue" and "access_code" in doc:  # the SIM design, seed 000 §4(1) ⑪
            order.applicant = self.backend.redeem_access_code(doc["access_code"], doc.get("password", ""))
        elif operation in CARD_OPERATIONS:
            order.applicant = self.check_application(doc, operation)
        order_id = uuid.uuid4().hex
        if operation in NO_SESSION:
            with self.store.transaction():
                result = self.at_once(order, doc)
                self.store.add_order(order_id, operation, _order_doc(order), "done")
                self.store.set_order(order_id, "done", result)
            self.kick_pushes()
            return {"order": order_id, "admin_uri": None, "result": result}
        self.store.add_order(order_id, operation, _order_doc(order), "pending")
        return {"order": order_id, "admin_uri": self.admin_uri(order_id)}

    def check_application(self, doc: dict[str, Any], operation: str) -> CardApplicant:
        """Seed 004 p.15 ③-⑤ / p.18 ④⑤: the card certificate and the signed application, for this
        operation, once."""
        try:
            fields = [bytes.fromhex(doc[k]) for k in ("card_certificate", "application", "signature")]
        except (KeyError, ValueError, TypeError):
            raise FlowError(
                "bad-request", "a card operation needs card_certificate, application, signature"
            ) from None
        return self.backend.check_application(*fields, operation=operation)

    def at_once(self, order: Order, doc: dict[str, Any]) -> dict[str, Any]:
        """The requests that need no SE: release (一時保留解除, p.20), revocation with the card from another
        device (p.23 ②), the access code (seed 000 ⑧⑨)."""
        applicant = order.applicant
        assert applicant is not None
        if order.operation == "release":
            serial = str(doc.get("serial", ""))
            self.backend.release(serial, applicant.serial)
            return {"released": serial}
        if order.operation == "revoke-all":
            ses = {
                c.serial: c.se_id for c in self.backend.phone_certificates(applicant.serial, live_only=True)
            }
            revoked = self.backend.revoke_all_of_card(applicant.serial, "revoked-with-card")
            for se_id in sorted({ses[s] for s in revoked}):
                self.request_remote_deletion(se_id)
            return {"revoked": revoked}
        code, password = self.backend.create_access_code(applicant)
        return {"access_code": code, "password": password}

    def admin_uri(self, order_id: str) -> str:
        return f"/ram/{order_id}"

    def order_state(self, order_id: str) -> dict[str, Any] | None:
        row = self.store.order_row(order_id)
        if row is None:
            return None
        return {
            "order": order_id,
            "operation": row["operation"],
            "state": row["state"],
            "reason": row["reason"],
            "error": row["error"],
            "result": decode(json.loads(row["result"])),
        }

    # -- the Amendment B session -----------------------------------------------------------------------------

    def _order_lock(self, order_id: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(order_id, threading.Lock())

    def ram_step(self, order_id: str, body: bytes, resume: bool = False) -> bytes | None:
        """The reply to one POST of an order's session: the next command script, or None (HTTP 204) when
        the session is over. The same request again (a resumed session, or a retry after a lost reply)
        gets the same reply; a flow that is not in memory (the TSM restarted) is rebuilt from its journal."""
        digest = hashlib.sha256(body).hexdigest()
        with self._order_lock(order_id):
            row = self.store.order_row(order_id)
            if row is None:
                raise FlowError("unknown-order", order_id)
            last = self.store.last_reply(order_id)
            if last is not None and last[0] == digest and self.accepts_again(body, resume):
                return last[1]
            if row["state"] in ("done", "failed"):
                return None
            return self._step(order_id, row, body)

    def accepts_again(self, body: bytes, resume: bool) -> bool:
        """A repeated request is answered again when the agent says it resumes, or when it carries answers
        (an agent that never saw the reply to them)."""
        return resume or bool(body)

    def _step(self, order_id: str, row: Any, body: bytes) -> bytes | None:
        """One step of the flow, committed as one transaction with everything the back end did in it."""
        digest = hashlib.sha256(body).hexdigest()
        run = self.runs.get(order_id)
        reply: bytes | None = None
        try:
            with self.store.transaction():
                order = _order_from(self.store.order_doc(order_id))
                journal = self.store.journal(order_id)
                if run is None and journal:
                    run = FlowRun.rebuild(self, order, self.flows[order.operation], journal)
                    self.runs[order_id] = run
                start = len(run.journal.entries) if run is not None else 0
                try:
                    if run is None or not run.started:
                        if body:
                            raise FlowError(
                                "protocol", "the first POST of a session carried a response script"
                            )
                        run = FlowRun(self, order, self.flows[order.operation], [])
                        self.runs[order_id] = run
                        script = run.start()
                    else:
                        if not body:
                            raise FlowError(
                                "protocol", "the agent restarted the session in the middle of a flow"
                            )
                        script = run.advance(decode_responses(body))
                except StopIteration:
                    self._finish(order_id, run, digest, start)
                else:
                    reply = encode_commands(script)
                    self.store.append_journal(order_id, start, run.journal.flush())
                    self.store.set_order(order_id, "running", run.order.result)
                    self.store.set_reply(order_id, digest, reply)
        except (FlowError, BackendError, ScriptError, JournalDiverged) as exc:
            self._fail(order_id, row["operation"], exc, digest)
            return None
        except KitError as exc:
            self._fail(order_id, row["operation"], FlowError("se-garbage", str(exc)), digest)
            return None
        if reply is None:
            self.runs.pop(order_id, None)
        self.kick_pushes()
        return reply

    def _finish(self, order_id: str, run: FlowRun | None, digest: str, start: int) -> None:
        assert run is not None
        order = run.order
        self.store.append_journal(order_id, start, run.journal.flush())
        self.store.set_order(order_id, "done", order.result)
        self.store.set_reply(order_id, digest, None)
        se_id = order.result.get("se_id")
        if order.push_url and se_id:
            self.store.set_push_target(se_id, order.push_url)
        if order.operation == "delete":
            self._record_deletion(order.se_id or str(se_id), True, None)

    def _fail(self, order_id: str, operation: str, exc: KitError, digest: str) -> None:
        reason = getattr(exc, "reason", "error")
        run = self.runs.pop(order_id, None)
        result = run.order.result if run is not None else {}
        for serial in (result.get("certificates") or {}).values():
            try:  # issued, then the SE failed: the certificate must not stay live (nothing left behind)
                self.backend.revoke(serial, "issuance-failed")
            except BackendError:
                pass  # rolled back with the failed step, or not live
        with self.store.transaction():
            self.store.set_order(order_id, "failed", result, reason, str(exc))
            self.store.set_reply(order_id, digest, None)
            if operation == "delete":
                doc = self.store.order_doc(order_id)
                self._record_deletion(str(doc.get("se_id") or "?"), False, str(exc))
        log.info("order %s (%s) failed: %s", order_id, operation, reason)
        self.kick_pushes()

    def targeted(self, order_id: str, script: bytes) -> bytes:
        """X-Admin-Targeted-Application: the application the session's scripts talk to (the last one a
        SELECT of this or an earlier script of the order named)."""
        from jpkikit.vocab.gp.ram_script import decode_commands

        found = _selected(decode_commands(script))
        if found is not None:
            return found
        for kind, value in reversed(self.store.journal(order_id)):
            if kind == "script" and (found := _selected(value)) is not None:
                return found
        return self.target.jpki_aid

    # -- remote deletion (seed 004 pp.24, 25) ------------------------------------------------------------

    def request_remote_deletion(self, se_id: str) -> str:
        """A delete order for the SE ``se_id``; its push is sent once the current step is committed."""
        order_id = uuid.uuid4().hex
        self.store.add_order(order_id, "delete", _order_doc(Order("delete", se_id=se_id)), "pending")
        return order_id

    def kick_pushes(self) -> None:
        for row in self.store.pending_deletions():
            doc = self.store.order_doc(row["id"])
            se_id = str(doc.get("se_id"))
            url = self.store.push_target(se_id)
            if not self.store.mark_pushed(row["id"]):
                continue
            if url is None:
                self._record_deletion(se_id, False, "no push target for the old device")
                self.store.set_order(row["id"], "failed", {}, "no-push-target", "no push target")
                continue
            thread = threading.Thread(
                target=self._push, args=(row["id"], se_id, url), name=f"push-{se_id[:8]}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _push(self, order_id: str, se_id: str, url: str) -> None:
        try:
            reached = self.push(url, se_id, self.admin_uri(order_id))
        except Exception as exc:  # a push service failure is an outcome to record, not a crash
            reached, why = False, f"push failed: {exc}"
        else:
            why = "push not delivered"
        self.store.mark_push_answered(order_id)
        state = (self.order_state(order_id) or {}).get("state")
        if not reached and state not in ("done", "failed"):
            self._record_deletion(se_id, False, why)
            self.store.set_order(order_id, "failed", {}, "push-failed", why)
        elif reached and state not in ("done", "failed"):
            self._record_deletion(se_id, False, "the device did not finish the deletion session")

    def _record_deletion(self, se_id: str, deleted: bool, why: str | None) -> None:
        self.store.add_deletion(se_id, deleted, why)

    def deletions(self) -> list[dict[str, Any]]:
        return self.store.deletions()

    def resume_pushes(self) -> None:
        """At start: the deletions a stop of the TSM interrupted. One whose push never got an answer and
        whose session never began is pushed again (a push sent just before the stop may never have reached
        the device: without this the old device would keep its keys and no outcome would ever be recorded,
        seed 004 p.24); one whose session began is resumed by the device's agent (Amendment B)."""
        self.store.unmark_interrupted_pushes()
        self.kick_pushes()

    def wait_idle(self, timeout: float = 30.0) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    # -- the call centre, J-LIS, the SP ------------------------------------------------------------------

    def certificate_action(self, serial: str, action: str) -> None:
        """The call centre: temporary suspension (一時保留, seed 004 pp.6, 23 ①) or revocation."""
        {"suspend": self.backend.suspend, "revoke": self.backend.revoke}[action](serial)

    def card_revoked(self, card_der: bytes) -> dict[str, Any]:
        """J-LIS revoked a card certificate: its phone certificates are revoked with it (seed 004 p.6) and
        deleted remotely (p.6 失効を受けてリモートで削除)."""
        serial, revoked = self.backend.revoke_card_certificate(card_der)
        for se_id in sorted({se_id for _, se_id in revoked}):
            self.request_remote_deletion(se_id)
        self.kick_pushes()
        return {"card": serial, "revoked": [s for s, _ in revoked]}

    def register_hashes(self, aid: bytes, hashes: list[bytes]) -> None:
        """Seed 004 p.13 ①: the SP registers the hashes of the app certificates allowed to reach ``aid``."""
        self.store.set_hashes(aid, hashes)


def _order_doc(order: Order) -> dict[str, Any]:
    return {
        "operation": order.operation,
        "applicant": order.applicant,
        "kinds": list(order.kinds),
        "confirm_revoke_old": order.confirm_revoke_old,
        "se_id": order.se_id,
        "push_url": order.push_url,
    }


def _order_from(doc: dict[str, Any]) -> Order:
    return Order(
        doc["operation"],
        doc.get("applicant"),
        tuple(doc.get("kinds") or KINDS),
        bool(doc.get("confirm_revoke_old")),
        doc.get("se_id"),
        doc.get("push_url"),
    )


class _Handler(BaseHTTPRequestHandler):
    server: TsmHttpServer
    protocol_version = "HTTP/1.1"
    # each reply is headers then body in two writes: with Nagle's algorithm the second waits for the
    # client's delayed ACK (about 40 ms per exchange on loopback)
    disable_nagle_algorithm = True

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
        if parts[0] == "orders" and len(parts) == 2:
            state = tsm.order_state(parts[1])
            if state is not None:
                return self._json(200, encode_json(state))
        if parts[0] == "crl" and len(parts) == 2 and parts[1] in KINDS:
            return self._send(200, tsm.backend.crl(parts[1]), "application/pkix-crl")
        if parts == ["deletions"]:
            return self._json(200, tsm.deletions())
        return self._json(404, {"error": "not-found"})

    def do_POST(self) -> None:
        tsm, parts, body = self.server.tsm, self.path.strip("/").split("/"), self._body()
        try:
            if parts == ["orders"]:
                return self._json(201, encode_json(tsm.create_order(json.loads(body or b"{}"))))
            if parts[0] == "ram" and len(parts) == 2:
                if self.headers.get(H_PROTOCOL) != PROTOCOL:
                    return self._json(
                        400, {"error": "protocol", "message": f"{H_PROTOCOL} must be {PROTOCOL}"}
                    )
                resume = (self.headers.get(H_RESUME) or "").strip().lower() == "true"
                script = tsm.ram_step(parts[1], body, resume)
                if script is None:
                    return self._send(204)
                target = f"//aid/{tsm.targeted(parts[1], script).hex().upper()}"
                headers = {H_NEXT_URI: tsm.admin_uri(parts[1]), H_TARGET: target}
                return self._send(200, script, CONTENT_TYPE_SCRIPT, **headers)
            if parts[0] == "certificates" and len(parts) == 3 and parts[2] in ("suspend", "revoke"):
                tsm.certificate_action(parts[1], parts[2])
                return self._json(200, {"serial": parts[1], "status": tsm.backend.status(parts[1])})
            if parts == ["jlis", "card-revocations"]:
                doc = json.loads(body or b"{}")
                return self._json(200, tsm.card_revoked(bytes.fromhex(doc["card_certificate"])))
            if parts == ["access-codes"]:
                doc = {**json.loads(body or b"{}"), "operation": "access-code"}
                return self._json(201, encode_json(tsm.create_order(doc)["result"]))
            if parts == ["sei", "rules"]:
                doc = json.loads(body or b"{}")
                tsm.register_hashes(bytes.fromhex(doc["aid"]), [bytes.fromhex(h) for h in doc["hashes"]])
                return self._json(200, {"aid": doc["aid"]})
        except (BackendError, FlowError) as exc:
            return self._json(403, {"error": exc.reason, "message": str(exc)})
        except (KeyError, ValueError, TypeError) as exc:
            return self._json(400, {"error": "bad-request", "message": str(exc)})
        return self._json(404, {"error": "not-found"})


def _selected(raw_commands: list[bytes]) -> bytes | None:
    for raw in raw_commands:
        c = CommandApdu.parse(raw)
        if c.cla == 0x00 and c.ins == 0xA4 and c.p1 == 0x04:
            return c.data
    return None


def encode_json(value: Any) -> Any:
    """Plain JSON for the API: bytes as hex."""
    plain = encode(value)

    def strip(v: Any) -> Any:
        if isinstance(v, list):
            return [strip(x) for x in v]
        if isinstance(v, dict):
            if "$b" in v:
                return v["$b"]
            if "$d" in v:
                return {k: strip(x) for k, x in v["$d"].items()}
            return {k: strip(x) for k, x in v.items()}
        return v

    return strip(plain)


class TsmHttpServer(ThreadingHTTPServer):
    """``tls``: serve HTTPS (the handshake runs in the request's thread, so a client that never completes
    one holds up nobody else)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, tsm: TsmService, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        super().__init__((host, port), _Handler)
        self.tsm = tsm
        self.tls = tsm.server_tls(tls)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.info("tsm https: handshake with %s failed: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    def start(self) -> TsmHttpServer:
        # stop() waits for serve_forever to look at its shutdown flag: with socketserver's default 0.5 s
        # poll that was half a second per server (2 s of a 12 s TSM run, issue 16)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, name="tsm-http", daemon=True
        )
        self._thread.start()
        self.tsm.resume_pushes()  # deletions a restart interrupted
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
