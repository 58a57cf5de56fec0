"""What the phone app, J-LIS, the call centre, the SP and the handset maker's server send to a TSM under
test, defined abstractly (:class:`TsmAdapter`), and the kit's own order API as one encoding of it
(:class:`KitOrderApi`, docs/tsm-protocol.md#order-api).

The Amendment B side (the TSM towards the handset's admin agent) is standard and is not adapted: the
kit's agent (jpkikit.host.admin_agent) runs every session an order opens. A TSM whose app-facing API differs
writes an adapter and names it in the profile (``ixit.tsm.adapter: module:Class``, or the name of an entry
point of the group ``jpkikit.tsm_adapters``).

Errors: a request the TSM refuses raises :class:`TsmRefused` (an outcome tests look at); a TSM that cannot
be reached or does not answer in time raises a TransportError (the verdict is inconclusive); an answer that
is not what the API defines raises :class:`TsmAnswerError` (a non-conformance).
"""

from __future__ import annotations

import http.client
import json
import ssl
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from jpkikit.errors import DeviceTimeout, DeviceUnreachable, KitError, MalformedAnswer
from jpkikit.host.tsm_driver import SignedApplication

TIMEOUT = 60.0


class TsmRefused(KitError):
    def __init__(self, status: int, doc: Mapping[str, Any]) -> None:
        super().__init__(f"TSM answered {status}: {doc.get('error')}: {doc.get('message', '')}")
        self.status, self.reason = status, doc.get("error")


class TsmAnswerError(MalformedAnswer):
    """The TSM's answer is not what its API defines."""


@dataclass(frozen=True)
class Submitted:
    order: str
    admin_uri: str | None  # None: done at once, no Amendment B session
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderOutcome:
    order: str
    state: str  # pending | running | done | failed
    reason: str | None
    error: str | None
    result: dict[str, Any]

    @property
    def done(self) -> bool:
        return self.state == "done"


class TsmAdapter(ABC):
    """One TSM's API for everything but Amendment B. ``options`` are the profile's ``ixit.tsm.options``."""

    name: ClassVar[str] = "adapter"

    def __init__(self, url: str, tls: ssl.SSLContext | None = None, options: Mapping[str, Any] | None = None):
        self.url = url
        self.tls = tls
        self.options = dict(options or {})

    # -- the JPKI app (seed 004 p.15 ①-⑤, p.18 ①-⑤, p.20; seed 000 §4(1) ⑩⑪) ---------------------------

    @abstractmethod
    def submit(
        self, operation: str, application: SignedApplication | None = None, **fields: Any
    ) -> Submitted:
        """A request of the app: issue, renew, pin-init, release, revoke-all (card-signed), revoke (from
        the phone alone), and the SEI-TSM's install / delete-applet. ``fields``: kinds, confirm_revoke_old,
        push_url (where to wake this device for a remote deletion later), serial, access_code, password."""

    @abstractmethod
    def outcome(self, order: str) -> OrderOutcome:
        """The order's state and result: SE ID, certificate serials, the temporary PINs (for the app)."""

    @abstractmethod
    def request_access_code(self, application: SignedApplication) -> tuple[str, str]:
        """The SIM design (seed 000 §4(1) ③④⑧⑨): the access code and password the restricted-delivery mail
        would bring, for a card-signed application."""

    # -- the call centre (seed 004 p.23 ①) ------------------------------------------------------------------

    @abstractmethod
    def suspend(self, serial: str) -> None:
        """一時保留 of a phone certificate (hex serial)."""

    # -- J-LIS (seed 004 p.6) -----------------------------------------------------------------------------

    @abstractmethod
    def revoke_card(self, card_certificate: bytes) -> list[str]:
        """J-LIS revoked a card certificate: the serials of the phone certificates revoked with it."""

    @abstractmethod
    def crl(self, kind: str) -> bytes:
        """The DER CRL of the ``kind`` phone certificates."""

    @abstractmethod
    def deletions(self) -> list[dict[str, Any]]:
        """Remote deletion outcomes: ``{se_id, outcome: "deleted" | "not deleted", why}``."""

    # -- the SP towards the SEI-TSM (seed 004 p.13 ①) ---------------------------------------------------

    @abstractmethod
    def register_app_hashes(self, aid: bytes, hashes: list[bytes]) -> None:
        """The app certificate hashes allowed to reach ``aid``, for the access rules the SEI-TSM stores."""

    # -- the handset maker's server (seed 004 p.26 ②③) --------------------------------------------------

    def factory_reset(self, **fields: Any) -> Submitted:
        """The maker's server asks the SEI-TSM to clear the SE of a phone being reset."""
        return self.submit("factory-reset", **fields)


