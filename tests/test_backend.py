"""The simulated J-LIS back end (jpkikit.reference.backend): application checks, issuance with the
commitment, binding,
status, double issuance, card revocation cascade, CRL, restart and atomicity."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from jpkikit.reference.backend import BackendError, JlisBackend
from jpkikit.reference.backend import service as service_module
from jpkikit.reference.persona import load_persona
from jpkikit.vocab.jpki.x509profile import check_end_entity

SE_A, SE_B = "A1" * 16, "B2" * 16
APPLICATION = b'{"type": "issue", "nonce": "0001"}'


def _signed(application: bytes = APPLICATION) -> tuple[bytes, bytes, bytes]:
    persona = load_persona()
    signature = persona.private_key("sign").sign(application, padding.PKCS1v15(), hashes.SHA256())
    return persona.certs["sign"], application, signature


def _phone_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issue(backend: JlisBackend, se_id: str, kind: str = "auth") -> service_module.PhoneCertificate:
    applicant = backend.check_application(*_signed())
    r = os.urandom(32)
    backend.record_commitment(applicant.serial, se_id, kind, hashlib.sha256(r).digest())
    return backend.issue(applicant, se_id, kind, _phone_key().public_key(), r)


def test_issuance_binds_and_follows_the_profile() -> None:
    backend = JlisBackend()
    for kind in ("auth", "sign"):
        cert = _issue(backend, SE_A, kind)
        assert cert.status == "valid" and backend.status(cert.serial) == "valid"
        problems = check_end_entity(cert.der, backend.ca_certificate(kind), kind)
        assert problems == [], problems
    card = backend.check_application(*_signed())
    assert backend.bound_se(card.serial) == SE_A
    backend.check_binding(card.serial, SE_A)
    with pytest.raises(BackendError) as exc:
        backend.check_binding(card.serial, SE_B)
    assert exc.value.reason == "se-not-bound"


def test_bad_applications_are_refused() -> None:
    backend = JlisBackend()
    cert, application, signature = _signed()
    with pytest.raises(BackendError, match="bad-application-signature"):
        backend.check_application(cert, application + b" ", signature)
    key = _phone_key()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "not J-LIS")])
    now = dt.datetime.now(dt.UTC)
    fake = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=9))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(BackendError, match="unknown-card-certificate"):
        backend.check_application(fake.public_bytes(Encoding.DER), application, signature)
    with pytest.raises(BackendError, match="unknown-card-certificate"):
        backend.check_application(b"garbage", application, signature)
    later = JlisBackend(clock=lambda: dt.datetime(2032, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(BackendError, match="expired-card-certificate"):
        later.check_application(cert, application, signature)


def test_commitment_mismatch_and_double_issuance() -> None:
    backend = JlisBackend()
    applicant = backend.check_application(*_signed())
    backend.record_commitment(applicant.serial, SE_A, "auth", hashlib.sha256(b"R" * 32).digest())
    with pytest.raises(BackendError, match="commitment-mismatch"):
        backend.issue(applicant, SE_A, "auth", _phone_key().public_key(), b"X" * 32)
    assert backend.phone_certificates(applicant.serial) == []
    with pytest.raises(BackendError, match="no-commitment"):
        backend.issue(applicant, SE_B, "auth", _phone_key().public_key(), b"R" * 32)
    first = _issue(backend, SE_A)
    with pytest.raises(BackendError, match="double-issuance"):
        _issue(backend, SE_B)
    backend.suspend(first.serial)
    with pytest.raises(BackendError, match="double-issuance"):
        _issue(backend, SE_B)  # a suspended certificate is still live
    assert backend.revoke_se(applicant.serial, SE_A, "device-change") == [first.serial]
    second = _issue(backend, SE_B)  # device change: the old one revoked first (seed 004 p.16)
    assert backend.bound_se(applicant.serial) == SE_B and second.serial != first.serial


def test_status_changes_crl_and_card_revocation() -> None:
    backend = JlisBackend()
    auth, sign = _issue(backend, SE_A, "auth"), _issue(backend, SE_A, "sign")
    backend.suspend(auth.serial)
    with pytest.raises(BackendError, match="bad-state"):
        backend.suspend(auth.serial)
    crl = x509.load_der_x509_crl(backend.crl("auth"))
    entry = crl.get_revoked_certificate_by_serial_number(int(auth.serial, 16))
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.certificate_hold
    )
    backend.release(auth.serial)
    assert backend.status(auth.serial) == "valid"
    assert (
        x509.load_der_x509_crl(backend.crl("auth")).get_revoked_certificate_by_serial_number(
            int(auth.serial, 16)
        )
        is None
    )
    revoked = backend.revoke_card(auth.card_serial)
    assert set(revoked) == {auth.serial, sign.serial}
    assert {backend.status(s) for s in revoked} == {"revoked"}
    with pytest.raises(BackendError, match="revoked-card-certificate"):
        backend.check_application(*_signed())
    crl = x509.load_der_x509_crl(backend.crl("sign"))
    assert crl.is_signature_valid(backend_ca_key(backend, "sign"))
    assert crl.get_revoked_certificate_by_serial_number(int(sign.serial, 16)) is not None


def backend_ca_key(backend: JlisBackend, kind: str) -> rsa.RSAPublicKey:
    key = x509.load_der_x509_certificate(backend.ca_certificate(kind)).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def test_restart_loses_nothing_and_a_crash_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jlis.sqlite"
    backend = JlisBackend(path)
    cert = _issue(backend, SE_A)
    backend.suspend(cert.serial)
    applicant = backend.check_application(*_signed())
    backend.record_commitment(applicant.serial, SE_A, "sign", hashlib.sha256(b"r" * 32).digest())

    def crash(*args: object) -> None:
        raise RuntimeError("power cut while signing")

    monkeypatch.setattr(service_module, "issue_phone_certificate", crash)
    with pytest.raises(RuntimeError):
        backend.issue(applicant, SE_A, "sign", _phone_key().public_key(), b"r" * 32)
    backend.close()
    monkeypatch.undo()
    again = JlisBackend(path)
    assert again.status(cert.serial) == "suspended" and again.bound_se(cert.card_serial) == SE_A
    assert [c.kind for c in again.phone_certificates(cert.card_serial)] == ["auth"]  # no half-issued sign
    signed = again.issue(applicant, SE_A, "sign", _phone_key().public_key(), b"r" * 32)  # commitment kept
    assert signed.status == "valid"
