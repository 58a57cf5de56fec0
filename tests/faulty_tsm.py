"""Deliberately non-conforming TSMs, one fault each, to show that every TSM conformance test (conformance/tsm)
can fail at the check it is named for (tests/faults/tsm.yaml). Each factory is a ``TsmService`` subclass named
by a profile's ``ixit.tsm.reference.factory`` ("tests.faulty_tsm:<name>"); everything else is the reference
TSM (jpkikit/reference/tsm) with its J-LIS back end (jpkikit/reference/backend). A fault in the back end is
a subclass of :class:`JlisBackend` put in place of the TSM's own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import ssl
from collections.abc import Callable
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.backend import JlisBackend
from jpkikit.reference.backend.certificates import check_card_certificate, persona_ca
from jpkikit.reference.backend.errors import BackendError
from jpkikit.reference.backend.service import CardApplicant, PhoneCertificate
from jpkikit.reference.tsm import flows as f
from jpkikit.reference.tsm.flows import FLOWS, FlowContext, Order, Script
from jpkikit.reference.tsm.secure_script import ScriptChannel
from jpkikit.reference.tsm.server import TsmService
from jpkikit.reference.tsm.store import TsmStore
from jpkikit.vocab.gp.constants import INS_SET_STATUS, PRIV_SECURITY_DOMAIN
from jpkikit.vocab.gp.layouts import InstallForInstall
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.scp03.putkey import put_key_command

KINDS = ("auth", "sign")


def _with_backend(cls: type[JlisBackend], doc: str) -> type[TsmService]:
    """A TSM whose back end is ``cls`` (one fault of J-LIS's decisions)."""

    class Faulty(TsmService):
        __doc__ = doc

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.backend.__class__ = cls

    Faulty.__name__ = Faulty.__qualname__ = cls.__name__.lstrip("_")
    return Faulty


def _with_flows(changed: dict[str, f.FlowFn], doc: str) -> type[TsmService]:
    class Faulty(TsmService):
        __doc__ = doc
        flows: ClassVar[dict[str, f.FlowFn]] = {**FLOWS, **changed}

    return Faulty


def _resign(
    cert: x509.Certificate, key: rsa.RSAPrivateKey, not_after: dt.datetime | None = None
) -> x509.Certificate:
    """``cert`` signed again with ``key`` (and, given ``not_after``, another end of validity)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())  # type: ignore[arg-type]
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(not_after or cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(key, hashes.SHA256())


# -- TSM-SCP-01, TSM-KEY-01, TSM-KEY-02 ----------


class LowLevel(TsmService):
    """Opens SCP03 at C-MAC + C-DECRYPTION + R-MAC (13) whatever the SE requires (TSM-SCP-01)."""

    def script_channel(
        self, keys: Any, sd_aid: bytes, level: int, draw: Callable[[int], bytes]
    ) -> ScriptChannel:
        return super().script_channel(keys, sd_aid, 0x13, draw)


class NoResponseProtection(TsmService):
    """Opens SCP03 at C-MAC + C-DECRYPTION (03), without R-MAC and R-ENCRYPTION (TSM-SCP-01)."""

    def script_channel(
        self, keys: Any, sd_aid: bytes, level: int, draw: Callable[[int], bytes]
    ) -> ScriptChannel:
        return super().script_channel(keys, sd_aid, 0x03, draw)


class DeliversKeys(TsmService):
    """Makes the key pairs itself and sends them to an SE that generates its own (TSM-KEY-01)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = dataclasses.replace(self.options, key_generation="off-card")


class _OwnKeyBackend(JlisBackend):
    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: Any, r: bytes
    ) -> PhoneCertificate:
        own = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        return super().issue(applicant, se_id, kind, own, r)


class _RogueCaBackend(JlisBackend):
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def make_certificate(
        self, kind: str, public_key: Any, card_cert: Any, now: dt.datetime
    ) -> x509.Certificate:
        return _resign(super().make_certificate(kind, public_key, card_cert, now), self.rogue)


class _SignUncheckedBackend(JlisBackend):
    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: Any, r: bytes
    ) -> PhoneCertificate:
        if kind == "sign":  # H[R] = S compared for the auth key only
            with self.store.transaction() as db:
                return self._issue_in(db, applicant, se_id, kind, public_key)
        return super().issue(applicant, se_id, kind, public_key, r)


class _TrustingBackend(JlisBackend):
    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: Any, r: bytes
    ) -> PhoneCertificate:
        with self.store.transaction() as db:  # S from the application never compared with H[R]
            return self._issue_in(db, applicant, se_id, kind, public_key)


# -- TSM-IDP-01/02: identity proofing ----------


class _AcceptsExpiredBackend(JlisBackend):
    def check_card(self, card_cert_der: bytes) -> x509.Certificate:
        cert = x509.load_der_x509_certificate(card_cert_der)
        check_card_certificate(card_cert_der, cert.not_valid_before_utc, self.card_cas)  # "now" never used
        return _status_checked(self, cert)


def _status_checked(backend: JlisBackend, cert: x509.Certificate) -> x509.Certificate:
    serial = f"{cert.serial_number:X}"
    rows = backend.store.query("SELECT status FROM card_certificates WHERE serial = ?", serial)
    if rows and rows[0]["status"] == "revoked":
        raise BackendError("revoked-card-certificate", f"card certificate {serial} is revoked")
    return cert


class _AcceptsRevokedBackend(JlisBackend):
    def check_card(self, card_cert_der: bytes) -> x509.Certificate:
        return check_card_certificate(card_cert_der, self.clock(), self.card_cas)  # no revocation status


class _AcceptsForeignBackend(JlisBackend):
    def check_card(self, card_cert_der: bytes) -> x509.Certificate:
        cert = x509.load_der_x509_certificate(card_cert_der)  # any issuer: the CA is never verified
        if not cert.not_valid_before_utc <= self.clock() <= cert.not_valid_after_utc:
            raise BackendError("expired-card-certificate", "not valid now")
        return _status_checked(self, cert)


class _NoSignatureCheckBackend(JlisBackend):
    def check_application(
        self, card_cert_der: bytes, application: bytes, signature: bytes, operation: str | None = None
    ) -> CardApplicant:  # the reference's steps ③-⑤ without the signature check
        cert = self.check_card(card_cert_der)
        fields = self._parse_application(application, operation)
        serial = f"{cert.serial_number:X}"
        digest = hashlib.sha256(application + signature).hexdigest()
        with self.store.transaction() as db:
            self._register_card(db, serial, cert)
            if db.execute("SELECT 1 FROM applications WHERE digest = ?", (digest,)).fetchone():
                raise BackendError("replayed-application", "this signed application was used before")
            db.execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?)", (digest, serial, fields["type"], "now")
            )
            for kind, s in (fields.get("s") or {}).items():
                db.execute("INSERT INTO commitments VALUES (?, ?, ?)", (digest, kind, bytes.fromhex(s)))
        return CardApplicant(serial, cert, digest, fields)


class _ReplayBackend(JlisBackend):
    def check_application(
        self, card_cert_der: bytes, application: bytes, signature: bytes, operation: str | None = None
    ) -> CardApplicant:
        digest = hashlib.sha256(application + signature).hexdigest()
        with self.store.transaction() as db:  # an application used before is forgotten, so taken again
            db.execute("DELETE FROM commitments WHERE application = ?", (digest,))
            db.execute("DELETE FROM applications WHERE digest = ?", (digest,))
        return super().check_application(card_cert_der, application, signature, operation)


