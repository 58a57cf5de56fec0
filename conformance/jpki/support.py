"""Host-side helpers for the JPKI conformance tests: PINs and rules from the profile, values derived from
them, certificate reads, signature checks, and restoring the PINs after a test.

Restoring (docs/spec/jpki-applet.md#pin-rules): a right VERIFY resets a PIN's counter, so every test that
spends attempts ends
with one; it never lets a counter reach 0 on the shared card. Blocking cannot be undone over the card
interface, so the tests that block a PIN (JPKI-PIN-04, the model test JPKI-PIN-09) run on a *fresh* card
per example where the kit can renew the implementation (the plugin's ``fresh_card`` fixture: its own
emulator, in-process or launched behind vpcd and reached through PC/SC). On a real device JPKI-PIN-04 is
inconclusive and JPKI-PIN-09 runs in its non-destructive mode: never fewer than one try left, no CHANGE,
and the counters restored by a right VERIFY after each example.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.harness.preflight import claimed_pairs
from jpkikit.harness.profile import Profile
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.secrets import Secret
from jpkikit.vocab.iso7816.apdu import ResponseApdu
from jpkikit.vocab.iso7816.sw import SW, describe
from jpkikit.vocab.jpki.card import AUTH, CHARSETS, MAX_PIN_BYTES, SIGN, KeyPair
from jpkikit.vocab.jpki.pkcs1 import verify_data

#: A character outside each charset, to build a value that breaks the rules: for "printable" (20-7E) the
#: ASCII control character DEL (7F), still one ASCII byte.
OUTSIDE = {"digits": "A", "upper-alnum": "a", "alnum": "-", "printable": "\x7f"}

#: What CHANGE REFERENCE DATA answers for a new value that breaks the PIN rules. jpki-applet.md ("PIN rules")
#: says the card checks length and character set but names no status word; ISO/IEC 7816-4 (status bytes) has
#: 6A80 "incorrect parameters in the command data field" for a value of the wrong format, and 6700 "wrong
#: length" fits a value of the wrong length as well. A data field over 16 bytes is always 6700 (the field is
#: 1 to 16 bytes, as for VERIFY).
#: The two key pairs as test parameters. The signature pair needs the signature function: an applet with
#: the user-authentication function only (the SIM design, ics.jpki.sign_function false) has none of it, so
#: there the ``sign`` parameters are not applicable.
PAIR_PARAMS = [
    pytest.param(AUTH, id="auth"),
    pytest.param(SIGN, id="sign", marks=pytest.mark.applies_if({"claim": "ics.jpki.sign_function"})),
]
#: A test that needs the signature function altogether (its certificate, its PIN against the other).
SIGN_FUNCTION = pytest.mark.applies_if({"claim": "ics.jpki.sign_function"})

WRONG_FORMAT = (SW.WRONG_DATA, SW.WRONG_LENGTH)
WRONG_CHARSET = (SW.WRONG_DATA,)
OVERLONG = (SW.WRONG_LENGTH,)


def said(r: ResponseApdu) -> str:
    """A response as a failure message shows it: the status word and its meaning, and how many data bytes
    came with it (not the bytes: a signature or a certificate makes a message unreadable)."""
    data = f" with {len(r.data)} bytes" if r.data else ""
    return f"{r.sw:04X} ({describe(r.sw)}){data}"


def pin(profile: Profile, pair: KeyPair) -> Secret:
    """The right PIN for ``pair`` from the IXIT secrets; a Secret, unwrapped only in the APDU."""
    return profile.secret(f"{pair.name}_pin")


def other_pair(profile: Profile, pair: KeyPair) -> KeyPair | None:
    """The applet's other key pair, whose state must stay apart from ``pair``'s; None in an applet with the
    user-authentication function only (ics.jpki.sign_function false)."""
    others = [p for p in claimed_pairs(profile) if p is not pair]
    return others[0] if others else None


def rules(profile: Profile, pair: KeyPair) -> Any:
    """The claimed PIN rules (ics.jpki.auth_pin / sign_pin): min_length, max_length, charset, tries."""
    return getattr(profile.ics.jpki, f"{pair.name}_pin")


def shifted(value: str, charset: str, step: int = 1) -> str:
    """``value`` with its last character moved ``step`` places along ``charset``."""
    alphabet = CHARSETS[charset]
    last = value[-1]
    index = alphabet.index(last) if last in alphabet else 0
    return value[:-1] + alphabet[(index + step) % len(alphabet)]


def other_value(value: Secret, pin_rules: Any, step: int = 1) -> Secret:
    """A value of the same length and charset as ``value`` that differs from it (a valid wrong PIN): a
    secret too, since it is one character away from the right one."""
    return value.derive(f"last character +{step}", lambda v: shifted(v, pin_rules.charset, step))


def rule_breakers(value: Secret, pin_rules: Any) -> dict[str, tuple[Secret, tuple[int, ...]]]:
    """Values that break the claimed rules in one way each (too short, too long, outside the charset), with
    the status words CHANGE REFERENCE DATA may refuse each with. Never empty: a value one longer than
    max_length and one with a character outside the charset exist for every rule set."""
    alphabet = CHARSETS[pin_rules.charset]
    out: dict[str, tuple[Secret, tuple[int, ...]]] = {}
    if pin_rules.min_length > 1:
        short = value.derive("too short", lambda v: shifted(v, pin_rules.charset)[: pin_rules.min_length - 1])
        out["shorter than min_length"] = (short, WRONG_FORMAT)
    longer = value.derive("too long", lambda v: (v + alphabet * 17)[: pin_rules.max_length + 1])
    out["longer than max_length"] = (
        longer,
        OVERLONG if pin_rules.max_length + 1 > MAX_PIN_BYTES else WRONG_FORMAT,
    )
    outside = OUTSIDE[pin_rules.charset]
    out[f"outside charset {pin_rules.charset}"] = (
        value.derive("outside the charset", lambda v: v[:-1] + outside),
        WRONG_CHARSET,
    )
    return out


def restore(client: JpkiClient, profile: Profile, candidates: dict[str, list[Secret]] | None = None) -> None:
    """Best effort, never raising on a bad answer: bring both PINs back to their profile value with the
    counter at its maximum and nothing verified. ``candidates`` maps a pair name to values a test may have
    changed the PIN to; the first that verifies is changed back to the profile value."""
    client.select_ap()
    for pair in claimed_pairs(profile):
        right = pin(profile, pair)
        if client.verify(pair.pin_ef, right).ok:
            continue
        for value in (candidates or {}).get(pair.name, []):
            if value != right and client.verify(pair.pin_ef, value).ok:
                client.change(pair.pin_ef, right)
                client.verify(pair.pin_ef, right)
                break
    client.select_ap()


def read_certificate(client: JpkiClient, profile: Profile, cert_ef: int) -> bytes:
    """The DER certificate of ``cert_ef``, verifying whatever PIN the claims say guards it."""
    for pair in claimed_pairs(profile):
        client.verify(pair.pin_ef, pin(profile, pair))
    der, last = client.read_der(cert_ef)
    assert last.ok, f"reading the certificate in EF {cert_ef:04X} after VERIFY of both PINs answered {last}"
    return der


def public_key(der: bytes) -> rsa.RSAPublicKey:
    key = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(key, rsa.RSAPublicKey), "the certificate does not hold an RSA key"
    return key


def signature_problem(key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> str:
    """'' when ``signature`` is the PKCS#1 v1.5 type-1 signature of exactly ``data``
    (docs/spec/jpki-applet.md#signing)."""
    return verify_data(key, data, signature)


def filler(length: int) -> bytes:
    """``length`` deterministic bytes with no run of consecutive values: test data that cannot coincide with
    a key (the public test keys 40 41 .. 4F are such runs, and a scrubber would take the data for one)."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(b"jpkikit filler %d" % counter).digest()
        counter += 1
    return out[:length]
