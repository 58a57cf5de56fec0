"""The reader carries commands and responses unchanged
(docs/spec/reader.md#what-the-reader-is-responsible-for): short APDUs up to 255 command and 256 response
bytes, extended ones up to the reader's and the card's claimed maxima, and APDUs longer than one ISO/IEC
14443-4 frame (block chaining). The JPKI card's own content proves it: a certificate that verifies with its CA
was read whole, a signature that verifies over the bytes sent was computed over exactly those bytes."""

from __future__ import annotations

import os

import pytest

from jpkikit.errors import Inconclusive
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab import iso14443
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import AUTH
from jpkikit.vocab.pcsc import part3

from .support import (
    MAX_SIGNED,
    Timed,
    auth_public_key,
    chained,
    claims,
    known_card,
    raw,
    read,
    read_certificate,
    recovered,
    select,
    select_ef,
    sign,
)


def _payload(n: int) -> bytes:
    """``n`` bytes to sign: a SHA-256 DigestInfo padded with random bytes (the card signs what it gets)."""
    return (bytes.fromhex("3031300d060960864801650304020105000420") + os.urandom(32) + os.urandom(n))[:n]


@pytest.mark.requirement("RW-TR-01")
def test_short_apdus_at_their_limits(card: CardSession, profile: Profile) -> None:
    session = raw(card)
    timed = Timed()
    assert session.transmit(select(profile.ixit.aids.jpki)).ok
    ca = read_certificate(session, timed, AUTH.ca_ef)
    full = [r for what, _, r in timed.steps if what == "READ chunk" and len(r.data) == 256]
    assert full, f"EF {AUTH.ca_ef:04X} ({len(ca)} bytes) gave no 256-byte READ BINARY response to check"
    chained(ca, ca)  # the CA certificate is self-signed
    public = auth_public_key(session, profile)
    data = _payload(MAX_SIGNED)
    r = session.transmit(sign(data))
    assert r.ok and len(r.data) == 256, f"a signature command with {MAX_SIGNED} data bytes answered {r}"
    assert recovered(public, r.data) == data, (
        f"the signature over {MAX_SIGNED} bytes does not verify: the command or the response was changed"
    )


@pytest.mark.requirement("RW-TR-02")
def test_extended_apdus_up_to_the_claimed_maxima(card: CardSession, profile: Profile) -> None:
    rw, iso = claims(profile), profile.ics.iso7816
    ne = min(rw.max_response_data, iso.max_response_data)
    session = raw(card)
    timed = Timed()
    assert session.transmit(select(profile.ixit.aids.jpki)).ok
    ca = read_certificate(session, timed, AUTH.ca_ef)
    assert session.transmit(select_ef(AUTH.ca_ef)).ok
    r = session.transmit(read(0, ne, extended=True))
    want = min(ne, len(ca))
    assert (
        r.sw in (SW.OK, SW.END_OF_FILE, SW.WRONG_P1P2) and r.data[:want] == ca[:want] and len(r.data) >= want
    ), (
        f"an extended READ BINARY with Ne={ne} gave {len(r.data)} bytes and {r.sw:04X}; the EF holds "
        f"{len(ca)} bytes: the extended response was cut or changed"
    )
    public = auth_public_key(session, profile)
    data = _payload(MAX_SIGNED)
    s = session.transmit(sign(data, 256, extended=True))
    assert s.ok and recovered(public, s.data) == data, f"an extended (case 4E) signature command answered {s}"


@pytest.mark.requirement("RW-CHN-01")
def test_apdus_longer_than_a_frame(card: CardSession, profile: Profile) -> None:
    known, rw = known_card(profile), claims(profile)
    fsc = known.fsc
    if fsc is None and known.type == "B":
        hist = part3.historical_of(card.reset())
        fsc = iso14443.frame_size(hist[5] >> 4) if hist and len(hist) == 8 else None
    if fsc is None:
        raise Inconclusive("the card's frame size is not known: give ixit.rw.card.fsc")
    data = _payload(MAX_SIGNED)
    command = sign(data).to_bytes()
    if len(command) <= iso14443.information_field(fsc) and 258 <= iso14443.information_field(rw.fsd):
        raise Inconclusive(
            f"neither a {len(command)}-byte command nor a 258-byte response needs more than one frame"
        )
    session = raw(card)
    public = auth_public_key(session, profile)
    r = session.transmit(sign(data))
    assert r.ok and len(r.data) == 256, (
        f"a {len(command)}-byte command (the card's frame is {fsc} bytes) answered {r}: the chain did not "
        f"arrive whole"
    )
    assert recovered(public, r.data) == data, "the chained command or response arrived changed"
