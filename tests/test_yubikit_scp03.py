"""SCP03 interoperability with an independent host: yubikit (PyPI ``yubikey-manager``, a test dependency).

yubikit's own SmartCardProtocol, over its own PC/SC connection (``ykman.pcsc.ScardSmartCardConnection``,
pyscard), opens SCP03 sessions with the emulator's security domains served as a real card through pcscd and
the vsmartcard-vpcd driver, and sends commands inside them. Every response in a session passes yubikit's
R-MAC check and R-ENC decryption (it raises BadResponseError otherwise): that is the interoperability proof.
Key sets, AIDs and the ``i`` parameter come from profiles/emulator-gpse.yaml.

What yubikit's SCP03 host does (yubikit/core/smartcard/scp.py and __init__.py, yubikey-manager 5.5-5.9):

- INITIALIZE UPDATE ``80 50 KVN 00`` with an 8-byte random host challenge and no Le: P1 is the KVN of
  ``Scp03KeyParams.ref`` (00 = the card's default key set), P2 (key identifier) is always 00; the KID of the
  KeyRef is not sent.
- It reads the card challenge and cryptogram at fixed S8 offsets (13..20, 21..28) and ignores the key
  information (SCP identifier, ``i``) and anything after byte 28, so the 3-byte sequence counter that a
  pseudo-random card (i b5 = 1, as here: i = 70) appends is tolerated but never checked, and neither is
  the pseudo-random derivation of the card challenge.
- It checks the card cryptogram before sending anything else: a wrong key ends the handshake on the host,
  with no EXTERNAL AUTHENTICATE (``BadResponseError("Wrong SCP03 key set")``, re-raised by init_scp as
  ``ValueError("Incorrect SCP parameters")``; a card error 6A88 is reported the same way).
- EXTERNAL AUTHENTICATE is always ``84 82 33 00`` (C-MAC, C-DECRYPTION, R-MAC, R-ENCRYPTION), 8-byte
  host cryptogram + 8-byte C-MAC.
- In the session it ORs 04 into CLA, encrypts the data field of every command (an empty one too, into one
  padding block), MACs over the header and Lc (never Le), and un-MACs and decrypts every response that
  carries data; 61xx is collected with a plain ``00 C0`` before the R-MAC is checked.

Combinations tested (each one a fresh card): the ISD with KVN 30 named explicitly and with P1 = 00 (default
key set, which resolves to KVN 30), and the JPKI APSD with its KVN 30, all AES-128, S8, level 33, pseudo-
random card challenge with sequence counter; yubikit's SecurityDomainSession API (GET DATA 66 and E0 with
the ISO class); a wrong key and an unknown KVN.

What yubikit cannot exercise, and why:

- AES-192 and AES-256 (ISD KVN 31, 32): its KDF (``_derive``, commented "this only supports aes128")
  always derives 128-bit session keys with L = 0080, where Amd D §4.1.5 / §6.2.1 want session keys as
  long as the static keys (L = 00C0, 0100). The card cryptogram it computes then differs and it reports a
  wrong key set; :func:`test_yubikit_stops_at_aes128` pins that, so a yubikit that learns the longer keys
  shows up here.
- Security levels 01, 03, 11 and 13: P1 = 33 is hard-coded in ``SmartCardProtocol._scp03_init``.
- S16 (i = 71): the host challenge is always 8 bytes and the response offsets are fixed for S8; the
  emulator picks S16 only for a 16-byte host challenge, so yubikit always gets S8.
- KVN 3F (counter at FFFFFE) is left out on purpose: it is the kit's counter exhaustion key set, not an
  interop case.
- Not checked by yubikit at all: the card challenge derivation, the sequence counter, the ``i`` parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jpkikit.harness.profile import load_profile
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card

from .pcsc_support import READER, require_free_slot, served

pytest.importorskip("yubikit", reason="pip install yubikey-manager (the test extra)")

from smartcard.System import readers
from ykman.pcsc import ScardSmartCardConnection
from yubikit.core import TRANSPORT, BadResponseError
from yubikit.core.smartcard import ApduError, SmartCardConnection, SmartCardProtocol
from yubikit.core.smartcard.scp import KeyRef, Scp03KeyParams, ScpKid, StaticKeys
from yubikit.securitydomain import SecurityDomainSession

PROFILE = load_profile(Path(__file__).resolve().parents[1] / "profiles" / "emulator-gpse.yaml")
AIDS = {"isd": PROFILE.get("ixit.gp.isd"), "apsd": PROFILE.get("ixit.gp.apsd")}
I_PARAM = PROFILE.get("ics.gp.i")
EXHAUSTION_KVN = PROFILE.get("ixit.gp.exhaustion_kvn")
KEYSETS = {
    (k.sd, k.kvn): (k.length, bytes.fromhex(PROFILE.secret(k.secret).reveal()))
    for k in PROFILE.get("ixit.gp.keysets")
}
LEVEL = 0x33  # the only level yubikit opens
I_PSEUDO_RANDOM = 0x10  # i b5 (Amd D Table 5-1): pseudo-random card challenge, sequence counter sent
YUBIKIT_KEYSETS = sorted(
    (sd, kvn) for (sd, kvn), (length, _) in KEYSETS.items() if length == 16 and kvn != EXHAUSTION_KVN
)
LONGER_KEYSETS = sorted((sd, kvn) for (sd, kvn), (length, _) in KEYSETS.items() if length != 16)


def _default_kvn(sd: str) -> int:
    """The key set INITIALIZE UPDATE with P1 = 00 selects: the emulator takes the lowest KVN."""
    return min(kvn for s, kvn in KEYSETS if s == sd)


# (security domain, P1 of INITIALIZE UPDATE, the key set it selects)
SESSIONS = [(sd, kvn, kvn) for sd, kvn in YUBIKIT_KEYSETS] + [
    (sd, 0x00, _default_kvn(sd)) for sd in AIDS if (sd, _default_kvn(sd)) in YUBIKIT_KEYSETS
]

INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE, INS_GET_DATA, INS_GET_STATUS = 0x50, 0x82, 0xCA, 0xF2
SCP03_OID = bytes.fromhex("2A864886FC6B04") + bytes((0x03, I_PARAM))  # {globalPlatform 4 scp03 i}, GPCS H.2


class RecordingConnection(SmartCardConnection):
    """yubikit's pyscard connection, with every APDU exchanged kept in ``trace``."""

    def __init__(self, inner: ScardSmartCardConnection) -> None:
        self.inner = inner
        self.trace: list[tuple[bytes, bytes, int]] = []

    @property
    def transport(self) -> TRANSPORT:
        return self.inner.transport

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.send_and_receive(apdu)
        self.trace.append((bytes(apdu), data, sw))
        return data, sw

    def close(self) -> None:
        self.inner.close()

    def exchanges(self, ins: int) -> list[tuple[bytes, bytes, int]]:
        """Each command with INS ``ins`` as sent, with its response data collected over GET RESPONSE."""
        found = []
        for n, (command, data, sw) in enumerate(self.trace):
            if command[1] != ins:
                continue
            following = iter(self.trace[n + 1 :])
            while sw >> 8 == 0x61:
                _, more, sw = next(following)
                data += more
            found.append((command, data, sw))
        return found

    def dump(self) -> str:
        return "\n".join(f"> {c.hex().upper()}\n< {d.hex().upper()} {sw:04X}" for c, d, sw in self.trace)


