"""The simulated J-LIS back end (docs/spec/system.md: actors, security requirements, the flows of seed 004
pp.15-26) over a :class:`BackendStore`.

Every public method is one transaction. Status per phone certificate: valid, suspended (一時保留, a
certificateHold on the CRL) or revoked. Revoking a card certificate revokes its phone certificates (seed
004 p.6); a second valid (or suspended) phone certificate of one kind for one card is refused (seed 004
p.4; 公的個人認証法 §25).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.backend.certificates import (
    KINDS,
    build_crl,
    check_application_signature,
    check_card_certificate,
    issue_phone_certificate,
    persona_ca,
    serial_hex,
)
from jpkikit.reference.backend.errors import BackendError
from jpkikit.reference.backend.store import BackendStore

LIVE = ("valid", "suspended")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.isoformat()


@dataclass(frozen=True)
class PhoneCertificate:
    serial: str
    card_serial: str
    se_id: str
    kind: str
    status: str
    der: bytes


@dataclass(frozen=True)
class CardApplicant:
    """A card whose signature certificate and signed application were accepted (steps ③-⑤)."""

    serial: str
    certificate: x509.Certificate


class JlisBackend:
    def __init__(self, path: str | Path = ":memory:", clock: Callable[[], dt.datetime] = _now) -> None:
        self.store = BackendStore(path)
        self.clock = clock

    def close(self) -> None:
        self.store.close()

    # -- steps ③-⑤ / p.18 ①-③: the card certificate and the signed application -------------------------

    def check_application(self, card_cert_der: bytes, application: bytes, signature: bytes) -> CardApplicant:
        cert = check_card_certificate(card_cert_der, self.clock())
        check_application_signature(cert, application, signature)
        serial = serial_hex(cert)
        with self.store.transaction() as db:
            row = db.execute("SELECT status FROM card_certificates WHERE serial = ?", (serial,)).fetchone()
            if row is not None and row["status"] == "revoked":
                raise BackendError("revoked-card-certificate", f"card certificate {serial} is revoked")
            if row is None:
                db.execute(
                    "INSERT INTO card_certificates (serial, subject, not_after) VALUES (?, ?, ?)",
                    (serial, cert.subject.rfc4514_string(), _iso(cert.not_valid_after_utc)),
                )
        return CardApplicant(serial, cert)

    # -- steps ⑧⑨: phone certificates linked to the card -------------------------------------------------

    def phone_certificates(self, card_serial: str, live_only: bool = False) -> list[PhoneCertificate]:
        sql = "SELECT * FROM phone_certificates WHERE card_serial = ?"
        if live_only:
            sql += " AND status IN ('valid', 'suspended')"
        return [self._phone(row) for row in self.store.query(sql + " ORDER BY issued_at", card_serial)]

    def certificate(self, serial: str) -> PhoneCertificate:
        rows = self.store.query("SELECT * FROM phone_certificates WHERE serial = ?", serial.upper())
        if not rows:
            raise BackendError("unknown-certificate", f"no phone certificate {serial}")
        return self._phone(rows[0])

    def status(self, serial: str) -> str:
        return self.certificate(serial).status

    @staticmethod
    def _phone(row: object) -> PhoneCertificate:
        r = row  # sqlite3.Row
        return PhoneCertificate(
            r["serial"],
            r["card_serial"],
            r["se_id"],
            r["kind"],
            r["status"],
            bytes(r["der"]),  # type: ignore[index]
        )

    # -- SE binding (seed 004 p.18) ----------------------------------------------------------------------

    def bound_se(self, card_serial: str) -> str | None:
        rows = self.store.query("SELECT se_id FROM bindings WHERE card_serial = ?", card_serial)
        return rows[0]["se_id"] if rows else None

    def check_binding(self, card_serial: str, se_id: str) -> None:
        """Seed 004 p.18 ②: PIN initialisation only for the SE bound to this card."""
        bound = self.bound_se(card_serial)
        if bound is None or not hmac.compare_digest(bound, se_id.upper()):
            raise BackendError("se-not-bound", f"SE {se_id} is not the SE bound to card {card_serial}")

    # -- step ⑰: the commitment S, held until the public key and R arrive ------------------------------

    def record_commitment(self, card_serial: str, se_id: str, kind: str, s: bytes) -> None:
        if kind not in KINDS or len(s) != hashlib.sha256().digest_size:
            raise BackendError("no-commitment", f"commitment for {kind!r} must be a SHA-256 value")
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO commitments VALUES (?, ?, ?, ?, ?)",
                (card_serial, se_id.upper(), kind, s, _iso(self.clock())),
            )

    # -- steps ⑱-⑳: check H[R] = S, issue, bind ------------------------------------------------------------

    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: rsa.RSAPublicKey, r: bytes
    ) -> PhoneCertificate:
        se_id = se_id.upper()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT s FROM commitments WHERE card_serial = ? AND se_id = ? AND kind = ?",
                (applicant.serial, se_id, kind),
            ).fetchone()
            if row is None:
                raise BackendError("no-commitment", f"no commitment S for {kind} from SE {se_id}")
            db.execute(
                "DELETE FROM commitments WHERE card_serial = ? AND se_id = ? AND kind = ?",
                (applicant.serial, se_id, kind),
            )
            if not hmac.compare_digest(hashlib.sha256(r).digest(), bytes(row["s"])):
                raise BackendError("commitment-mismatch", "H[R] differs from the S the SE committed to")
            live = db.execute(
                "SELECT serial FROM phone_certificates"
                " WHERE card_serial = ? AND kind = ? AND status IN (?, ?)",
                (applicant.serial, kind, *LIVE),
            ).fetchone()
            if live is not None:
                raise BackendError(
                    "double-issuance", f"card has a live {kind} phone certificate {live['serial']}"
                )
            now = self.clock()
            cert = issue_phone_certificate(kind, public_key, applicant.certificate, now)
            der = cert.public_bytes(serialization.Encoding.DER)
            serial = serial_hex(cert)
            db.execute(
                "INSERT INTO phone_certificates (serial, card_serial, se_id, kind, status, der, issued_at)"
                " VALUES (?, ?, ?, ?, 'valid', ?, ?)",
                (serial, applicant.serial, se_id, kind, der, _iso(now)),
            )
            db.execute(
                "INSERT OR REPLACE INTO bindings VALUES (?, ?, ?)", (applicant.serial, se_id, _iso(now))
            )
        return PhoneCertificate(serial, applicant.serial, se_id, kind, "valid", der)

    # -- status changes (seed 004 p.16, p.21-26) -------------------------------------------------------------

    def _set_status(self, serial: str, new: str, allowed_from: tuple[str, ...], reason: str | None) -> None:
        serial = serial.upper()
        with self.store.transaction() as db:
            row = db.execute("SELECT status FROM phone_certificates WHERE serial = ?", (serial,)).fetchone()
            if row is None:
                raise BackendError("unknown-certificate", f"no phone certificate {serial}")
            if row["status"] not in allowed_from:
                raise BackendError(
                    "bad-state", f"certificate {serial} is {row['status']}, cannot become {new}"
                )
            db.execute(
                "UPDATE phone_certificates SET status = ?, revoked_at = ?, reason = ? WHERE serial = ?",
                (new, _iso(self.clock()) if new != "valid" else None, reason, serial),
            )

    def suspend(self, serial: str) -> None:
        """一時保留 (temporary suspension, via the call centre)."""
        self._set_status(serial, "suspended", ("valid",), "suspended")

    def release(self, serial: str) -> None:
        self._set_status(serial, "valid", ("suspended",), None)

    def revoke(self, serial: str, reason: str = "revoked") -> None:
        self._set_status(serial, "revoked", LIVE, reason)

    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        """Revoke every live phone certificate of one card on one SE (device change, loss, revocation from
        the phone alone); returns their serials."""
        return self._revoke_where("card_serial = ? AND se_id = ?", (card_serial, se_id.upper()), reason)

    def revoke_all_on_se(self, se_id: str, reason: str) -> list[str]:
        """Revocation requested from the phone alone (seed 004 pp.4, 23): every live certificate on that
        SE."""
        return self._revoke_where("se_id = ?", (se_id.upper(),), reason)

    def revoke_card(self, card_serial: str) -> list[str]:
        """Revoking the card certificate revokes its phone certificates (seed 004 p.6)."""
        with self.store.transaction() as db:
            db.execute("UPDATE card_certificates SET status = 'revoked' WHERE serial = ?", (card_serial,))
            return self._revoke_in(db, "card_serial = ?", (card_serial,), "card-revoked")

    def _revoke_where(self, where: str, args: tuple[str, ...], reason: str) -> list[str]:
        with self.store.transaction() as db:
            return self._revoke_in(db, where, args, reason)

    def _revoke_in(self, db: sqlite3.Connection, where: str, args: tuple[str, ...], reason: str) -> list[str]:
        rows = db.execute(
            f"SELECT serial FROM phone_certificates WHERE {where} AND status IN ('valid', 'suspended')", args
        ).fetchall()
        serials = [row["serial"] for row in rows]
        for serial in serials:
            db.execute(
                "UPDATE phone_certificates SET status = 'revoked', revoked_at = ?, reason = ?"
                " WHERE serial = ?",
                (_iso(self.clock()), reason, serial),
            )
        return serials

    # -- status query: CRL ---------------------------------------------------------------------------------

    def crl(self, kind: str) -> bytes:
        rows = self.store.query(
            "SELECT serial, status, revoked_at FROM phone_certificates WHERE kind = ? AND status != 'valid'",
            kind,
        )
        entries = [
            (r["serial"], dt.datetime.fromisoformat(r["revoked_at"]), r["status"] == "suspended")
            for r in rows
        ]
        return build_crl(kind, entries, self.clock())

    def ca_certificate(self, kind: str) -> bytes:
        return persona_ca(kind).der
