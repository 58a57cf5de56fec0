"""The test persona is deterministic, loads, and matches docs/spec/jpki-applet.md#certificate-profiles
(checked with asn1crypto)."""

from __future__ import annotations

from importlib import resources

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.reference.persona import load_persona
from jpkikit.reference.persona.generate import HmacDrbg, build, is_probable_prime
from jpkikit.vocab.jpki.x509profile import check_end_entity, check_root


def test_regeneration_gives_the_committed_bytes() -> None:
    committed = resources.files("jpkikit.reference.persona")
    for name, data in build().items():
        assert committed.joinpath(name).read_bytes() == data, f"{name} differs: run tools/make_test_pki.py"


def test_keys_match_certificates_and_are_rsa_2048_f4() -> None:
    persona = load_persona()
    for label in ("auth", "sign"):
        key = persona.private_key(label)
        cert = x509.load_der_x509_certificate(persona.certs[label])
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
        assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
        assert key.public_key().public_numbers().e == 65537
    assert persona.pins == {"auth": "1234", "sign": "ABC123"}


def test_persona_conforms_to_the_certificate_profiles() -> None:
    certs = load_persona().certs
    assert check_root(certs["auth-ca"], "auth", "test") == []
    assert check_root(certs["sign-ca"], "sign", "test") == []
    assert check_end_entity(certs["auth"], certs["auth-ca"], "auth", "test") == []
    assert check_end_entity(certs["sign"], certs["sign-ca"], "sign", "test") == []


def test_hmac_drbg_matches_sp800_90a_shape() -> None:
    a, b = HmacDrbg(b"seed", b"x"), HmacDrbg(b"seed", b"x")
    assert a.generate(100) == b.generate(100)
    assert HmacDrbg(b"seed", b"y").generate(32) != HmacDrbg(b"seed", b"x").generate(32)
    assert all(a.below(10) < 10 for _ in range(50))


@pytest.mark.parametrize(
    ("n", "prime"),
    [
        (2, True),
        (9, False),
        (7919, True),
        (561, False),
        (2**127 - 1, True),
        ((2**61 - 1) * (2**31 - 1), False),
    ],
)
def test_miller_rabin(n: int, prime: bool) -> None:
    assert is_probable_prime(n, HmacDrbg(b"t")) is prime