class _AnyOperationBackend(JlisBackend):
    def check_application(
        self, card_cert_der: bytes, application: bytes, signature: bytes, operation: str | None = None
    ) -> CardApplicant:
        return super().check_application(card_cert_der, application, signature, None)


# -- TSM-PIN-01/02: the temporary PIN ----------


class FixedTempPin(TsmService):
    """Uses the same temporary PIN every time (TSM-PIN-01)."""

    def new_temp_pin(self) -> bytes:
        return b"0000000000000000"


class CounterTempPin(TsmService):
    """Temporary PINs from a counter: distinct and 16 bytes long, but mostly zero bits (TSM-PIN-01)."""

    counter: ClassVar[int] = 0

    def new_temp_pin(self) -> bytes:
        CounterTempPin.counter += 1
        return CounterTempPin.counter.to_bytes(16, "big")


class HexTextTempPin(TsmService):
    """The temporary PIN is the hex text of 8 random bytes: 16 bytes, distinct, half the entropy and biased
    bits (TSM-PIN-01)."""

    def new_temp_pin(self) -> bytes:
        return os.urandom(8).hex().upper().encode()


class StretchedTempPin(TsmService):
    """8 random bytes stretched to 16 by repeating every bit: balanced bits, too few runs (TSM-PIN-01)."""

    def new_temp_pin(self) -> bytes:
        bits = "".join(f"{b:08b}" for b in os.urandom(8))
        doubled = "".join(c + c for c in bits)
        return int(doubled, 2).to_bytes(16, "big")


class ShortTempPin(TsmService):
    """Temporary PINs of 4 random bytes (TSM-PIN-01)."""

    def new_temp_pin(self) -> bytes:
        return os.urandom(4)


def _after(flow: f.FlowFn, change: Callable[[Order], None]) -> f.FlowFn:
    def run(order: Order, fx: FlowContext) -> Script:
        result = yield from flow(order, fx)
        change(order)
        return result

    return run


def _swap_pins(order: Order) -> None:
    pins = order.result.get("temp_pins") or {}
    if set(pins) == set(KINDS):
        order.result["temp_pins"] = {"auth": pins["sign"], "sign": pins["auth"]}


def _auth_pin_only(order: Order) -> None:
    pins = order.result.get("temp_pins") or {}
    order.result["temp_pins"] = {k: v for k, v in pins.items() if k == "auth"}


# -- TSM-SEID-01/02, TSM-ISS-01, TSM-PIN-03 ----------


class _FirstBindingBackend(JlisBackend):
    def _issue_in(
        self, db: Any, applicant: CardApplicant, se_id: str, kind: str, public_key: Any
    ) -> PhoneCertificate:
        bound = db.execute("SELECT se_id FROM bindings WHERE card_serial = ?", (applicant.serial,)).fetchone()
        cert = super()._issue_in(db, applicant, se_id, kind, public_key)
        if bound is not None:  # the first SE stays bound: a device change never moves the binding
            db.execute(
                "UPDATE bindings SET se_id = ? WHERE card_serial = ?", (bound["se_id"], applicant.serial)
            )
        return cert


class _BoundSeStatusBackend(JlisBackend):
    """Checks the status of the phone certificates on the SE the card is bound to (the same as the asking
    SE's whenever the binding check holds), so that only the binding check decides."""

    def check_phone_status(self, card_serial: str, se_id: str, kinds: tuple[str, ...]) -> None:
        super().check_phone_status(card_serial, self.bound_se(card_serial) or se_id, kinds)


class _LowerCaseBindingBackend(JlisBackend):
    def _issue_in(
        self, db: Any, applicant: CardApplicant, se_id: str, kind: str, public_key: Any
    ) -> PhoneCertificate:
        cert = super()._issue_in(db, applicant, se_id, kind, public_key)
        db.execute(  # the binding written in lower case, compared in upper case
            "UPDATE bindings SET se_id = lower(se_id) WHERE card_serial = ?", (applicant.serial,)
        )
        return cert


class _NoBindingBackend(_BoundSeStatusBackend):
    def check_binding(self, card_serial: str, se_id: str) -> None:
        return None


class _PrefixBindingBackend(_BoundSeStatusBackend):
    def check_binding(self, card_serial: str, se_id: str) -> None:
        bound = self.bound_se(card_serial)
        if bound is None or bound[:24] != se_id.upper()[:24]:  # the first 12 bytes only
            raise BackendError("se-not-bound", f"SE {se_id} is not the SE bound to card {card_serial}")


class _BlindBackend(JlisBackend):
    def phone_certificates(self, card_serial: str, live_only: bool = False) -> list[PhoneCertificate]:
        return [] if live_only else super().phone_certificates(card_serial)


class _ValidOnlyBackend(JlisBackend):
    def phone_certificates(self, card_serial: str, live_only: bool = False) -> list[PhoneCertificate]:
        found = super().phone_certificates(card_serial, live_only)  # the pre-check looks at a valid auth one
        return [c for c in found if c.kind == "auth" and c.status == "valid"] if live_only else found


class _NoStatusBackend(JlisBackend):
    def check_phone_status(self, card_serial: str, se_id: str, kinds: tuple[str, ...]) -> None:
        return None


class _SuspendedIsValidBackend(JlisBackend):
    def check_phone_status(self, card_serial: str, se_id: str, kinds: tuple[str, ...]) -> None:
        on_se = [c for c in self.phone_certificates(card_serial, True) if c.se_id == se_id.upper()]
        for kind in kinds:
            if not any(c.kind == kind for c in on_se):
                raise BackendError("phone-certificate-not-valid", f"the {kind} phone certificate is revoked")


# -- TSM-VAL-01 ----------


class _CaValidityBackend(JlisBackend):
    def make_certificate(
        self, kind: str, public_key: Any, card_cert: Any, now: dt.datetime
    ) -> x509.Certificate:
        cert = super().make_certificate(kind, public_key, card_cert, now)
        return _resign(cert, persona_ca(kind).key, persona_ca(kind).cert.not_valid_after_utc)


class _StartsTomorrowBackend(JlisBackend):
    def make_certificate(
        self, kind: str, public_key: Any, card_cert: Any, now: dt.datetime
    ) -> x509.Certificate:  # the validity counted from the next day (a time-zone slip)
        return super().make_certificate(kind, public_key, card_cert, now + dt.timedelta(days=1))


# -- TSM-BAD-01 ----------


class _NoRmacChannel(ScriptChannel):
    def unwrap(self, index: int, response: Any) -> Any:
        from jpkikit.vocab.iso7816.apdu import ResponseApdu

        s = self.session
        assert s is not None
        latest = (s.chain, s.counter)
        s.chain, s.counter = self._states[index]
        try:  # whatever R-MAC came is taken for the right one
            if response.sw == 0x9000 and len(response.data) >= s.mac_length:
                data = response.data[: -s.mac_length]
                response = ResponseApdu(data + s.response_mac(data, response.sw), response.sw)
        finally:
            s.chain, s.counter = latest
        return super().unwrap(index, response)


