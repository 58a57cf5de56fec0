"""The JPKI app's side towards the TSM (JSON over HTTP, docs/tsm-protocol.md) and towards the SE for the
one step the app does itself: "unblock PIN" with the temporary PIN, giving the user's new PIN (seed 004
p.17). The temporary PIN goes from the TSM to the app and never to the user or a log."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jpkikit.errors import KitError
from jpkikit.host.link import Transport
from jpkikit.secrets import Secret
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.jpki import provisioning as se

#: RESET RETRY COUNTER P2: 80 + SFI of the PIN EF (auth 0018, sign 001B; docs/spec/jpki-applet.md, file map).
PIN_P2 = {"auth": 0x98, "sign": 0x9B}


class TsmRefused(KitError):
    def __init__(self, status: int, doc: dict[str, Any]) -> None:
        super().__init__(f"TSM answered {status}: {doc.get('error')}: {doc.get('message', '')}")
        self.status, self.reason = status, doc.get("error")


class TsmClient:
    def __init__(self, tsm_url: str) -> None:
        split = urlsplit(tsm_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80

    def request(self, method: str, path: str, doc: Any = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            body = json.dumps(doc).encode() if doc is not None else None
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, doc: Any = None) -> Any:
        status, body = self.request(method, path, doc)
        parsed = json.loads(body or b"{}")
        if status >= 300:
            raise TsmRefused(status, parsed)
        return parsed

    def order(self, operation: str, **fields: Any) -> dict[str, Any]:
        return self.json("POST", "/orders", {"operation": operation, **fields})

    def order_state(self, order: str) -> dict[str, Any]:
        return self.json("GET", f"/orders/{order}")


def signed_application(
    card_cert: bytes, card_key: rsa.RSAPrivateKey, application: dict[str, Any]
) -> dict[str, str]:
    """Order fields for a card operation: the application signed with the card's signature key (step ②).
    A real app signs through the card's COMPUTE DIGITAL SIGNATURE; the kit's test card key stands in."""
    body = json.dumps(application, sort_keys=True).encode()
    signature = card_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {"card_certificate": card_cert.hex(), "application": body.hex(), "signature": signature.hex()}


def unblock_with_temp_pin(
    se_link: Transport, jpki_aid: bytes, kind: str, temp: Secret | bytes, new: Secret | bytes
) -> int:
    """The app's part of initial PIN setting (seed 004 p.17): SELECT the applet, RESET RETRY COUNTER
    temp ‖ new; returns the SW."""
    select = CommandApdu(0x00, 0xA4, 0x04, 0x0C, jpki_aid)
    ResponseApdu.parse(se_link.transmit(select.to_bytes()))
    answer = ResponseApdu.parse(se_link.transmit(se.unblock_pin(PIN_P2[kind], temp, new).to_bytes()))
    return answer.sw
