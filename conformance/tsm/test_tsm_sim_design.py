"""A TSM of the SIM design (seeds 000, 001, 003; docs/spec/system.md#the-earlier-sim-design): the key pair
made off the card and delivered encrypted (an ICS choice, ics.tsm.key_generation off-card), and issuance
authorised by an access code and password checked at the SP-TSM (ics.tsm.access_code)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.harness.profile import Profile

from .support import Phone, Run, TsmHarness, harness

C_DECRYPTION = 0x02  # Amd D Table 7-3


def _key_material(key: rsa.RSAPrivateKey) -> list[bytes]:
    """What would give the key away: its primes and private exponent, and its DER encodings."""
    numbers = key.private_numbers()
    out = [n.to_bytes((n.bit_length() + 7) // 8, "big") for n in (numbers.p, numbers.q, numbers.d)]
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        out.append(key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption()))
    return out


def _issue(h: TsmHarness, phone: Phone) -> Run:
    """An issuance; the caller checks what the TSM delivered first, then that the order completed."""
    run = h.run(phone, "issue", h.new_card())
    assert phone.obs.deliveries, f"the TSM delivered no key pair to the SE ({run.why()})"
    return run


@pytest.mark.requirement("TSM-OFF-01")
def test_off_card_keys_are_delivered_encrypted(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        run = _issue(h, phone)
        for d in phone.obs.deliveries:
            assert d.level is not None and d.level & C_DECRYPTION, (
                f"a key was delivered in a session of level {d.level} without C-DECRYPTION"
            )
            assert d.key is not None, "a delivered key is not wrapped under the Key-DEK of the SE's key set"
            for secret in _key_material(d.key):
                assert secret not in d.wrapped, "the delivered key package carries the key in clear"
        for body in phone.reports[0].bodies:
            for d in phone.obs.deliveries:
                assert d.key is not None
                assert not any(s in body for s in _key_material(d.key)), (
                    "a script carries the private key in clear"
                )
        assert run.done, f"issuance: the TSM's order ended {run.why()}"


@pytest.mark.requirement("TSM-OFF-02")
def test_off_card_keys_are_bound_to_their_se(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        first, second = h.phone(), h.phone()
        runs = [_issue(h, first), _issue(h, second)]
        for phone in (first, second):
            for d in phone.obs.deliveries:
                assert d.se_id == phone.se_id_bytes, (
                    "a key package names another SE than the one it is sent to"
                )
        keys = [d.key.private_numbers() for p in (first, second) for d in p.obs.deliveries if d.key]
        assert len({k.p for k in keys}) == len(keys), "the same private key was delivered twice"
        for phone in (first, second):
            delivered = {d.key.public_key().public_numbers() for d in phone.obs.deliveries if d.key}
            for p2, der in phone.obs.certificates:
                if p2 in (1, 2):
                    key = x509.load_der_x509_certificate(der).public_key()
                    assert isinstance(key, rsa.RSAPublicKey) and key.public_numbers() in delivered, (
                        "a certificate written is not for a key delivered to this SE"
                    )
        for run in runs:
            assert run.done, f"issuance: the TSM's order ended {run.why()}"


@pytest.mark.requirement("TSM-OFF-03")
def test_no_plaintext_key_anywhere_the_kit_can_see(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        card = h.new_card()
        run = h.issue(phone, card)
        texts = [json.dumps(run.result).encode(), json.dumps(h.tsm.deletions()).encode(), h.tsm.crl("auth")]
        texts += phone.reports[0].bodies
        for d in phone.obs.deliveries:
            assert d.key is not None
            for secret in _key_material(d.key):
                hexed = secret.hex().encode()
                for text in texts:
                    assert secret not in text and hexed not in text.lower(), (
                        "the private key shows in clear in what the TSM sent "
                        "(order result, records or scripts)"
                    )
            # the DER encodings in base64 (PEM, RFC 7468 §2): lines joined, JSON's escaped newlines too
            for der in _key_material(d.key)[3:]:
                for text in texts:
                    flat = text.replace(b"\\n", b"").replace(b"\n", b"").replace(b"\r", b"")
                    assert base64.b64encode(der) not in flat, (
                        "the private key shows in clear (base64, PEM) in what the TSM sent "
                        "(order result, records or scripts)"
                    )


def _access_code(h: TsmHarness) -> tuple[str, str]:
    card = h.new_card()
    return h.tsm.request_access_code(h.application(card, "access-code"))


@pytest.mark.requirement("TSM-AC-01")
@pytest.mark.parametrize("case", ["wrong-code", "wrong-password"])
def test_access_code_and_password_are_checked(profile: Profile, tmp_path: Path, case: str) -> None:
    with harness(profile, tmp_path) as h:
        code, password = _access_code(h)
        phone = h.phone()
        if case == "wrong-code":
            bad = {"access_code": code[:-1] + ("A" if code[-1] != "A" else "B"), "password": password}
        else:
            bad = {"access_code": code, "password": password[:-1] + ("0" if password[-1] != "0" else "1")}
        run = h.run(phone, "issue", **bad)
        assert not phone.writes(), f"issuance with a {case.replace('-', ' ')} wrote to the SE"
        assert not run.done, f"issuance with a {case.replace('-', ' ')} completed"
        good = h.run(phone, "issue", access_code=code, password=password)
        assert good.done, f"issuance with the right access code and password: {good.why()}"


@pytest.mark.requirement("TSM-AC-02")
def test_an_access_code_is_used_once(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        code, password = _access_code(h)
        first, second = h.phone(), h.phone()
        done = h.run(first, "issue", access_code=code, password=password)
        assert done.done, f"issuance with the access code: {done.why()}"
        again = h.run(second, "issue", access_code=code, password=password, confirm_revoke_old=True)
        assert not second.writes(), "a used access code wrote keys to another SE"
        assert not again.done, "an access code was accepted a second time"