class IgnoresRmac(TsmService):
    """Takes the SE's answers without verifying their R-MAC (TSM-BAD-01)."""

    def script_channel(
        self, keys: Any, sd_aid: bytes, level: int, draw: Callable[[int], bytes]
    ) -> ScriptChannel:
        return _NoRmacChannel(keys, sd_aid, level, draw=draw)


class LeavesCertificatesLive(TsmService):
    """When the SE fails after the certificates were issued, leaves them live in the back end (TSM-BAD-01)."""

    def _fail(self, order_id: str, operation: str, exc: Any, digest: str) -> None:
        run = self.runs.get(order_id)
        if run is not None:
            run.order.result.pop("certificates", None)
        super()._fail(order_id, operation, exc, digest)


# -- TSM-DEV-01, TSM-LOSS-01, TSM-REN-01, TSM-REV-01/02, TSM-CAS-01, TSM-SUS-01 ----------


class _NoRevocationBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        return [] if reason == "device-change" else super().revoke_se(card_serial, se_id, reason)


class _AuthOnlyDeviceChangeBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        if reason != "device-change":
            return super().revoke_se(card_serial, se_id, reason)
        where = "card_serial = ? AND se_id = ? AND kind = 'auth'"
        return self._revoke_where(where, (card_serial, se_id.upper()), reason)


class NoConfirmationNeeded(TsmService):
    """Revokes the old device on a device change without the user's confirmation (TSM-DEV-01)."""

    def create_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        return super().create_order({**doc, "confirm_revoke_old": True})


class _SkipsSuspendedBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        where = "card_serial = ? AND se_id = ? AND status = 'valid'"  # a suspended one stays suspended
        return self._revoke_where(where, (card_serial, se_id.upper()), reason)


class _RenewalKeepsOldBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        return [] if reason == "renewal" else super().revoke_se(card_serial, se_id, reason)


class _RenewalAuthOnlyBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        if reason != "renewal":
            return super().revoke_se(card_serial, se_id, reason)
        return self._revoke_where(
            "card_serial = ? AND se_id = ? AND kind = 'auth'", (card_serial, se_id.upper()), reason
        )


class _PhoneRevokesAuthOnlyBackend(JlisBackend):
    def revoke_all_on_se(self, se_id: str, reason: str) -> list[str]:
        return self._revoke_where("se_id = ? AND kind = 'auth'", (se_id.upper(),), reason)


def _revocation_without_deletion(order: Order, fx: FlowContext) -> Script:
    """revocation_from_phone without the DELETE KEYS of the same session."""
    conv = f.applet(fx)
    yield from conv.open()
    se_id = yield from f.read_se_id(conv)
    order.result["se_id"] = se_id
    order.result["revoked"] = fx.backend("revoke_all_on_se", se_id, "revoked-from-phone")
    return order.result


class _NoCascadeBackend(JlisBackend):
    def revoke_card(self, card_serial: str) -> list[str]:
        with self.store.transaction() as db:  # the card is marked revoked; its phone certificates stay live
            db.execute(
                "INSERT OR IGNORE INTO card_certificates (serial, subject, not_after) VALUES (?, '', '')",
                (card_serial,),
            )
            db.execute("UPDATE card_certificates SET status = 'revoked' WHERE serial = ?", (card_serial,))
        return []


class _CascadeAuthOnlyBackend(JlisBackend):
    def revoke_card(self, card_serial: str) -> list[str]:
        with self.store.transaction() as db:  # the cascade revokes the auth certificates only
            db.execute(
                "INSERT OR IGNORE INTO card_certificates (serial, subject, not_after) VALUES (?, '', '')",
                (card_serial,),
            )
            db.execute("UPDATE card_certificates SET status = 'revoked' WHERE serial = ?", (card_serial,))
            return self._revoke_in(db, "card_serial = ? AND kind = 'auth'", (card_serial,), "card-revoked")


class RevokeAllKeepsKeys(TsmService):
    """Revocation with the card from another device revokes but never asks to delete the keys (TSM-REV-02)."""

    def at_once(self, order: Order, doc: dict[str, Any]) -> dict[str, Any]:
        if order.operation == "revoke-all" and order.applicant is not None:
            return {"revoked": self.backend.revoke_all_of_card(order.applicant.serial, "revoked-with-card")}
        return super().at_once(order, doc)


class IgnoresCardRevocationNotice(TsmService):
    """J-LIS's card-revocation notice is acknowledged and dropped: the card stays usable to the TSM and its
    phone certificates stay live (TSM-IDP-02, TSM-CAS-01)."""

    def card_revoked(self, card_der: bytes) -> dict[str, Any]:
        return {"card": f"{x509.load_der_x509_certificate(card_der).serial_number:X}", "revoked": []}


class CascadeKeepsKeys(TsmService):
    """J-LIS's card revocation revokes the phone certificates but deletes nothing (TSM-CAS-01)."""

    def card_revoked(self, card_der: bytes) -> dict[str, Any]:
        serial, revoked = self.backend.revoke_card_certificate(card_der)
        return {"card": serial, "revoked": [s for s, _ in revoked]}


class _HoldsUnpublishedBackend(JlisBackend):
    def crl(self, kind: str) -> bytes:
        from jpkikit.reference.backend.certificates import build_crl

        rows = self.store.query(  # suspended certificates left off the CRL
            "SELECT serial, revoked_at FROM phone_certificates WHERE kind = ? AND status = 'revoked'", kind
        )
        entries = [(r["serial"], dt.datetime.fromisoformat(r["revoked_at"]), False) for r in rows]
        return build_crl(kind, entries, self.clock())


class _SuspendRevokesBackend(JlisBackend):
    def suspend(self, serial: str) -> None:
        self._set_status(serial, "revoked", ("valid",), "suspended")


class _ReleaseByAnyoneBackend(JlisBackend):
    def release(self, serial: str, card_serial: str | None = None) -> None:
        super().release(serial, None)


class _ReleaseIgnoredBackend(JlisBackend):
    def release(self, serial: str, card_serial: str | None = None) -> None:
        if card_serial is not None and self.certificate(serial).card_serial != card_serial:
            raise BackendError("not-your-certificate", f"certificate {serial} belongs to another card")


# -- TSM-DEL-01 ----------


class NoRemoteDeletion(TsmService):
    """Revokes the old device but never tries to delete its keys, nor records anything (TSM-DEL-01)."""

    def request_remote_deletion(self, se_id: str) -> str:
        return ""


class FailuresNotRecorded(TsmService):
    """Records remote deletions that worked, drops those whose push failed (TSM-DEL-01)."""

    def _record_deletion(self, se_id: str, deleted: bool, why: str | None) -> None:
        if deleted:
            super()._record_deletion(se_id, deleted, why)


class PushCountsAsDeleted(TsmService):
    """Records a remote deletion as done once the push was sent, whether it reached the phone or not
    (TSM-DEL-01)."""

    def _record_deletion(self, se_id: str, deleted: bool, why: str | None) -> None:
        super()._record_deletion(se_id, deleted or bool(why and "push" in why), why)


# -- TSM-RAM-01/02, TSM-TLS-01 ----------


class WrongTarget(TsmService):
    """Names the APSD, not the JPKI applet, in X-Admin-Targeted-Application (TSM-RAM-01)."""

    def targeted(self, order_id: str, script: bytes) -> bytes:
        return self.target.apsd_aid


