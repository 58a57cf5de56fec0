"""The simulated J-LIS back end (jpkikit.reference.backend): the identity check of applications (card chain,
validity, revocation, signature, operation, freshness, replay), issuance against the S of the signed
application, binding, status, PIN-initialisation checks, double issuance, the card revocation cascade,
access codes, off-card keys, CRL, restart and atomicity."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from jpkikit.host.test_pki import TestCa, mint_card
from jpkikit.reference.backend import BackendError, JlisBackend
from jpkikit.reference.backend import service as service_module
from jpkikit.reference.backend.certificates import persona_ca
from jpkikit.reference.persona import load_persona
from jpkikit.vocab.jpki.x509profile import check_end_entity

SE_A, SE_B = "A1" * 16, "B2" * 16


def _body(operation: str = "issue", r: dict[str, bytes] | None = None, when: float | None = None) -> bytes:
    doc = {"type": operation, "nonce": os.urandom(16).hex(), "time": int(when or time.time())}
    if r is not None:
        doc["s"] = {kind: hashlib.sha256(v).hexdigest() for kind, v in r.items()}
    return json.dumps(doc, sort_keys=True).encode()


def _signed(body: bytes, card: bytes | None = None) -> tuple[bytes, bytes, bytes]:
    persona = load_persona()
    signature = persona.private_key("sign").sign(body, padding.PKCS1v15(), hashes.SHA256())
    return card or persona.certs["sign"], body, signature


def _phone_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issue(backend: JlisBackend, se_id: str, kind: str = "auth", card: bytes | None = None):  # type: ignore[no-untyped-def]
    r = os.urandom(32)
    applicant = backend.check_application(*_signed(_body("issue", {kind: r}), card), operation="issue")
    return backend.issue(applicant, se_id, kind, _phone_key().public_key(), r)


def _card(**mint: object) -> bytes:
    ca = persona_ca("sign")
    like = x509.load_der_x509_certificate(load_persona().certs["sign"])
    return mint_card(ca.cert, ca.key, load_persona().private_key("sign"), like, **mint)  # type: ignore[arg-type]


def test_issuance_binds_and_follows_the_profile() -> None:
    backend = JlisBackend()
    for kind in ("auth", "sign"):
        cert = _issue(backend, SE_A, kind)
        assert cert.status == "valid" and backend.status(cert.serial) == "valid"
        problems = check_end_entity(cert.der, backend.ca_certificate(kind), kind)
        assert problems == [], problems
    card_serial = cert.card_serial
    assert backend.bound_se(card_serial) == SE_A
    backend.check_binding(card_serial, SE_A)
    with pytest.raises(BackendError) as exc:
        backend.check_binding(card_serial, SE_B)
    assert exc.value.reason == "se-not-bound"
    backend.check_phone_status(card_serial, SE_A, ("auth", "sign"))


def test_the_identity_check_of_applications() -> None:
    backend = JlisBackend()
    cert, body, signature = _signed(_body("issue", {"auth": b"r"}))
    with pytest.raises(BackendError, match="bad-application-signature"):
        backend.check_application(cert, body + b" ", signature)
    with pytest.raises(BackendError, match="wrong-operation"):
        backend.check_application(cert, body, signature, operation="pin-init")
    backend.check_application(cert, body, signature, operation="issue")
    with pytest.raises(BackendError, match="replayed-application"):
        backend.check_application(cert, body, signature, operation="issue")
    with pytest.raises(BackendError, match="stale-application"):
        backend.check_application(*_signed(_body(when=time.time() - 3600)))
    with pytest.raises(BackendError, match="bad-application"):
        backend.check_application(*_signed(b'{"type": "issue"}'))
    key = _phone_key()
    fake = TestCa.generate("not J-LIS").issue(key.public_key())
    with pytest.raises(BackendError, match="unknown-card-certificate"):
        backend.check_application(*_signed(_body(), fake.public_bytes(Encoding.DER)))
    with pytest.raises(BackendError, match="unknown-card-certificate"):
        backend.check_application(b"garbage", body, signature)
    expired = _card(
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    )
    with pytest.raises(BackendError, match="expired-card-certificate"):
        backend.check_application(*_signed(_body(), expired))
    other = _card()
    backend.revoke_card_certificate(other)
    with pytest.raises(BackendError, match="revoked-card-certificate"):
        backend.check_application(*_signed(_body(), other))
    trusted = JlisBackend(card_cas=(TestCa.generate("x").certificate,))  # trusts only "x"
    with pytest.raises(BackendError, match="unknown-card-certificate"):
        trusted.check_application(*_signed(_body()))


def test_the_commitment_comes_from_the_application_and_double_issuance() -> None:
    backend = JlisBackend()
    r = os.urandom(32)
    applicant = backend.check_application(*_signed(_body("issue", {"auth": r})))
    with pytest.raises(BackendError, match="commitment-mismatch"):
        backend.issue(applicant, SE_A, "auth", _phone_key().public_key(), b"X" * 32)
    assert backend.phone_certificates(applicant.serial) == []
    with pytest.raises(BackendError, match="no-commitment"):
        backend.issue(applicant, SE_A, "sign", _phone_key().public_key(), r)
    first = _issue(backend, SE_A)
    with pytest.raises(BackendError, match="double-issuance"):
        _issue(backend, SE_B)
    backend.suspend(first.serial)
    with pytest.raises(BackendError, match="double-issuance"):
        _issue(backend, SE_B)  # a suspended certificate is still live
    with pytest.raises(BackendError, match="phone-certificate-not-valid"):
        backend.check_phone_status(first.card_serial, SE_A, ("auth",))
    assert backend.revoke_se(first.card_serial, SE_A, "device-change") == [first.serial]
    second = _issue(backend, SE_B)  # device change: the old one revoked first (seed 004 p.16)
    assert backend.bound_se(first.card_serial) == SE_B and second.serial != first.serial


def test_status_changes_release_crl_and_card_revocation() -> None:
    backend = JlisBackend()
    auth, sign = _issue(backend, SE_A, "auth"), _issue(backend, SE_A, "sign")
    backend.suspend(auth.serial)
    with pytest.raises(BackendError, match="bad-state"):
        backend.suspend(auth.serial)
    entry = x509.load_der_x509_crl(backend.crl("auth")).get_revoked_certificate_by_serial_number(
        int(auth.serial, 16)
    )
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.certificate_hold
    with pytest.raises(BackendError, match="not-your-certificate"):
        backend.release(auth.serial, "1234")
    backend.release(auth.serial, auth.card_serial)
    assert backend.status(auth.serial) == "valid"
    serial, revoked = backend.revoke_card_certificate(load_persona().certs["sign"])
    assert serial == auth.card_serial and {s for s, _ in revoked} == {auth.serial, sign.serial}
    assert {se for _, se in revoked} == {SE_A}
    with pytest.raises(BackendError, match="revoked-card-certificate"):
        backend.check_application(*_signed(_body()))
    crl = x509.load_der_x509_crl(backend.crl("sign"))
    assert crl.is_signature_valid(persona_ca("sign").cert.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(sign.serial, 16)) is not None


def test_validity_follows_the_card() -> None:
    backend = JlisBackend()
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
    cert = _issue(backend, SE_A, card=_card(not_after=end))
    assert x509.load_der_x509_certificate(cert.der).not_valid_after_utc <= end


def test_access_codes_and_off_card_keys() -> None:
    backend = JlisBackend()
    applicant = backend.check_application(*_signed(_body("access-code")), operation="access-code")
    code, password = backend.create_access_code(applicant)
    with pytest.raises(BackendError, match="bad-access-code"):
        backend.redeem_access_code(code, password + "0")
    with pytest.raises(BackendError, match="bad-access-code"):
        backend.redeem_access_code(code[:-1] + "X", password)
    redeemed = backend.redeem_access_code(code, password)
    assert redeemed.serial == applicant.serial
    with pytest.raises(BackendError, match="used-access-code"):
        backend.redeem_access_code(code, password)
    cert, key = backend.issue_off_card(redeemed, SE_A, "auth")
    public = x509.load_der_x509_certificate(cert.der).public_key()
    assert (
        isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == key.public_key().public_numbers()
    )
    rows = backend.store.query("SELECT * FROM access_codes")
    assert password.encode() not in bytes(rows[0]["password_hash"])


def test_transactions_nest_and_a_crash_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jlis.sqlite"
    backend = JlisBackend(path)
    cert = _issue(backend, SE_A)
    backend.suspend(cert.serial)
    r = os.urandom(32)
    applicant = backend.check_application(*_signed(_body("issue", {"sign": r})))

    def crash(*args: object) -> None:
        raise RuntimeError("power cut while signing")

    monkeypatch.setattr(service_module, "issue_phone_certificate", crash)
    with pytest.raises(RuntimeError), backend.store.transaction():
        backend.revoke(cert.serial, "part of a step")  # joins the outer transaction ...
        backend.issue(applicant, SE_A, "sign", _phone_key().public_key(), r)  # ... which a crash rolls back
    backend.close()
    monkeypatch.undo()
    again = JlisBackend(path)
    assert again.status(cert.serial) == "suspended" and again.bound_se(cert.card_serial) == SE_A
    assert [c.kind for c in again.phone_certificates(cert.card_serial)] == ["auth"]  # no half-issued sign
    signed = again.issue(applicant, SE_A, "sign", _phone_key().public_key(), r)  # the S is still held
    assert signed.status == "valid"
