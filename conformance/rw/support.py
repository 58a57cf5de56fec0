"""Host side of the reader/writer tests (class rw; docs/spec/reader.md): the reader's claims (ics.rw),
the known card on it (ixit.rw.card), the session with the GET RESPONSE layer off (what the reader itself
does with 61xx and 6Cxx must show), and the JPKI client sequence those tests run through the reader."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.profile_sections import RwCard, RwClaims
from jpkikit.host.card_session import CardSession
from jpkikit.secrets import reveal_bytes
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.jpki.card import AUTH

DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")
#: The largest data a 2048-bit PKCS#1 v1.5 signature takes (k - 11): the longest JPKI command.
MAX_SIGNED = 245


def claims(profile: Profile) -> RwClaims:
    if profile.ics.rw is None:
        raise ProfileError(
            str(profile.path), "ics.rw", "a reader/writer profile states the reader's claims here"
        )
    return profile.ics.rw


def known_card(profile: Profile) -> RwCard:
    if profile.ixit.rw is None:
        raise ProfileError(str(profile.path), "ixit.rw.card", "name the known card on the reader")
    return profile.ixit.rw.card


def card_of_type(profile: Profile, kind: str) -> RwCard:
    """The known card, when it is of Type ``kind``; otherwise the test is not exercised in this set-up (a run
    with a card of that type exercises it, and a campaign combines both runs)."""
    card = known_card(profile)
    if card.type != kind:
        pytest.skip(
            f"not exercised: the card on the reader is Type {card.type} (ixit.rw.card.type); a run with a "
            f"Type {kind} card exercises this"
        )
    return card


def raw(card: CardSession) -> CardSession:
    """The test's session with the kit's GET RESPONSE layer off
    (jpkikit.host.card_session.CardSession.raw)."""
    return card.raw()


@dataclass
class Timed:
    """Each exchange of a sequence with its duration (ms), for the waiting-time budgets."""

    steps: list[tuple[str, float, ResponseApdu]] = field(default_factory=list)

    def send(self, session: CardSession, what: str, apdu: CommandApdu) -> ResponseApdu:
        started = time.perf_counter()
        r = session.transmit(apdu)
        self.steps.append((what, (time.perf_counter() - started) * 1000, r))
        return r

    def total(self, names: tuple[str, ...]) -> float:
        return sum(ms for what, ms, _ in self.steps if what in names)


def select(aid: bytes) -> CommandApdu:
    return CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid)


def select_ef(fid: int) -> CommandApdu:
    return CommandApdu(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read(offset: int, ne: int, extended: bool | None = None) -> CommandApdu:
    return CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, ne=ne, extended=extended)


def sign(data: bytes, ne: int | None = 256, extended: bool | None = None) -> CommandApdu:
    return CommandApdu(0x80, 0x2A, 0x00, 0x80, data, ne, extended)


def read_certificate(session: CardSession, timed: Timed, fid: int) -> bytes:
    """A certificate EF read the way OpenSC does (4-byte header, then 256-byte chunks, Le 00), each READ
    BINARY asserted to answer 9000 with what was asked for."""
    assert timed.send(session, f"SELECT EF {fid:04X}", select_ef(fid)).ok, f"SELECT of EF {fid:04X} failed"
    head = timed.send(session, "READ header", read(0, 4))
    assert head.ok and len(head.data) == 4 and head.data[:2] == b"\x30\x82", (
        f"READ BINARY of the first 4 bytes of EF {fid:04X} through the reader answered {head}"
    )
    total = int.from_bytes(head.data[2:4], "big") + 4
    out = b""
    while len(out) < total:
        want = min(256, total - len(out))
        r = timed.send(session, "READ chunk", read(len(out), want))
        assert r.ok and len(r.data) == want, (
            f"READ BINARY of {want} bytes at {len(out)} of EF {fid:04X} through the reader answered "
            f"{len(r.data)} bytes and {r.sw:04X}"
        )
        out += r.data
    return out


def chained(cert_der: bytes, ca_der: bytes) -> x509.Certificate:
    """The certificate, asserted intact: it parses and its CA's key verifies its signature."""
    try:  # a changed byte may break the DER, the key's algorithm or the signature: each is the reader's fault
        cert = x509.load_der_x509_certificate(cert_der)
        ca = x509.load_der_x509_certificate(ca_der)
        public = ca.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(
            cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
        )  # type: ignore[arg-type]
    except Exception as exc:
        pytest.fail(
            "a certificate read through the reader does not parse or verify with its CA: its bytes were "
            f"changed ({type(exc).__name__})"
        )
    return cert


def recovered(public: rsa.RSAPublicKey, signature: bytes) -> bytes | None:
    try:
        return public.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except Exception:
        return None


def verify_and_select_key(session: CardSession, timed: Timed, profile: Profile) -> None:
    assert timed.send(session, "SELECT AP", select(profile.ixit.aids.jpki)).ok, "SELECT of the JPKI AP failed"
    assert timed.send(session, "SELECT PIN", select_ef(AUTH.pin_ef)).ok
    v = timed.send(
        session, "VERIFY", CommandApdu(0x00, 0x20, 0x00, 0x80, reveal_bytes(profile.secret("auth_pin")))
    )
    assert v.ok, f"VERIFY of the auth PIN through the reader answered {v}"
    assert timed.send(session, "SELECT key", select_ef(AUTH.key_ef)).ok


def auth_public_key(session: CardSession, profile: Profile) -> rsa.RSAPublicKey:
    """The auth certificate's key (EF 000A after VERIFY: on the phone token it needs the PIN)."""
    timed = Timed()
    verify_and_select_key(session, timed, profile)
    der = read_certificate(session, timed, AUTH.cert_ef)
    try:
        public = x509.load_der_x509_certificate(der).public_key()
    except Exception as exc:
        pytest.fail(
            f"the auth certificate read through the reader does not parse: its bytes were changed ({exc})"
        )
    assert isinstance(public, rsa.RSAPublicKey)
    assert timed.send(session, "SELECT key", select_ef(AUTH.key_ef)).ok
    return public