class TargetsTheIsd(TsmService):
    """Names the ISD in X-Admin-Targeted-Application of the SP-TSM's scripts (TSM-RAM-01)."""

    def targeted(self, order_id: str, script: bytes) -> bytes:
        return self.sei.isd_aid if self.sei is not None else bytes.fromhex("A000000151000000")


class NoRepeatedReply(TsmService):
    """Takes a repeated request for a new one instead of answering it again (TSM-RAM-02)."""

    def accepts_again(self, body: bytes, resume: bool) -> bool:
        return False


class RefusesResume(TsmService):
    """Ends the order when the agent resumes an interrupted session (TSM-RAM-02)."""

    def ram_step(self, order_id: str, body: bytes, resume: bool = False) -> bytes | None:
        if resume:
            with self.store.transaction():
                self.store.set_order(order_id, "failed", {}, "protocol", "resume not supported")
            return None
        return super().ram_step(order_id, body, resume)


class PlainHttp(TsmService):
    """Serves Amendment B over plain HTTP (TSM-TLS-01)."""

    def server_tls(self, context: ssl.SSLContext | None) -> ssl.SSLContext | None:
        return None


class OldTls(TsmService):
    """Accepts TLS 1.0 and 1.1 (TSM-TLS-01)."""

    def server_tls(self, context: ssl.SSLContext | None) -> ssl.SSLContext | None:
        if context is not None:
            context.minimum_version = ssl.TLSVersion.TLSv1
            try:
                context.set_ciphers("ALL:@SECLEVEL=0")
            except ssl.SSLError:
                pass
        return context


# -- the SEI-TSM ----------


def _installation(
    privileges: int = PRIV_SECURITY_DOMAIN,
    make_selectable: bool = True,
    extradite: bool = True,
    lock_applet: bool = False,
    apsd_gets_isd_keys: bool = False,
) -> f.FlowFn:
    """sei_installation with one thing done otherwise."""

    def run(order: Order, fx: FlowContext) -> Script:
        s = fx.sei
        if apsd_gets_isd_keys:  # PUT KEY of the SEI-TSM's own key set into the APSD, not the SP's
            s = dataclasses.replace(s, apsd_keys=s.isd_keys)
        conv = f.isd(fx)
        yield from conv.open()
        yield from conv.send(
            [f.gp_delete(s.apsd_aid, related=True)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND})
        )
        p1 = 0x0C if make_selectable else 0x04
        commands = [
            f._install(
                0x0C,
                InstallForInstall(
                    s.sd_elf, s.sd_module, s.apsd_aid, privileges.to_bytes(3, "big"), b"\xc9\x00"
                ),
            ),
            f._install(0x20, InstallForInstall(application_aid=s.apsd_aid)),
            put_key_command(s.apsd_keys, s.isd_keys.dek),
            f._install(p1, InstallForInstall(s.jpki_elf, s.jpki_module, s.jpki_aid, b"\x00", b"\xc9\x00")),
        ]
        if extradite:
            commands.append(f.install_for_extradition(s.apsd_aid, s.jpki_aid))
        if lock_applet:  # SET STATUS: LOCKED "until the SP activates it" (GPCS §11.10, §5.3.1)
            commands.append(CommandApdu(0x80, INS_SET_STATUS, 0x40, 0x83, s.jpki_aid))
        yield from conv.send(commands)
        hashes = fx.act("registered_hashes", s.jpki_aid)
        rules = [f.seac.Rule(f.seac.RefDo(s.jpki_aid, h), f.seac.ArDo("always", True)) for h in hashes]
        rules_conv = f.aram(fx)
        yield from rules_conv.open()
        yield from rules_conv.send(
            [f.delete_rules(s.jpki_aid)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND})
        )
        if rules:
            yield from rules_conv.send([f.store_rules(rules)])
        return order.result

    return run


