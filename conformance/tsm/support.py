"""The harness for a TSM under test (class tsm): the kit plays the handset's admin agent and the SE (an
observing emulator SE the seam provides) and the JPKI app (orders with applications
signed by the kit's
test persona card); the TSM is reached over loopback HTTP (docs/tsm-protocol.md): the reference TSM started
in-process (ixit.tsm.reference, optionally a factory for the kit's faulty variants) or ixit.tsm.url.

Remote deletion (seed 004 p.25) wakes a device through the order's ``push_url``: the harness runs a push
receiver that starts the addressed phone's agent session, or answers 503 when that phone is "offline".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from jpkikit.errors import KitError
from jpkikit.harness.profile import Profile
from jpkikit.harness.seam import kit_se, tsm_endpoint
from jpkikit.host.admin_agent import AdminAgent
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.host.tsm_driver import TsmClient

from ..provisioning.support import apsd_keys, level, signed


class Phone:
    def __init__(self, harness: TsmHarness, lie_about_r: bool = False) -> None:
        profile = harness.profile
        self.card, self.applet = kit_se(profile, lie_about_r)
        self.session = CardSession(InProcessTransport(self.card, "kit SE for the TSM"))
        self.session.reset()
        self.agent = AdminAgent(self.session.tracer, harness.url)
        self.online = True

    @property
    def obs(self) -> Any:
        return self.applet.observations

    @property
    def se_id(self) -> str:
        return str(self.applet.data["se_id"]).upper()


class TsmHarness:
    def __init__(self, profile: Profile, url: str) -> None:
        self.profile = profile
        self.required_level = level(profile)
        self.url = url
        self.client = TsmClient(self.url)
        self.phones: dict[str, Phone] = {}
        self.push = _PushReceiver(self)

    def close(self) -> None:
        self.push.stop()

    def phone(self, lie_about_r: bool = False) -> Phone:
        p = Phone(self, lie_about_r)
        self.phones[p.se_id] = p
        return p

    def run(self, phone: Phone, operation: str, **fields: Any) -> dict[str, Any]:
        if operation in ("issue", "renew", "pin-init"):
            fields = {**signed(self.profile, {"type": operation, "nonce": time.time_ns()}), **fields}
        order = self.client.order(operation, push_url=self.push.url, **fields)
        phone.agent.run(order["admin_uri"])
        return self.client.order_state(order["order"])

    def crl(self, kind: str) -> x509.CertificateRevocationList:
        status, body = self.client.request("GET", f"/crl/{kind}")
        assert status == 200, f"GET /crl/{kind} answered HTTP {status}"
        return x509.load_der_x509_crl(body)

    def deletions(self) -> list[dict[str, Any]]:
        return list(self.client.json("GET", "/deletions"))

    def wait_for(self, condition: Any, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return True
            time.sleep(0.05)
        return bool(condition())


class _PushReceiver:
    def __init__(self, harness: TsmHarness) -> None:
        outer = harness

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                phone = outer.phones.get(str(doc.get("se_id", "")).upper())
                if phone is None or not phone.online:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:  # the app wakes the agent, which runs the TSM's session before the push is answered
                    phone.agent.run(doc["admin_uri"])
                    code = 200
                except KitError:
                    code = 502
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/push"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def harness(profile: Profile, tmp_path: Path) -> Iterator[TsmHarness]:
    if not (profile.ics.tsm and profile.ics.tsm.present):
        pytest.skip("ics.tsm.present is not claimed")
    with tsm_endpoint(profile, tmp_path, apsd_keys(profile), level(profile)) as url:
        h = TsmHarness(profile, url)
        try:
            yield h
        finally:
            h.close()