@pytest.fixture
def link() -> Iterator[RecordingConnection]:
    require_free_slot()
    with served(Card(get_personality(PROFILE.get("ics.personality")))):
        reader = next(r for r in readers() if str(r) == READER)
        connection = RecordingConnection(ScardSmartCardConnection(reader.createConnection()))
        try:
            yield connection
        finally:
            connection.close()


def _params(p1: int, key: bytes) -> Scp03KeyParams:
    return Scp03KeyParams(KeyRef(ScpKid.SCP03, p1), StaticKeys(key, key, key))


def _open(link: RecordingConnection, sd: str, p1: int, key: bytes) -> SmartCardProtocol:
    protocol = SmartCardProtocol(link)
    protocol.select(AIDS[sd])
    protocol.init_scp(_params(p1, key))
    return protocol


def _padded(n: int) -> int:
    """Length of ``n`` bytes after ISO 9797-1 method 2 padding to the AES block."""
    return (n // 16 + 1) * 16


@pytest.mark.pcsc
@pytest.mark.parametrize(
    ("sd", "p1", "kvn"),
    SESSIONS,
    ids=[f"{sd}-p1_{p1:02X}-kvn_{kvn:02X}-aes128-s8-33" for sd, p1, kvn in SESSIONS],
)
def test_scp03_session(link: RecordingConnection, sd: str, p1: int, kvn: int) -> None:
    assert LEVEL in PROFILE.get("ics.gp.levels")
    protocol = _open(link, sd, p1, KEYSETS[sd, kvn][1])

    # The handshake yubikit ran: S8, KID 00; the card answered for key set `kvn`, SCP03 with i, pseudo-random
    # challenge with the sequence counter appended (which yubikit skips).
    [(command, response, sw)] = link.exchanges(INS_INITIALIZE_UPDATE)
    assert command[:5] == bytes((0x80, INS_INITIALIZE_UPDATE, p1, 0x00, 8)) and sw == 0x9000, link.dump()
    assert response[10:13] == bytes((kvn, 0x03, I_PARAM)), link.dump()
    assert len(response) == 29 + (3 if I_PARAM & I_PSEUDO_RANDOM else 0), link.dump()
    [(command, response, sw)] = link.exchanges(INS_EXTERNAL_AUTHENTICATE)
    assert command[:5] == bytes((0x84, INS_EXTERNAL_AUTHENTICATE, LEVEL, 0x00, 16)), link.dump()
    assert (response, sw) == (b"", 0x9000), link.dump()

    # Inside the session; every response here passed yubikit's R-MAC check and was decrypted by it.
    recognition = protocol.send_apdu(0x80, INS_GET_DATA, 0x00, 0x66)  # GP class: 66 { 73 { ... } }
    assert recognition[:1] == b"\x66" and recognition[2:3] == b"\x73", recognition.hex()
    assert SCP03_OID in recognition, recognition.hex()
    command, raw, sw = link.exchanges(INS_GET_DATA)[-1]
    assert command[:5] == bytes.fromhex("84CA006618"), link.dump()  # empty data encrypted: 16 + C-MAC 8
    assert len(raw) == _padded(len(recognition)) + 8 and sw == 0x9000, link.dump()  # R-ENC + R-MAC

    assert protocol.send_apdu(0x00, INS_GET_DATA, 0x00, 0xD3) == bytes((0x80 | LEVEL,))  # current level
    with pytest.raises(ApduError) as error:  # an error status carries no R-MAC (Amd D §6.2.5)...
        protocol.send_apdu(0x80, INS_GET_DATA, 0x00, 0xFE)
    assert error.value.sw == 0x6A88, link.dump()
    if sd == "isd":  # ...and the MAC chain goes on after it
        status = protocol.send_apdu(0x80, INS_GET_STATUS, 0x40, 0x02, b"\x4f\x00")
        assert status[:1] == b"\xe3", status.hex()
    else:
        assert protocol.send_apdu(0x80, INS_GET_DATA, 0x00, 0x66) == recognition


@pytest.mark.pcsc
def test_security_domain_session_api(link: RecordingConnection) -> None:
    """yubikit's SecurityDomainSession: GET DATA 66 and E0 in the ISO class (04 CA), value only back."""
    session = SecurityDomainSession(link)
    kvn = _default_kvn("isd")
    session.authenticate(_params(kvn, KEYSETS["isd", kvn][1]))
    recognition = session.get_card_recognition_data()  # the contents of tag 73
    assert recognition[:1] == b"\x06" and SCP03_OID in recognition, recognition.hex()
    expected = {
        KeyRef(kid, kvn): {0x88: length}
        for (sd, kvn), (length, _) in KEYSETS.items()
        if sd == "isd"
        for kid in (1, 2, 3)
    }
    assert session.get_key_information() == expected, link.dump()


@pytest.mark.pcsc
def test_wrong_key(link: RecordingConnection) -> None:
    kvn = _default_kvn("isd")
    key = KEYSETS["isd", kvn][1]
    with pytest.raises(ValueError, match="Incorrect SCP parameters") as error:
        _open(link, "isd", kvn, bytes(b ^ 0x01 for b in key))
    assert isinstance(error.value.__context__, BadResponseError), repr(error.value.__context__)
    assert "Wrong SCP03 key set" in str(error.value.__context__)
    assert not link.exchanges(INS_EXTERNAL_AUTHENTICATE), link.dump()  # refused on the card cryptogram
    # The card is left usable: the right key opens a session on the same connection.
    protocol = _open(link, "isd", kvn, key)
    assert SCP03_OID in protocol.send_apdu(0x80, INS_GET_DATA, 0x00, 0x66)


@pytest.mark.pcsc
def test_unknown_kvn(link: RecordingConnection) -> None:
    kvn = next(k for k in range(0x7F, 0, -1) if ("isd", k) not in KEYSETS)
    with pytest.raises(ValueError, match="Incorrect SCP parameters") as error:
        _open(link, "isd", kvn, KEYSETS["isd", _default_kvn("isd")][1])
    assert isinstance(error.value.__context__, ApduError) and error.value.__context__.sw == 0x6A88, (
        link.dump()
    )


@pytest.mark.pcsc
@pytest.mark.parametrize(
    ("sd", "kvn"),
    LONGER_KEYSETS,
    ids=[f"{sd}-kvn_{kvn:02X}-aes{KEYSETS[sd, kvn][0] * 8}" for sd, kvn in LONGER_KEYSETS],
)
def test_yubikit_stops_at_aes128(link: RecordingConnection, sd: str, kvn: int) -> None:
    """A limit of yubikit, not of the card: with the right AES-192/256 key it derives AES-128 session keys
    (L = 0080) and rejects the card cryptogram. If this fails, yubikit has learnt the longer keys: move these
    key sets into test_scp03_session."""
    with pytest.raises(ValueError, match="Incorrect SCP parameters") as error:
        _open(link, sd, kvn, KEYSETS[sd, kvn][1])
    assert "Wrong SCP03 key set" in str(error.value.__context__)
    [(_, response, sw)] = link.exchanges(INS_INITIALIZE_UPDATE)
    assert sw == 0x9000 and response[10] == kvn, link.dump()