class SeiLowLevel(TsmService):
    """The SEI-TSM opens SCP03 with the ISD at C-MAC + R-MAC (11) (SEI-APSD-01)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.sei is not None:
            self.sei = dataclasses.replace(self.sei, level=0x11)


class RuleForEveryApp(TsmService):
    """Adds a rule without a certificate hash (every app) to the registered ones (SEI-ARA-01)."""

    def registered_hashes(self, aid: bytes) -> list[bytes]:
        return [*super().registered_hashes(aid), b""]


class RuleForAnotherApp(TsmService):
    """Adds a rule for an app certificate hash the SP never registered (SEI-ARA-01)."""

    def registered_hashes(self, aid: bytes) -> list[bytes]:
        return [*super().registered_hashes(aid), bytes(32)]


class NoRules(TsmService):
    """Stores no access rule (SEI-ARA-01)."""

    def registered_hashes(self, aid: bytes) -> list[bytes]:
        return []


def _applet_deletion_keeps_rules(order: Order, fx: FlowContext) -> Script:
    s = fx.sei
    conv = f.isd(fx)
    yield from conv.open()
    yield from conv.send([f.gp_delete(s.jpki_aid)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND}))
    order.result["deleted"] = [s.jpki_aid.hex().upper()]
    return order.result


def _applet_deletion_rules_of(which: str) -> f.FlowFn:
    """sei_applet_deletion deleting the access rules of another AID (the APSD's) than the applet's."""

    def run(order: Order, fx: FlowContext) -> Script:
        s = fx.sei
        conv = f.isd(fx)
        yield from conv.open()
        yield from conv.send([f.gp_delete(s.jpki_aid)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND}))
        rules_conv = f.aram(fx)
        yield from rules_conv.open()
        aid = s.apsd_aid if which == "apsd" else s.jpki_aid
        yield from rules_conv.send([f.delete_rules(aid)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND}))
        order.result["deleted"] = [s.jpki_aid.hex().upper()]
        return order.result

    return run


def _factory_reset(target: str, rules: bool = True, related: bool = True) -> f.FlowFn:
    def run(order: Order, fx: FlowContext) -> Script:
        s = fx.sei
        conv = f.isd(fx)
        yield from conv.open()
        aid = s.apsd_aid if target == "apsd" else s.jpki_aid
        yield from conv.send(
            [f.gp_delete(aid, related=related)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND})
        )
        if rules:
            rules_conv = f.aram(fx)
            yield from rules_conv.open()
            yield from rules_conv.send(
                [f.delete_rules(s.jpki_aid)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND})
            )
        order.result["deleted"] = [aid.hex().upper()]
        return order.result

    return run


# -- the SIM design ----------


class ClearKeyPackage(TsmService):
    """Delivers the off-card key in a package in clear, not wrapped under the Key-DEK (TSM-OFF-01)."""

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        from cryptography.hazmat.primitives import serialization

        cert, key = self.backend.issue_off_card(applicant, se_id, kind)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert, der


class PackageForAnySe(TsmService):
    """Names a fixed SE in every key package instead of the SE it is sent to (TSM-OFF-02)."""

    def key_package(self, se_id: bytes, wrapped: bytes) -> bytes:
        return super().key_package(bytes(len(se_id)), wrapped)


class ReusesDeliveredKey(TsmService):
    """Delivers the same key pair to every SE (one made at start-up) (TSM-OFF-02)."""

    keys: ClassVar[dict[str, rsa.RSAPrivateKey]] = {}

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        key = self.keys.setdefault(kind, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        with self.backend.store.transaction() as db:
            cert = self.backend._issue_in(db, applicant, se_id, kind, key.public_key())
        return cert, f.wrap_key(key, self.target.keys.dek)


class KeyInResult(TsmService):
    """Keeps a copy of each delivered private key (hex) in its deletion records, "for support"
    (TSM-OFF-03)."""

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        from cryptography.hazmat.primitives import serialization

        cert, key = self.backend.issue_off_card(applicant, se_id, kind)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.store.add_deletion(f"key-{kind}-{der.hex()}", False, "support copy")
        return cert, f.wrap_key(key, self.target.keys.dek)


class FixedTransportKey(TsmService):
    """Wraps the delivered key under a transport key built into the TSM, not the SE's Key-DEK (TSM-OFF-01)."""

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        cert, key = self.backend.issue_off_card(applicant, se_id, kind)
        return cert, f.wrap_key(key, bytes(16))


class KeyInOrderResult(TsmService):
    """Hands the delivered private keys (hex) to the app in the order's result, "for backup" (TSM-OFF-03)."""

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        from cryptography.hazmat.primitives import serialization

        cert, key = self.backend.issue_off_card(applicant, se_id, kind)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.backup = {**getattr(self, "backup", {}), kind: der.hex()}
        return cert, f.wrap_key(key, self.target.keys.dek)


def _issue_with_backup(order: Order, fx: FlowContext) -> Script:
    result = yield from FLOWS["issue"](order, fx)
    order.result["backup"] = dict(getattr(fx.tsm, "backup", {}))
    return result


KeyInOrderResult.flows = {**FLOWS, "issue": _issue_with_backup}


class _NoPasswordBackend(JlisBackend):
    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        with self.store.transaction() as db:  # the reference's ⑪ without the password comparison
            row = db.execute("SELECT * FROM access_codes WHERE code = ?", (str(code),)).fetchone()
            if row is None:
                raise BackendError("bad-access-code", "the access code or the password does not match")
            if row["used"]:
                raise BackendError("used-access-code", "the access code was used before")
            db.execute("UPDATE access_codes SET used = 1 WHERE code = ?", (row["code"],))
        return self._applicant_for(row["card_serial"])


class _CodePrefixBackend(JlisBackend):
    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        rows = self.store.query(
            "SELECT code FROM access_codes WHERE substr(code, 1, ?) = ?", len(code) - 1, code[:-1]
        )
        return super().redeem_access_code(rows[0]["code"] if rows else code, password)


class _ReusableCodeBackend(JlisBackend):
    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        applicant = super().redeem_access_code(code, password)
        with self.store.transaction() as db:
            db.execute("UPDATE access_codes SET used = 0 WHERE code = ?", (str(code),))
        return applicant


# -- more faults (issue 12 follow-up: three or more per requirement) ----------


class _View:
    """A stand-in for a flow's context (or its TSM) that answers some names itself and passes the rest on."""

    def __init__(self, inner: Any, **own: Any) -> None:
        self._inner = inner
        self.__dict__.update(own)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _backend_view(flow: f.FlowFn, change: Callable[[Order, FlowContext, str, tuple, Any], Any]) -> f.FlowFn:
    """``flow`` seeing the back end's answers through ``change(order, fx, method, args, answer)``."""

    def run(order: Order, fx: FlowContext) -> Script:
        def backend(method: str, *args: Any) -> Any:
            return change(order, fx, method, args, fx.backend(method, *args))

        return (yield from flow(order, _View(fx, backend=backend)))  # type: ignore[arg-type]

    return run


def _live_elsewhere(order: Order, fx: FlowContext, method: str, args: tuple, answer: Any) -> Any:
    """Only the live certificates on other SEs (the device-change look-up) reach the flow."""
    if method == "phone_certificates":
        return [c for c in answer if c.se_id != order.result.get("se_id")]
    return answer


def _suspended_se_skipped(order: Order, fx: FlowContext, method: str, args: tuple, answer: Any) -> Any:
    """An SE with a suspended certificate is taken as dealt with by the call centre (left out)."""
    if method == "phone_certificates":
        held = {c.se_id for c in answer if c.status == "suspended"}
        return [c for c in answer if c.se_id not in held]
    return answer


def _checks_on_the_bound_se(flow: f.FlowFn) -> f.FlowFn:
    """PIN initialisation whose binding and status checks use the SE ID the back end has bound to the card
    (a stale value), not the one read from the SE in session."""

    def run(order: Order, fx: FlowContext) -> Script:
        def backend(method: str, *args: Any) -> Any:
            if method in ("check_binding", "check_phone_status"):
                bound = fx.backend("bound_se", args[0]) or args[1]
                args = (args[0], bound, *args[2:])
            return fx.backend(method, *args)

        return (yield from flow(order, _View(fx, backend=backend)))  # type: ignore[arg-type]

    return run


def _at_level(flow: f.FlowFn, level: int) -> f.FlowFn:
    """``flow`` with every SCP03 session opened at ``level`` whatever the SE requires."""

    def run(order: Order, fx: FlowContext) -> Script:
        tsm = fx.tsm

        def script_channel(keys: Any, sd_aid: bytes, _level: int, draw: Callable[[int], bytes]) -> Any:
            return tsm.script_channel(keys, sd_aid, level, draw)

        view = _View(fx, tsm=_View(tsm, script_channel=script_channel))
        return (yield from flow(order, view))  # type: ignore[arg-type]

    return run


def _issuance_keys_first(order: Order, fx: FlowContext) -> Script:
    """issuance (on-card keys) with step ⑰ before ⑥⑦: the key pairs generated, then the SE ID read."""
    applicant = order.applicant
    assert applicant is not None
    conv = f.applet(fx)
    yield from conv.open()
    generated = yield from conv.send([se.generate_key(f._slot(k)) for k in order.kinds])
    se_id = yield from f.read_se_id(conv)
    order.result["se_id"] = se_id
    live = fx.backend("phone_certificates", applicant.serial, True)
    old_ses = sorted({c.se_id for c in live if c.se_id != se_id})
    if old_ses and not order.confirm_revoke_old:
        raise f.FlowError("confirmation-needed", f"card has live phone certificates on SE(s) {old_ses}")
    if [c for c in live if c.se_id == se_id and c.kind in order.kinds]:
        raise f.FlowError("double-issuance", "this SE already holds live phone certificates")
    for old in old_ses:
        order.result.setdefault("revoked", []).extend(
            fx.backend("revoke_se", applicant.serial, old, "device-change")
        )
        fx.act("request_remote_deletion", old)
    certificates = {}
    for kind, answer in zip(order.kinds, generated, strict=True):
        key = se.parse_generated_key(answer.data)
        certificates[kind] = fx.backend("issue", applicant, se_id, kind, key.public_key, key.r)
    order.result["certificates"] = {k: c.serial for k, c in certificates.items()}
    yield from conv.send(
        [c for k in order.kinds for c in se.put_certificate(f._slot(k), certificates[k].der)]
    )
    yield from f.temp_pin_sequence(conv, fx, order)
    return order.result


def _redrawn_pins(order: Order) -> None:
    pins = order.result.get("temp_pins") or {}  # the app's copy drawn again, not the one sent to the SE
    order.result["temp_pins"] = {k: os.urandom(len(bytes.fromhex(v))).hex() for k, v in pins.items()}


class _RetryCodeBackend(JlisBackend):
    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        rows = self.store.query("SELECT used FROM access_codes WHERE code = ?", str(code))
        retry = bool(rows) and rows[0]["used"] == 1  # one retry "for a delivery that failed"
        if retry:
            with self.store.transaction() as db:
                db.execute("UPDATE access_codes SET used = 0 WHERE code = ?", (str(code),))
        applicant = super().redeem_access_code(code, password)
        if retry:
            with self.store.transaction() as db:
                db.execute("UPDATE access_codes SET used = 2 WHERE code = ?", (str(code),))
        return applicant


class _CachedCodeBackend(JlisBackend):
    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        cache = self.__dict__.setdefault("redeemed", {})  # the SP-TSM keeps J-LIS's answer for the retry
        if (code, password) not in cache:
            cache[code, password] = super().redeem_access_code(code, password)
        return cache[code, password]  # type: ignore[no-any-return]


class _ShortPasswordBackend(JlisBackend):
    WIDTH = 8  # the password column holds 8 characters

    def create_access_code(self, applicant: CardApplicant) -> tuple[str, str]:
        from jpkikit.reference.backend.service import ACCESS_CODE_ALPHABET, _password_hash

        code = "".join(ACCESS_CODE_ALPHABET[b % len(ACCESS_CODE_ALPHABET)] for b in os.urandom(16))
        password, salt = os.urandom(8).hex().upper(), os.urandom(16)
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO access_codes (code, password_hash, salt, card_serial, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (code, _password_hash(salt, password[: self.WIDTH]), salt, applicant.serial, "now"),
            )
        return code, password

    def redeem_access_code(self, code: str, password: str) -> CardApplicant:
        return super().redeem_access_code(code, str(password)[: self.WIDTH])


def _only_for(relaxed_operation: str, relaxed: type[JlisBackend]) -> type[JlisBackend]:
    """A back end that checks applications of one operation as ``relaxed`` does, the others as J-LIS."""

    class Only(relaxed):  # type: ignore[valid-type, misc]
        def check_application(
            self, card_cert_der: bytes, application: bytes, signature: bytes, operation: str | None = None
        ) -> CardApplicant:
            if operation == relaxed_operation:
                return relaxed.check_application(self, card_cert_der, application, signature, operation)
            return JlisBackend.check_application(self, card_cert_der, application, signature, operation)

        def check_card(self, card_cert_der: bytes) -> x509.Certificate:
            if self.__dict__.get("relaxing"):
                return relaxed.check_card(self, card_cert_der)
            return JlisBackend.check_card(self, card_cert_der)

    Only.__name__ = Only.__qualname__ = f"{relaxed.__name__}For{relaxed_operation.title().replace('-', '')}"
    return Only


class _RelaxedCardCheck(JlisBackend):
    """check_card relaxed (any CA) while the application being checked is of the relaxed operation."""

    def check_application(
        self, card_cert_der: bytes, application: bytes, signature: bytes, operation: str | None = None
    ) -> CardApplicant:
        self.__dict__["relaxing"] = True
        try:
            return JlisBackend.check_application(self, card_cert_der, application, signature, operation)
        finally:
            self.__dict__["relaxing"] = False

    def check_card(self, card_cert_der: bytes) -> x509.Certificate:
        return _AcceptsForeignBackend.check_card(self, card_cert_der)  # type: ignore[arg-type]


class _ExpiredForPinInit(_RelaxedCardCheck):
    """check_card relaxed (expired accepted) while an application is being checked."""

    def check_card(self, card_cert_der: bytes) -> x509.Certificate:
        return _AcceptsExpiredBackend.check_card(self, card_cert_der)  # type: ignore[arg-type]


class _SuspendedOnlyOnLossBackend(JlisBackend):
    def revoke_se(self, card_serial: str, se_id: str, reason: str) -> list[str]:
        held = self.store.query(
            "SELECT 1 FROM phone_certificates WHERE card_serial = ? AND se_id = ? AND status = 'suspended'",
            card_serial,
            se_id.upper(),
        )
        if reason == "device-change" and held:  # a lost phone: revoke what the call centre suspended
            where = "card_serial = ? AND se_id = ? AND status = 'suspended'"
            return self._revoke_where(where, (card_serial, se_id.upper()), reason)
        return super().revoke_se(card_serial, se_id, reason)


class _RevokeAllAuthOnlyBackend(JlisBackend):
    def revoke_all_of_card(self, card_serial: str, reason: str) -> list[str]:
        return self._revoke_where("card_serial = ? AND kind = 'auth'", (card_serial,), reason)


class _CachedCrlBackend(JlisBackend):
    def crl(self, kind: str) -> bytes:
        cache = self.__dict__.setdefault("crls", {})  # rebuilt when one certificate changes status only
        if kind not in cache:
            cache[kind] = super().crl(kind)
        return cache[kind]  # type: ignore[no-any-return]

    def _set_status(self, serial: str, new: str, allowed_from: tuple[str, ...], reason: str | None) -> None:
        self.__dict__.setdefault("crls", {}).clear()
        super()._set_status(serial, new, allowed_from, reason)


class _LastKindStatusBackend(JlisBackend):
    def check_phone_status(self, card_serial: str, se_id: str, kinds: tuple[str, ...]) -> None:
        super().check_phone_status(card_serial, se_id, kinds[-1:])  # the loop kept its last kind only


class _OptionalCommitmentBackend(JlisBackend):
    def issue(
        self, applicant: CardApplicant, se_id: str, kind: str, public_key: Any, r: bytes
    ) -> PhoneCertificate:
        if self.commitment(applicant, kind) is None:  # no S in the application: nothing to compare
            with self.store.transaction() as db:
                return self._issue_in(db, applicant, se_id, kind, public_key)
        return super().issue(applicant, se_id, kind, public_key, r)


class _JstValidityBackend(JlisBackend):
    def make_certificate(
        self, kind: str, public_key: Any, card_cert: Any, now: dt.datetime
    ) -> x509.Certificate:  # the card's end of validity read as Japan time: 9 hours late in UTC
        cert = super().make_certificate(kind, public_key, card_cert, now)
        return _resign(cert, persona_ca(kind).key, cert.not_valid_after_utc + dt.timedelta(hours=9))


class LeavesSignLive(TsmService):
    """When the SE fails after the certificates were issued, revokes the auth one only (TSM-BAD-01)."""

    def _fail(self, order_id: str, operation: str, exc: Any, digest: str) -> None:
        run = self.runs.get(order_id)
        if run is not None:
            (run.order.result.get("certificates") or {}).pop("sign", None)
        super()._fail(order_id, operation, exc, digest)


class StaleSeIdPackage(TsmService):
    """Names in every key package the SE of its first delivery (a value kept from before) (TSM-OFF-02)."""

    def key_package(self, se_id: bytes, wrapped: bytes) -> bytes:
        return super().key_package(self.__dict__.setdefault("first_se", se_id), wrapped)


class PemKeyInResult(TsmService):
    """Hands the app each delivered private key as PEM in the order's result, "for backup" (TSM-OFF-03)."""

    def issue_and_wrap(
        self, applicant: CardApplicant, se_id: str, kind: str
    ) -> tuple[PhoneCertificate, bytes]:
        from cryptography.hazmat.primitives import serialization

        cert, key = self.backend.issue_off_card(applicant, se_id, kind)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.backup = {**getattr(self, "backup", {}), kind: pem.decode()}
        return cert, f.wrap_key(key, self.target.keys.dek)


PemKeyInResult.flows = {**FLOWS, "issue": _issue_with_backup}


class SelectOnlyTarget(TsmService):
    """Names the targeted application only in a script that SELECTs it, "//aid/" else (TSM-RAM-01)."""

    def targeted(self, order_id: str, script: bytes) -> bytes:
        from jpkikit.reference.tsm.server import _selected
        from jpkikit.vocab.gp.ram_script import decode_commands

        return _selected(decode_commands(script)) or b""


class _ReplyKeyStore(TsmStore):
    def set_reply(self, order_id: str, request: str, reply: bytes | None) -> None:
        super().set_reply(order_id, hashlib.sha256(reply or b"").hexdigest(), reply)  # the reply's digest


class ReplyUnderItsOwnDigest(TsmService):
    """Files the last reply under the digest of the reply instead of the request's, so a repeated request is
    never recognised (TSM-RAM-02)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store.__class__ = _ReplyKeyStore


class RenewsAuthOnly(TsmService):
    """Renewal makes a new auth key pair and certificate only (TSM-REN-01)."""

    def create_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        if doc.get("operation") == "renew":
            doc = {**doc, "kinds": ["auth"]}
        return super().create_order(doc)


class TrustsNamedSe(TsmService):
    """Revocation from the phone revokes the SE the request names, when it names one (TSM-REV-01)."""

    named: str | None = None

    def create_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        self.named = doc.get("se_id") if doc.get("operation") == "revoke" else None
        return super().create_order(doc)

    def named_se(self) -> str | None:
        return self.named


def _revocation_of_named_se(order: Order, fx: FlowContext) -> Script:
    conv = f.applet(fx)
    yield from conv.open()
    read = yield from f.read_se_id(conv)
    se_id = fx.act("named_se") or read
    order.result["se_id"] = se_id
    order.result["revoked"] = fx.backend("revoke_all_on_se", se_id, "revoked-from-phone")
    yield from conv.send([se.delete_keys()])
    order.result["deleted"] = True
    return order.result


TrustsNamedSe.flows = {**FLOWS, "revoke": _revocation_of_named_se}


class DevelopmentCertificate(TsmService):
    """Serves TLS with a development certificate of its own CA, not the one the kit trusts (TSM-TLS-01)."""

    def server_tls(self, context: ssl.SSLContext | None) -> ssl.SSLContext | None:
        import tempfile
        from pathlib import Path

        from jpkikit.host.test_pki import tls_pki

        files = tls_pki(Path(tempfile.mkdtemp(prefix="dev-tls-")))
        dev = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        dev.minimum_version = ssl.TLSVersion.TLSv1_2
        dev.load_cert_chain(str(files.cert), str(files.key))
        return dev


def _applet_deletion_by_lock(order: Order, fx: FlowContext) -> Script:
    """sei_applet_deletion that LOCKs the applet (SET STATUS, GPCS §11.10) "so it can be restored" instead of
    deleting it."""
    s = fx.sei
    conv = f.isd(fx)
    yield from conv.open()
    yield from conv.send([CommandApdu(0x80, INS_SET_STATUS, 0x40, 0x83, s.jpki_aid)])
    rules_conv = f.aram(fx)
    yield from rules_conv.open()
    yield from rules_conv.send([f.delete_rules(s.jpki_aid)], allow=frozenset({f.REFERENCED_DATA_NOT_FOUND}))
    order.result["deleted"] = [s.jpki_aid.hex().upper()]
    return order.result


# -- factories ----------

low_level = LowLevel
no_response_protection = NoResponseProtection
validity_starts_tomorrow = _with_backend(
    _StartsTomorrowBackend, "Phone certificates valid from the next day."
)
targets_the_isd = TargetsTheIsd
cascade_auth_only = _with_backend(_CascadeAuthOnlyBackend, "The card cascade revokes auth certificates only.")
delivers_keys = DeliversKeys
certificate_for_own_key = _with_backend(
    _OwnKeyBackend, "Certifies a key of its own, not the SE's (TSM-KEY-01)."
)
rogue_issuer = _with_backend(
    _RogueCaBackend, "Signs phone certificates with a key not the issuing CA's (TSM-KEY-01)."
)
no_commitment_check = _with_backend(_TrustingBackend, "Never compares H[R] with S (TSM-KEY-02).")
sign_commitment_unchecked = _with_backend(
    _SignUncheckedBackend, "Compares H[R] with S for auth only (TSM-KEY-02)."
)
accepts_expired_card = _with_backend(
    _AcceptsExpiredBackend, "Accepts an expired card certificate (TSM-IDP-01/02)."
)
accepts_revoked_card = _with_backend(
    _AcceptsRevokedBackend, "Accepts a revoked card certificate (TSM-IDP-01/02)."
)
accepts_foreign_card = _with_backend(_AcceptsForeignBackend, "Never verifies the card CA (TSM-IDP-01/02).")
no_signature_check = _with_backend(_NoSignatureCheckBackend, "Never verifies the application's signature.")
accepts_replay = _with_backend(_ReplayBackend, "Never finds a replayed application (TSM-IDP-01/02).")
any_operation = _with_backend(_AnyOperationBackend, "Takes an application of any operation (TSM-IDP-01/02).")
fixed_temp_pin = FixedTempPin
counter_temp_pin = CounterTempPin
hex_text_temp_pin = HexTextTempPin
stretched_temp_pin = StretchedTempPin
short_temp_pin = ShortTempPin
swapped_temp_pins = _with_flows(
    {"issue": _after(FLOWS["issue"], _swap_pins)}, "Hands the app the PINs swapped."
)
auth_temp_pin_only = _with_flows({"issue": _after(FLOWS["issue"], _auth_pin_only)}, "Hands the app one PIN.")
first_binding_kept = _with_backend(_FirstBindingBackend, "Never moves the binding to a new SE (TSM-SEID-02).")
lower_case_binding = _with_backend(_LowerCaseBindingBackend, "The binding kept in lower-case hex.")
no_binding_check = _with_backend(_NoBindingBackend, "Initialises the PIN of whatever SE asks (TSM-SEID-01).")
binding_prefix_compare = _with_backend(_PrefixBindingBackend, "Compares 12 bytes of the SE ID (TSM-SEID-01).")
late_double_issuance_check = _with_backend(
    _BlindBackend, "Finds live certificates only when issuing (TSM-ISS-01)."
)
suspended_not_live = _with_backend(
    _ValidOnlyBackend, "Counts suspended certificates as not live (TSM-ISS-01)."
)
no_phone_status_check = _with_backend(_NoStatusBackend, "PIN init without the phone certificates' status.")
suspended_counts_as_valid = _with_backend(_SuspendedIsValidBackend, "PIN init with a suspended certificate.")
validity_of_the_ca = _with_backend(
    _CaValidityBackend, "Phone certificates valid as long as the CA (TSM-VAL-01)."
)
ignores_rmac = IgnoresRmac
leaves_certificates_live = LeavesCertificatesLive
no_old_revocation = _with_backend(
    _NoRevocationBackend, "Leaves the old device's certificates live (TSM-DEV-01)."
)
old_sign_left_live = _with_backend(_AuthOnlyDeviceChangeBackend, "Revokes the old auth certificate only.")
no_confirmation_needed = NoConfirmationNeeded
suspended_not_revoked = _with_backend(_SkipsSuspendedBackend, "Leaves a suspended certificate suspended.")
renewal_keeps_old = _with_backend(_RenewalKeepsOldBackend, "Renewal leaves the old certificates live.")
renewal_revokes_auth_only = _with_backend(
    _RenewalAuthOnlyBackend, "Renewal revokes the old auth certificate only."
)
phone_revokes_auth_only = _with_backend(_PhoneRevokesAuthOnlyBackend, "Revocation from the phone: auth only.")
revocation_keeps_keys = _with_flows(
    {"revoke": _revocation_without_deletion}, "Revokes but never deletes the keys."
)
no_cascade = _with_backend(
    _NoCascadeBackend, "Card revocation leaves the phone certificates live (TSM-CAS-01)."
)
suspension_revokes = _with_backend(_SuspendRevokesBackend, "A suspension revokes for good (TSM-SUS-01).")
release_by_anyone = _with_backend(_ReleaseByAnyoneBackend, "Any card releases a suspension (TSM-SUS-01).")
release_ignored = _with_backend(_ReleaseIgnoredBackend, "A release is answered but not done (TSM-SUS-01).")
no_remote_deletion = NoRemoteDeletion
revoke_all_keeps_keys = RevokeAllKeepsKeys
cascade_keeps_keys = CascadeKeepsKeys
ignores_card_revocation_notice = IgnoresCardRevocationNotice
suspension_unpublished = _with_backend(_HoldsUnpublishedBackend, "Suspended certificates left off the CRL.")
failures_not_recorded = FailuresNotRecorded
push_counts_as_deleted = PushCountsAsDeleted
wrong_target = WrongTarget
no_repeated_reply = NoRepeatedReply
refuses_resume = RefusesResume
plain_http = PlainHttp
old_tls = OldTls
sei_low_level = SeiLowLevel
apsd_without_sd_privilege = _with_flows(
    {"install": _installation(privileges=0)}, "APSD without SD privilege."
)
applet_not_selectable = _with_flows(
    {"install": _installation(make_selectable=False)}, "Applet left INSTALLED."
)
applet_not_extradited = _with_flows({"install": _installation(extradite=False)}, "Applet stays with the ISD.")
rule_for_every_app = RuleForEveryApp
rule_for_another_app = RuleForAnotherApp
no_rules = NoRules
applet_deletion_keeps_rules = _with_flows({"delete-applet": _applet_deletion_keeps_rules}, "Rules stay.")
reset_keeps_apsd = _with_flows(
    {"factory-reset": _factory_reset("jpki")}, "Factory reset deletes the applet only."
)
reset_keeps_rules = _with_flows(
    {"factory-reset": _factory_reset("apsd", rules=False)}, "Reset keeps the rules."
)
clear_key_package = ClearKeyPackage
fixed_transport_key = FixedTransportKey
key_in_order_result = KeyInOrderResult
applet_deletion_wrong_rules = _with_flows(
    {"delete-applet": _applet_deletion_rules_of("apsd")}, "Deletes the rules of the APSD's AID."
)
package_for_any_se = PackageForAnySe
reuses_delivered_key = ReusesDeliveredKey
key_in_result = KeyInResult
password_not_checked = _with_backend(_NoPasswordBackend, "Never compares the password (TSM-AC-01).")
code_prefix_match = _with_backend(_CodePrefixBackend, "Matches the access code on all but its last letter.")
reusable_access_code = _with_backend(
    _ReusableCodeBackend, "An access code works again and again (TSM-AC-02)."
)

# issue 12 follow-up
access_code_one_retry = _with_backend(_RetryCodeBackend, "An access code works twice (TSM-AC-02).")
access_code_cached = _with_backend(_CachedCodeBackend, "A redeemed access code is answered from a cache.")
password_truncated = _with_backend(
    _ShortPasswordBackend, "Compares 8 characters of the password (TSM-AC-01)."
)
pin_init_signature_unchecked = _with_backend(
    _only_for("pin-init", _NoSignatureCheckBackend), "PIN init without the signature check (TSM-IDP-02)."
)
pin_init_replay = _with_backend(
    _only_for("pin-init", _ReplayBackend), "PIN init takes a replayed application."
)
pin_init_expired_card = _with_backend(
    _only_for("pin-init", _ExpiredForPinInit), "PIN init takes an expired card (TSM-IDP-02)."
)
revoke_all_any_ca = _with_backend(
    _only_for("revoke-all", _RelaxedCardCheck), "Revocation with the card: any CA (TSM-REV-02)."
)
revoke_all_auth_only = _with_backend(_RevokeAllAuthOnlyBackend, "Revocation with the card: auth only.")
stale_crl = _with_backend(_CachedCrlBackend, "The CRL is not rebuilt after a bulk revocation (TSM-REV-02).")
loss_revokes_suspended_only = _with_backend(
    _SuspendedOnlyOnLossBackend, "A lost phone: only its suspended certificate revoked (TSM-LOSS-01)."
)
suspended_se_left_out = _with_flows(
    {"issue": _backend_view(FLOWS["issue"], _suspended_se_skipped)}, "A suspended SE is not an old device."
)
issuance_check_elsewhere_only = _with_flows(
    {"issue": _backend_view(FLOWS["issue"], _live_elsewhere)}, "Double issuance left to J-LIS (TSM-ISS-01)."
)
pin_init_checks_bound_se = _with_flows(
    {"pin-init": _checks_on_the_bound_se(FLOWS["pin-init"])}, "PIN init checks the bound SE (TSM-SEID-01)."
)
pin_init_low_level = _with_flows(
    {"pin-init": _at_level(FLOWS["pin-init"], 0x13)}, "PIN init under SCP03 level 13 (TSM-SCP-01)."
)
keys_before_se_id = _with_flows({"issue": _issuance_keys_first}, "Keys made before the SE ID is read.")
app_pins_redrawn = _with_flows(
    {"issue": _after(FLOWS["issue"], _redrawn_pins)}, "The app's PINs drawn again."
)
status_of_last_kind = _with_backend(_LastKindStatusBackend, "PIN init checks the last kind's status only.")
optional_commitment = _with_backend(_OptionalCommitmentBackend, "No S in the application: no check.")
validity_in_jst = _with_backend(_JstValidityBackend, "Phone certificates valid 9 hours past the card.")
leaves_sign_live = LeavesSignLive
delivery_without_c_decryption = _with_flows(
    {"issue": _at_level(FLOWS["issue"], 0x11)}, "Issuance (key delivery) under C-MAC + R-MAC (11) only."
)
stale_se_id_package = StaleSeIdPackage
pem_key_in_result = PemKeyInResult
select_only_target = SelectOnlyTarget
reply_under_its_own_digest = ReplyUnderItsOwnDigest
renews_auth_only = RenewsAuthOnly
trusts_named_se = TrustsNamedSe
development_certificate = DevelopmentCertificate
apsd_with_isd_keys = _with_flows({"install": _installation(apsd_gets_isd_keys=True)}, "APSD gets ISD keys.")
applet_locked = _with_flows({"install": _installation(lock_applet=True)}, "The applet installed LOCKED.")
applet_locked_not_deleted = _with_flows({"delete-applet": _applet_deletion_by_lock}, "Locks, never deletes.")
reset_without_related = _with_flows(
    {"factory-reset": _factory_reset("apsd", related=False)},
    "Reset deletes the APSD without related objects.",
)
