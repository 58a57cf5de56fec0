"""The JPKI client sequence through the reader (seed 004 p.3: phones used at existing card readers; seed 000
§4(4) 課題⑦: the counters' IC card readers and the phones; docs/spec/jpki-applet.md#what-opensc-expects):
SELECT, the certificate EFs of 1-2 KB, VERIFY, a 256-byte signature, within the waiting-time budgets the ICS
claims."""

from __future__ import annotations

import os

import pytest
from cryptography import x509

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.secrets import reveal_bytes
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki.card import AUTH

from .support import (
    DIGEST_INFO_SHA256,
    Timed,
    chained,
    claims,
    raw,
    read_certificate,
    recovered,
    select,
    select_ef,
    sign,
)


def _sequence(card: CardSession, profile: Profile) -> tuple[Timed, bytes, bytes]:
    """OpenSC's order (docs/spec/jpki-applet.md#commands): SELECT AP, the CA certificate, VERIFY, the auth
    certificate (on a phone it needs the PIN), SELECT key EF, COMPUTE DIGITAL SIGNATURE."""
    session = raw(card)
    timed = Timed()
    assert timed.send(session, "SELECT AP", select(profile.ixit.aids.jpki)).ok, "SELECT of the JPKI AP failed"
    ca = read_certificate(session, timed, AUTH.ca_ef)
    assert timed.send(session, "SELECT PIN", select_ef(AUTH.pin_ef)).ok
    pin = reveal_bytes(profile.secret("auth_pin"))
    v = timed.send(session, "VERIFY", CommandApdu(0x00, 0x20, 0x00, 0x80, pin))
    assert v.ok, f"VERIFY of the auth PIN through the reader answered {v}"
    cert = read_certificate(session, timed, AUTH.cert_ef)
    assert timed.send(session, "SELECT key", select_ef(AUTH.key_ef)).ok
    data = DIGEST_INFO_SHA256 + os.urandom(32)
    signature = timed.send(session, "SIGN", sign(data))
    assert signature.ok and len(signature.data) == 256, (
        f"the signature through the reader answered {signature}"
    )
    public = chained(cert, ca).public_key()
    assert recovered(public, signature.data) == data, (
        "the signature does not verify with the auth certificate"
    )  # type: ignore[arg-type]
    return timed, cert, ca


@pytest.mark.requirement("RW-JPKI-01")
def test_jpki_client_sequence(card: CardSession, profile: Profile) -> None:
    _, cert, ca = _sequence(card, profile)
    assert 1024 <= len(ca) <= 2048 or 1024 <= len(cert) <= 2048, "no certificate EF of 1-2 KB was read"
    x509.load_der_x509_certificate(cert)


@pytest.mark.requirement("RW-TIME-01")
def test_waiting_time_budgets(card: CardSession, profile: Profile) -> None:
    rw = claims(profile)
    timed, _, _ = _sequence(card, profile)
    slow = [(what, round(ms, 1)) for what, ms, _ in timed.steps if what != "SIGN" and ms > rw.apdu_budget_ms]
    assert not slow, f"APDUs over the budget of {rw.apdu_budget_ms} ms (ics.rw.apdu_budget_ms): {slow}"
    signature = timed.total(("VERIFY", "SELECT key", "SIGN"))
    assert signature <= rw.signature_budget_ms, (
        f"one signature (VERIFY, SELECT key, COMPUTE DIGITAL SIGNATURE) took {signature:.0f} ms, over the "
        f"budget of {rw.signature_budget_ms} ms (ics.rw.signature_budget_ms)"
    )
