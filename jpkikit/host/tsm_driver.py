"""The JPKI app's side of the flows (docs/tsm-protocol.md): the application it signs with the My Number
card, and the one step it does on the SE itself, "unblock PIN" with the temporary PIN, giving the user's
new PIN (seed 004 p.17 ㉛-㉟). The temporary PIN goes from the TSM to the app and never to the user or a log.

The application (seed 004 p.15 ①②, p.18 ①-④, p.20) is a JSON document the card signs
(RSASSA-PKCS1-v1_5 with SHA-256): ``type`` (the operation it is for: issue, renew, pin-init, release,
revoke-all, access-code), ``nonce`` and ``time`` (so it is used once and soon), ``s`` (for issuance: per
key kind the commitment S = H[R] the GP-SE gave the app before the card signed, seed 004 p.15), and what
else the operation needs (``serial`` of the certificate to release). A real app signs through the card's
COMPUTE DIGITAL SIGNATURE; the kit holds its test card's key.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jpkikit.host.link import Transport
from jpkikit.host.provisioning_adapter import PIN_P2
from jpkikit.secrets import Secret
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.jpki import provisioning as se

__all__ = [
    "PIN_P2",
    "SignedApplication",
    "application",
    "sign",
    "signed_application",
    "unblock_with_temp_pin",
]


@dataclass(frozen=True)
class SignedApplication:
    card_certificate: bytes  # DER of the card's signature certificate
    body: bytes  # the application as signed
    signature: bytes

    def fields(self) -> dict[str, str]:
        """The order fields of the kit's order API (hex)."""
        return {
            "card_certificate": self.card_certificate.hex(),
            "application": self.body.hex(),
            "signature": self.signature.hex(),
        }


def application(operation: str, s: dict[str, bytes] | None = None, **extra: Any) -> bytes:
    """The application document for ``operation``, fresh (nonce, time)."""
    doc: dict[str, Any] = {"type": operation, "nonce": os.urandom(16).hex(), "time": int(time.time())}
    if s:
        doc["s"] = {kind: value.hex() for kind, value in s.items()}
    doc.update(extra)
    return json.dumps(doc, sort_keys=True).encode()


def sign(card_cert: bytes, card_key: rsa.RSAPrivateKey, body: bytes) -> SignedApplication:
    signature = card_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return SignedApplication(card_cert, body, signature)


def signed_application(card_cert: bytes, card_key: rsa.RSAPrivateKey, doc: dict[str, Any]) -> dict[str, str]:
    """Order fields for ``doc`` (with its ``type``) signed by the card, freshened with a nonce and time."""
    doc = dict(doc)
    body = application(str(doc.pop("type")), doc.pop("s", None), **doc)
    return sign(card_cert, card_key, body).fields()


def unblock_with_temp_pin(
    se_link: Transport, jpki_aid: bytes, kind: str, temp: Secret | bytes, new: Secret | bytes
) -> int:
    """The app's part of initial PIN setting (seed 004 p.17): SELECT the applet, RESET RETRY COUNTER
    temp ‖ new; returns the SW."""
    select = CommandApdu(0x00, 0xA4, 0x04, 0x0C, jpki_aid)
    ResponseApdu.parse(se_link.transmit(select.to_bytes()))
    answer = ResponseApdu.parse(se_link.transmit(se.unblock_pin(PIN_P2[kind], temp, new).to_bytes()))
    return answer.sw
