"""The simulated J-LIS back end (docs/spec/system.md: actors, security requirements, the flows of seed 004
pp.15-26) over a :class:`BackendStore`.

Every public method is one transaction (or joins the caller's). Status per phone certificate: valid,
suspended (一時保留, a certificateHold on the CRL) or revoked. Revoking a card certificate revokes its phone
certificates (seed 004 p.6); a second valid (or suspended) phone certificate of one kind for one card is
refused (seed 004 p.4; 公的個人認証法 §25).

The identity check of an application (seed 004 p.15 ③-⑤, p.18 ④⑤): the card certificate chains to a trusted
card CA, is valid now and not revoked; the signature verifies; the signed application names the operation
it is used for, is recent, and is used once (its digest is kept). It carries the commitment S = H[R] the
GP-SE gave before signing (p.15 ①②), which J-LIS holds until the public key and R arrive (⑤, ⑲).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from jpkikit.reference.keypool import new_rsa_key

LIVE = ("valid", "suspended")
#: How old (or how far in the future) a signed application may be.
APPLICATION_WINDOW = dt.timedelta(minutes=10)
ACCESS_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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
    application: str = ""  # digest of the accepted application (its commitments are held under it)
    fields: dict[str, Any] = field(default_factory=dict)  # the signed application's content


class JlisBackend:
    def __init__(
        self,
        path: str | Path = ":memory:",
        clock: Callable[[], dt.datetime] = _now,
        card_cas: tuple[x509.Certificate, ...] = (),
    ) -> None:
        self.store = BackendStore(path)
        self.clock = clock
        self.card_cas = card_cas

    def close(self) -> None:
        self.store.close()

    # -- steps ③-⑤ / p.18 ④⑤: the card certificate and the signed application -------------------------

    def check_card(self, card_cert_der: bytes) -> x509.Certificate:
        """Step ③: the card certificate is trusted, valid now and not revoked."""
        cert = check_card_certificate(card_cert_der, self.clock(), self.card_cas)
        serial = serial_hex(cert)
        rows = self.store.query("SELECT status FROM card_certificates WHERE serial = ?", serial)
        if rows and rows[0]["status"] == "revoked":
            raise BackendError("revoked-card-certificate", f"card certificate {serial} is revoked")
        return cert

    def check_application(
        self, card_cert_der: bytes, application: bytes, signature: bytes, operation: str | None = None
    ) -> CardApplicant:
        """Steps ③-⑤: the identity check, then the application is accepted once and its S held."""
        cert = self.check_card(card_cert_der)
        check_application_signature(cert, application, signature)
        fields = self._parse_application(application, operation)
        serial = serial_hex(cert)
        digest = hashlib.sha256(application + signature).hexdigest()
        with self.store.transaction() as db:
            self._register_card(db, serial, cert)
            if db.execute("SELECT 1 FROM applications WHERE digest = ?", (digest,)).fetchone():
                raise BackendError("replayed-application", "this signed application was used before")
            db.execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?)",
                (digest, serial, fields["type"], _iso(self.clock())),
            )
            for kind, s in (fields.get("s") or {}).items():
                db.execute("INSERT INTO commitments VALUES (?, ?, ?)", (digest, kind, bytes.fromhex(s)))
        return CardApplicant(serial, cert, digest, fields)

    def _parse_application(self, application: bytes, operation: str | None) -> dict[str, Any]:
        try:
            fields = json.loads(application)
            kind, nonce, when = fields["type"], str(fields["nonce"]), int(fields["time"])
            commitments = fields.get("s") or {}
            ok = isinstance(kind, str) and len(nonce) >= 16 and isinstance(commitments, dict)
            for key, value in commitments.items():
                ok = ok and key in KINDS and len(bytes.fromhex(value)) == hashlib.sha256().digest_size
        except (ValueError, KeyError, TypeError):
            raise BackendError("bad-application", "the signed application does not parse") from None
        if not ok:
            raise BackendError("bad-application", "the signed application lacks a field or has a bad one")
        if operation is not None and kind != operation:
            raise BackendError(
                "wrong-operation", f"the card signed a {kind!r} application, not {operation!r}"
            )
        signed_at = dt.datetime.fromtimestamp(when, dt.UTC)
        if abs(self.clock() - signed_at) > APPLICATION_WINDOW:
            raise BackendError("stale-application", f"signed at {signed_at.isoformat()}")
        return dict(fields)

    @staticmethod
    def _register_card(db: sqlite3.Connection, serial: str, cert: x509.Certificate) -> None:
        der = cert.public_bytes(serialization.Encoding.DER)
        db.execute(
            "INSERT OR IGNORE INTO card_certificates (serial, subject, not_after, der) VALUES (?, ?, ?, ?)",
            (serial, cert.subject.rfc4514_string(), _iso(cert.not_valid_after_utc), der),
        )
        db.execute("UPDATE card_certificates SET der = ? WHERE serial = ? AND der IS NULL", (der, serial))

    # -- steps ⑧⑨: phone certificates linked to the card -------------------------------------------------

    def phone_certificates(self, card_serial: str, live_only: bool = False) -> list[PhoneCertificate]:
        sql = "SELECT * FROM phone_certificates WHERE card_serial = ?"
        if live_only:
            sql += " AND status IN ('valid', 'suspended')"
        return [self._phone(row) for row in self.store.query(sql + " ORDER BY issued_at", card_serial)]

    def certificates_on_se(self, se_id: str) -> list[PhoneCertificate]:
        rows = self.store.query("SELECT * FROM phone_certificates WHERE se_id = ?", se_id.upper())
        return [self._phone(row) for row in rows]

    def certificate(self, serial: str) -> PhoneCertificate:
        rows = self.store.query("SELECT * FROM phone_certificates WHERE serial = ?", serial.upper())
        if not rows:
            raise BackendError("unknown-certificate", f"no phone certificate {serial}")
        return self._phone(rows[0])

    def status(self, serial: str) -> str:
        return self.certificate(serial).status

    @staticmethod
    def _phone(row: sqlite3.Row) -> PhoneCertificate:
        return PhoneCertificate(
            row["serial"], row["card_serial"], row["se_id"], row["kind"], row["status"], bytes(row["der"])
        )

    # -- SE binding (seed 004 p.15 ⑳, p.18 ⑦-⑨) ------------------------------------------------------------

    def bound_se(self, card_serial: str) -> str | None:
        rows = self.store.query("SELECT se_id FROM bindings WHERE card_serial = ?", card_serial)
        return rows[0]["se_id"] if rows else None

    def check_binding(self, card_serial: str, se_id: str) -> None:
        """Seed 004 p.18 ⑨: PIN initialisation only for the SE bound to this card."""
        bound = self.bound_se(card_serial)
        if bound is None or not hmac.compare_digest(bound, se_id.upper()):
            raise BackendError("se-not-bound", f"SE {se_id} is not the SE bound to card {card_serial}")

    def check_phone_status(self, card_serial: str, se_id: str, kinds: tuple[str, ...]) -> None:
        """Seed 004 p.18 ⑥: the phone certificates on this SE are valid (not revoked, not suspended)."""
        on_se = [c for c in self.phone_certificates(card_serial) if c.se_id == se_id.upper()]
        for kind in kinds:
            live = [c for c in on_se if c.kind == kind and c.status in LIVE]
            if not live or live[-1].status != "valid":
                state = live[-1].status if live else "revoked or absent"
                raise BackendError("phone-certificate-not-valid", f"the {kind} phone certificate is {state}")

    # -- steps ⑱-⑳: check H[R] = S, issue, bind ------------------------------------------------------------

    def commitment(self, applicant: CardApplicant, kind: str) -> bytes | None:
        rows = self.store.query(
            "SELECT s FROM commitments WHERE application = ? AND kind = ?", applicant.application, kind
        )
        return bytes(rows[0]["s"]) if rows else None

    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: rsa.RSAPublicKey, r: bytes
    ) -> PhoneCertificate:
        """Step ⑲: H[R] must be the S the card-signed application carried; then ⑳."""
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT s FROM commitments WHERE application = ? AND kind = ?", (applicant.application, kind)
            ).fetchone()
            if row is None:
                raise BackendError("no-commitment", f"the application carried no S for {kind}")
            db.execute(
                "DELETE FROM commitments WHERE application = ? AND kind = ?", (applicant.application, kind)
            )
            if not hmac.compare_digest(hashlib.sha256(r).digest(), bytes(row["s"])):
                raise BackendError("commitment-mismatch", "H[R] differs from the S of the signed application")
            return self._issue_in(db, applicant, se_id, kind, public_key)

    def issue_off_card(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, rsa.RSAPrivateKey]:
        """The SIM design (seed 000 §4(1) ⑤, seed 001 §5(1)): the key pair generated at J-LIS, its
        certificate issued; the private key goes to the TSM for encrypted delivery and is kept nowhere."""
        key = new_rsa_key()  # RSA-2048, e 65537; made ahead when the pool is on
        with self.store.transaction() as db:
            return self._issue_in(db, applicant, se_id, kind, key.public_key()), key

    def _issue_in(
        self,
        db: sqlite3.Connection,
        applicant: CardApplicant,
        se_id: str,
        kind: str,
        public_key: rsa.RSAPublicKey,
    ) -> PhoneCertificate:
        se_id = se_id.upper()
        live = db.execute(
            "SELECT serial FROM phone_certificates WHERE card_serial = ? AND kind = ? AND status IN (?, ?)",
            (applicant.serial, kind, *LIVE),
        ).fetchone()
        if live is not None:
            raise BackendError(
                "double-issuance", f"card has a live {kind} phone certificate {live['serial']}"
            )
        now = self.clock()
        cert = self.make_certificate(kind, public_key, applicant.certificate, now)
        der = cert.public_bytes(serialization.Encoding.DER)
        serial = serial_hex(cert)
        db.execute(
            "INSERT INTO phone_certificates (serial, card_serial, se_id, kind, status, der, issued_at)"
            " VALUES (?, ?, ?, ?, 'valid', ?, ?)",
            (serial, applicant.serial, se_id, kind, der, _iso(now)),
        )
        db.execute("INSERT OR REPLACE INTO bindings VALUES (?, ?, ?)", (applicant.serial, se_id, _iso(now)))
        return PhoneCertificate(serial, applicant.serial, se_id, kind, "valid", der)

    def make_certificate(
        self, kind: str, public_key: rsa.RSAPublicKey, card_cert: x509.Certificate, now: dt.datetime
    ) -> x509.Certificate:
        """Step ⑳: the phone certificate of ``kind`` for ``public_key``
        (jpkikit.reference.backend.certificates)."""
        return issue_phone_certificate(kind, public_key, card_cert, now)

    # -- status changes (seed 004 p.16, pp.21-26) ----------------------------------------------------------

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
        """一時保留 (temporary suspension, via the call centre; seed 004 pp.6, 23)."""
        self._set_status(serial, "suspended", ("valid",), "suspended")

    def release(self, serial: str, card_serial: str | None = None) -> None:
        """一時保留解除 (seed 004 p.20): by the card the certificate belongs to (``card_serial``)."""
        if card_serial is not None and self.certificate(serial).card_serial != card_serial:
            raise BackendError("not-your-certificate", f"certificate {serial} belongs to another card")
        self._set_status(serial, "valid", ("suspended",), None)

    def revoke(self, serial: str, reason: str = "revoked") -> None:
        self._set_status(serial, "revoked", LIVE, reason)

    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        """Revoke every live phone certificate of one card on one SE (device change, loss, renewal); returns
        their serials."""
        return self._revoke_where("card_serial = ? AND se_id = ?", (card_serial, se_id.upper()), reason)

    def revoke_all_on_se(self, se_id: str, reason: str) -> list[str]:
        """Revocation from the phone alone (seed 004 pp.4, 23): every live certificate on that SE."""
        return self._revoke_where("se_id = ?", (se_id.upper(),), reason)

    def revoke_all_of_card(self, card_serial: str, reason: str) -> list[str]:
        """Revocation with the card from another phone or a PC (seed 004 p.23 ②)."""
        return self._revoke_where("card_serial = ?", (card_serial,), reason)

    def revoke_card(self, card_serial: str) -> list[str]:
        """Revoking the card certificate revokes its phone certificates (seed 004 p.6)."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO card_certificates (serial, subject, not_after) VALUES (?, '', '')",
                (card_serial,),
            )
            db.execute("UPDATE card_certificates SET status = 'revoked' WHERE serial = ?", (card_serial,))
            return self._revoke_in(db, "card_serial = ?", (card_serial,), "card-revoked")

    def revoke_card_certificate(self, der: bytes) -> tuple[str, list[tuple[str, str]]]:
        """J-LIS revokes a card certificate: its serial, and the (serial, SE ID) of the phone certificates
        revoked with it."""
        serial = serial_hex(x509.load_der_x509_certificate(der))
        ses = {c.serial: c.se_id for c in self.phone_certificates(serial, live_only=True)}
        revoked = self.revoke_card(serial)
        return serial, [(s, ses[s]) for s in revoked if s in ses]

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

    # -- the SIM design's access code and password (seed 000 §4(1) ⑧⑨⑪, seed 001 §5(1)) ----------------

    def create_access_code(self, applicant: CardApplicant) -> tuple[str, str]:
        """⑧: an access code and a password for an accepted application (sent by restricted-delivery mail,
        seed 003 別紙1); only a salted hash of the password is kept."""
        code = "".join(ACCESS_CODE_ALPHABET[b % len(ACCESS_CODE_ALPHABET)] for b in os.urandom(16))
        password = os.urandom(8).hex().upper()
        salt = os.urandom(16)
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO access_codes (code, password_hash, salt, card_serial, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (code, _password_hash(salt, password), salt, applicant.serial, _iso(self.clock())),
            )
        return code, password

    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        """⑪: the access code and password authenticate the applicant, once."""
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM access_codes WHERE code = ?", (str(code),)).fetchone()
            if row is None or not hmac.compare_digest(
                _password_hash(bytes(row["salt"]), str(password)), bytes(row["password_hash"])
            ):
                raise BackendError("bad-access-code", "the access code or the password does not match")
            if row["used"]:
                raise BackendError("used-access-code", "the access code was used before")
            db.execute("UPDATE access_codes SET used = 1 WHERE code = ?", (row["code"],))
            card = db.execute(
                "SELECT status FROM card_certificates WHERE serial = ?", (row["card_serial"],)
            ).fetchone()
            if card is not None and card["status"] == "revoked":
                raise BackendError("revoked-card-certificate", "the card was revoked since the application")
        return self._applicant_for(row["card_serial"])

    def _applicant_for(self, card_serial: str) -> CardApplicant:
        """The card behind an access code: J-LIS knows its signature certificate from the application."""
        rows = self.store.query("SELECT der FROM card_certificates WHERE serial = ?", card_serial)
        if not rows or rows[0]["der"] is None:
            raise BackendError("bad-access-code", "the card of the access code is unknown")
        return CardApplicant(card_serial, x509.load_der_x509_certificate(bytes(rows[0]["der"])))

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


def _password_hash(salt: bytes, password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10_000)