class KitOrderApi(TsmAdapter):
    """The kit's order API (JSON over HTTP(S); docs/tsm-protocol.md#order-api)."""

    name = "kit order API"

    def __init__(self, url: str, tls: ssl.SSLContext | None = None, options: Mapping[str, Any] | None = None):
        super().__init__(url, tls, options)
        split = urlsplit(url)
        self.https = split.scheme == "https"
        self.host, self.port = split.hostname or "127.0.0.1", split.port or (443 if self.https else 80)

    def _connection(self) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=TIMEOUT, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def request(self, method: str, path: str, doc: Any = None) -> tuple[int, bytes]:
        conn = self._connection()
        try:
            body = json.dumps(doc).encode() if doc is not None else None
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            answer = conn.getresponse()
            return answer.status, answer.read()
        except TimeoutError as exc:
            raise DeviceTimeout(
                f"the TSM did not answer {method} {path} within {TIMEOUT:.0f} s: {exc}"
            ) from None
        except ssl.SSLError as exc:
            raise TsmAnswerError(f"TLS with the TSM failed on {method} {path}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeviceUnreachable(
                f"cannot reach the TSM at {self.url} ({method} {path}): {exc!r}"
            ) from None
        finally:
            conn.close()

    def json(self, method: str, path: str, doc: Any = None) -> Any:
        status, body = self.request(method, path, doc)
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            raise TsmAnswerError(
                f"{method} {path} answered HTTP {status} with no JSON: {body[:80]!r}"
            ) from None
        if status >= 300:
            raise TsmRefused(status, parsed if isinstance(parsed, dict) else {})
        return parsed

    def submit(
        self, operation: str, application: SignedApplication | None = None, **fields: Any
    ) -> Submitted:
        doc = {"operation": operation, **fields, **(application.fields() if application else {})}
        answer = self.json("POST", "/orders", doc)
        try:
            return Submitted(str(answer["order"]), answer.get("admin_uri"), dict(answer.get("result") or {}))
        except (KeyError, TypeError):
            raise TsmAnswerError(f"POST /orders answered {answer!r}") from None

    def outcome(self, order: str) -> OrderOutcome:
        answer = self.json("GET", f"/orders/{order}")
        try:
            return OrderOutcome(
                order,
                answer["state"],
                answer.get("reason"),
                answer.get("error"),
                dict(answer.get("result") or {}),
            )
        except (KeyError, TypeError):
            raise TsmAnswerError(f"GET /orders/{order} answered {answer!r}") from None

    def request_access_code(self, application: SignedApplication) -> tuple[str, str]:
        answer = self.json("POST", "/access-codes", application.fields())
        return str(answer["access_code"]), str(answer["password"])

    def suspend(self, serial: str) -> None:
        self.json("POST", f"/certificates/{serial}/suspend")

    def revoke_card(self, card_certificate: bytes) -> list[str]:
        answer = self.json("POST", "/jlis/card-revocations", {"card_certificate": card_certificate.hex()})
        return [str(s) for s in answer.get("revoked", [])]

    def crl(self, kind: str) -> bytes:
        status, body = self.request("GET", f"/crl/{kind}")
        if status != 200:
            raise TsmAnswerError(f"GET /crl/{kind} answered HTTP {status}")
        return body

    def deletions(self) -> list[dict[str, Any]]:
        return list(self.json("GET", "/deletions"))

    def register_app_hashes(self, aid: bytes, hashes: list[bytes]) -> None:
        self.json("POST", "/sei/rules", {"aid": aid.hex().upper(), "hashes": [h.hex() for h in hashes]})
