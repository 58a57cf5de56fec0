"""The emulator's JPKI applet, command by command (docs/spec/jpki-applet.md, from "File map and access
rules" to "The phone token (GP-SE)"), straight on the Card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from jpkikit.reference.emulator.personalities import CARD_FACE_AIDS, get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.persona import load_persona
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.jpki.pkcs1 import digest_info_of, verify_data

SELECT_AP = "00A4040C0A" + JPKI_AID.hex()
PERSONA = load_persona()
AUTH_PIN, SIGN_PIN = PERSONA.pins["auth"].encode().hex(), PERSONA.pins["sign"].encode().hex()


def tx(card: Card, hex_: str) -> str:
    return card.process(bytes.fromhex(hex_.replace(" ", ""))).hex().upper()


def fresh(personality: str = "gp-se", state: Path | None = None) -> Card:
    card = Card(get_personality(personality), state)
    card.power_on()
    assert tx(card, SELECT_AP) == "9000"
    return card


def select(card: Card, fid: str) -> str:
    return tx(card, "00A4020C02" + fid)


def verify(card: Card, fid: str, pin_hex: str) -> str:
    assert select(card, fid) == "9000"
    return tx(card, f"00200080{len(pin_hex) // 2:02X}{pin_hex}")


def sign(card: Card, key: str, data: bytes) -> str:
    assert select(card, key) == "9000"
    return tx(card, f"802A0080{len(data):02X}{data.hex()}00")


@pytest.fixture(params=["gp-se", "mynumber-card", "sim"])
def card(request: pytest.FixtureRequest) -> Card:
    return fresh(request.param)


def test_every_ef_selectable_and_missing_one_6a82(card: Card) -> None:
    for fid in ("0001", "0002", "0006", "0008", "000A", "000B", "0017", "0018", "001A", "001B"):
        assert select(card, fid) == "9000", fid
    assert select(card, "0099") == "6A82"
    assert tx(card, "00B0000001") == "6981", "EF 001B (a PIN EF) stays current after the failed SELECT"


def test_certificates_are_the_persona(card: Card) -> None:
    assert verify(card, "001B", SIGN_PIN) == "9000"
    assert verify(card, "0018", AUTH_PIN) == "9000"
    for fid, label in (("0001", "sign"), ("0002", "sign-ca"), ("000A", "auth"), ("000B", "auth-ca")):
        der = PERSONA.certs[label]
        assert select(card, fid) == "9000"
        got = b""
        while len(got) < len(der):
            r = bytes.fromhex(tx(card, f"00B0{len(got) >> 8:02X}{len(got) & 0xFF:02X}FF"))
            assert r[-2:] == b"\x90\x00"
            got += r[:-2]
        assert got == der, label
        end = len(der)
        assert tx(card, f"00B0{end >> 8:02X}{end & 0xFF:02X}01") == "6B00", "offset at the end: 6B00"


def test_read_access_by_personality() -> None:
    for personality, auth_free in (("mynumber-card", True), ("gp-se", False), ("sim", False)):
        card = fresh(personality)
        for fid in ("0002", "000B", "0006", "0008"):
            assert select(card, fid) == "9000" and tx(card, "00B0000001")[-4:] == "9000", (personality, fid)
        assert select(card, "0001") == "9000" and tx(card, "00B0000004") == "6982"
        assert select(card, "000A") == "9000"
        assert (tx(card, "00B0000004")[-4:] == "9000") is auth_free, personality
        assert verify(card, "0018", AUTH_PIN) == "9000"
        assert select(card, "000A") == "9000" and tx(card, "00B0000004")[-4:] == "9000"
        assert select(card, "0001") == "9000" and tx(card, "00B0000004") == "6982", "the sign PIN is separate"


def test_token_labels() -> None:
    for personality, label in (("mynumber-card", "JPKIAPICCTOKEN2"), ("gp-se", "JPKIAPGPSETOKEN")):
        card = fresh(personality)
        assert select(card, "0006") == "9000"
        r = bytes.fromhex(tx(card, "00B0000020"))
        assert r[:-2] == label.encode().ljust(32) and r[-2:] == b"\x90\x00"


def test_read_binary_edge_cases(card: Card) -> None:
    assert tx(card, "00B0000001") == "6986", "no current EF"
    assert select(card, "0018") == "9000" and tx(card, "00B0000001") == "6981", "a PIN EF is not readable"
    assert select(card, "0006") == "9000"
    assert tx(card, "00B000A000") == "6B00", "160-byte EF: offset 160 is past the end"
    assert len(tx(card, "00B0009F00")) == 6, "offset 159: the last byte only"
    assert tx(card, "00B0010000") == "6B00", "15-bit offset 0x100"
    assert tx(card, "00B0860001")[-4:] == "9000", "READ BINARY by SFI 06"
    assert tx(card, "00B0990001") == "6A82", "no EF with SFI 19"


def test_verify_retry_query_and_blocking(card: Card) -> None:
    assert select(card, "0018") == "9000"
    assert tx(card, "00200080") == "63C3"
    assert tx(card, "0020008000") == "6700", "retry query with Le"
    assert tx(card, "00200080") == "63C3", "nothing spent"
    assert tx(card, "0020008004" + b"9999".hex()) == "63C2"
    assert tx(card, "0020008004" + AUTH_PIN) == "9000"
    assert tx(card, "00200080") == "63C3", "a success resets the counter"
    assert tx(card, "0020008011" + "31" * 17) == "6700", "17 bytes: too long"
    assert tx(card, "00200080") == "63C3", "an over-long PIN spends nothing"
    assert tx(card, "0020008004" + "FF00E3A4") == "63C2", "non-ASCII is just a wrong PIN"
    assert tx(card, "0020008004" + "31323334".lower()) == "9000"
    for left in (2, 1, 0):
        assert tx(card, "0020008004" + b"0000".hex()) == f"63C{left}"
    for _ in range(3):
        assert tx(card, "0020008004" + AUTH_PIN) == "6984", "blocked: 6984 on every VERIFY"
        assert tx(card, "00200080") == "63C0"
    assert select(card, "0017") == "9000" and sign(card, "0017", b"\x01") == "6982"
    assert verify(card, "001B", SIGN_PIN) == "9000", "the other PIN is independent"


def test_verify_addressing_errors(card: Card) -> None:
    assert tx(card, "00200080") == "6A88", "no PIN EF current"
    assert select(card, "0006") == "9000" and tx(card, "0020008004" + AUTH_PIN) == "6A88"
    assert tx(card, "00200098") == "63C3", "VERIFY by SFI 18"
    assert tx(card, "0020018004" + AUTH_PIN) == "6A86"
    assert tx(card, "00200081") == "6A88", "SFI 01 is not a PIN EF"
    assert tx(card, "00200001") == "6A86"


def test_change_reference_data(card: Card) -> None:
    assert select(card, "001B") == "9000"
    assert tx(card, "0024018006" + b"NEW123".hex()) == "6982", "only after VERIFY"
    assert verify(card, "001B", SIGN_PIN) == "9000"
    assert tx(card, "0024018006" + b"new123".hex()) == "6A80", "lowercase is outside the rules"
    assert tx(card, "0024018005" + b"AB123".hex()) == "6A80", "too short"
    assert tx(card, "0024008006" + b"NEW123".hex()) == "6A86", "P1=00 old+new not supported"
    assert tx(card, "0024018006" + b"NEW123".hex()) == "9000"
    assert tx(card, "0020008006" + SIGN_PIN) == "63C4", "the old value is now wrong"
    assert tx(card, "0020008006" + b"NEW123".hex()) == "9000"


def test_signatures_verify_with_the_certificates(card: Card) -> None:
    for key, pin_ef, pin, label in (("0017", "0018", AUTH_PIN, "auth"), ("001A", "001B", SIGN_PIN, "sign")):
        public = x509.load_der_x509_certificate(PERSONA.certs[label]).public_key()
        di = digest_info_of("sha256", b"message")
        assert sign(card, key, di) == "6982", "no signature without VERIFY"
        assert verify(card, pin_ef, pin) == "9000"
        r = bytes.fromhex(sign(card, key, di))
        assert r[-2:] == b"\x90\x00" and len(r) == 258
        assert verify_data(public, di, r[:-2]) == ""  # type: ignore[arg-type]
        assert sign(card, key, b"") == "6700"
        assert sign(card, key, b"\x01" * 246) == "6700"
        assert sign(card, key, b"\x01" * 245)[-4:] == "9000"
    assert select(card, "0006") == "9000" and tx(card, "802A00800101" + "00") == "6986", "no key EF selected"
    assert tx(card, "802A06800101" + "00") == "6A86", "a P1 no source defines (01-05 are the card's schemes)"


def test_verified_state_cleared_by_reselect_reset_and_other_application() -> None:
    card = fresh("mynumber-card")
    assert verify(card, "0018", AUTH_PIN) == "9000"
    assert sign(card, "0017", b"\x01")[-4:] == "9000"
    assert tx(card, SELECT_AP) == "9000"
    assert sign(card, "0017", b"\x01") == "6982", "re-select clears"
    assert verify(card, "0018", AUTH_PIN) == "9000"
    card.reset()
    assert tx(card, SELECT_AP) == "9000" and sign(card, "0017", b"\x01") == "6982", "reset clears"
    assert verify(card, "0018", AUTH_PIN) == "9000"
    assert tx(card, "00A4040C0A" + CARD_FACE_AIDS[0].hex()) == "9000"
    assert tx(card, SELECT_AP) == "9000" and sign(card, "0017", b"\x01") == "6982", "another AP clears"


def test_gpse_logical_channels_have_their_own_security_state() -> None:
    card = fresh("gp-se")
    assert tx(card, "0070000001") == "019000"
    assert tx(card, "01A4040C0A" + JPKI_AID.hex()) == "9000"
    assert tx(card, "01A4020C020018") == "9000" and tx(card, "0120008004" + AUTH_PIN) == "9000"
    assert tx(card, "01A4020C020017") == "9000"
    assert tx(card, "812A00800101" + "00")[-4:] == "9000", "CLA 81: sign on channel 1"
    assert sign(card, "0017", b"\x01") == "6982", "channel 0 is not verified"
    assert tx(card, "01A4040C0A" + JPKI_AID.hex()) == "9000"
    assert tx(card, "01A4020C020017") == "9000" and tx(card, "812A00800101" + "00") == "6982"


def test_card_rejects_channel_bits_and_secure_messaging() -> None:
    card = fresh("mynumber-card")
    assert tx(card, "01A4020C020018") == "6881"
    assert tx(card, "0CA4020C020018") == "6882"


def test_state_persists_pins_and_counters(tmp_path: Path) -> None:
    state = tmp_path / "card.json"
    card = fresh("gp-se", state)
    assert verify(card, "001B", b"WRONG1".hex()) == "63C4"
    doc = json.loads(state.read_text())
    again = fresh("gp-se", state)
    assert select(again, "001B") == "9000" and tx(again, "00200080") == "63C4"
    assert json.dumps(doc)  # JSON-serialisable


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=4, max_size=300))
def test_no_input_makes_the_applet_fail_internally(raw: bytes) -> None:
    card = fresh("gp-se")
    assert verify(card, "0018", AUTH_PIN) == "9000"
    assert select(card, "0017") == "9000"
    response = card.process(raw)
    assert response[-2:] != b"\x6f\x00", f"internal error for {raw.hex()}"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([0x20, 0x24, 0x2A, 0xA4, 0xB0, 0x84]),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=40),
    st.one_of(st.none(), st.integers(1, 256)),
    st.sampled_from([0x00, 0x80]),
)
def test_jpki_commands_with_any_parameters_answer_a_status(
    ins: int, p1: int, p2: int, data: bytes, ne: int | None, cla: int
) -> None:
    from jpkikit.vocab.iso7816.apdu import CommandApdu

    card = fresh("mynumber-card")
    assert select(card, "0018") == "9000"
    raw = CommandApdu(cla, ins, p1, p2, data, ne).to_bytes()
    assert card.process(raw)[-2:] != b"\x6f\x00", raw.hex()


def test_get_challenge(card: Card) -> None:
    first, second = tx(card, "0084000008"), tx(card, "0084000008")
    assert first[-4:] == second[-4:] == "9000" and len(first) == len(second) == 20 and first != second
    assert tx(card, "00840000") == "6700", "GET CHALLENGE needs Le"
    assert tx(card, "0084010008") == "6A86"


def _signature(response_hex: str) -> bytes:
    r = bytes.fromhex(response_hex)
    assert r[-2:] == b"\x90\x00", response_hex[-4:]
    return r[:-2]


def test_signature_schemes_p1_01_to_05(card: Card) -> None:
    """docs/spec/jpki-applet.md, "Commands": the card's P1 01-05 schemes (SHA-256 on the card, PSS)."""
    from jpkikit.vocab.jpki.signature_schemes import OPTIONAL_SCHEMES, PREHASHED, PSS, verify_scheme

    key = x509.load_der_x509_certificate(PERSONA.certs["auth"]).public_key()
    assert verify(card, "0018", AUTH_PIN) == "9000"
    assert select(card, "0017") == "9000"
    for scheme in OPTIONAL_SCHEMES:
        data = bytes(range(32)) if scheme in PREHASHED else b"message for the card to hash"
        first = _signature(tx(card, f"802A{scheme:02X}80{len(data):02X}{data.hex()}00"))
        assert verify_scheme(scheme, key, data, first) == "", scheme  # type: ignore[arg-type]
        if scheme in PSS:
            again = _signature(tx(card, f"802A{scheme:02X}80{len(data):02X}{data.hex()}00"))
            assert again != first, "the PSS salt is random"
        if scheme in PREHASHED:
            assert tx(card, f"802A{scheme:02X}8021{'00' * 33}00") == "6700", "exactly one SHA-256 hash"
    assert tx(card, "802A038000") == "6700", "no message"


def test_undefined_p1_and_pin_checks_of_the_schemes(card: Card) -> None:
    assert select(card, "0017") == "9000"
    assert tx(card, "802A030805AABBCCDDEE00") == "6A86", "P2 08 is not a key reference"
    for p1 in ("03", "05"):
        assert tx(card, f"802A{p1}8005AABBCCDDEE00") == "6982", "every scheme needs the PIN"
    assert verify(card, "0018", AUTH_PIN) == "9000" and select(card, "0017") == "9000"
    for p1 in ("06", "07", "10", "80", "FF"):
        assert tx(card, f"802A{p1}8005AABBCCDDEE00") == "6A86", p1


def test_long_message_with_extended_length() -> None:
    """A card-hashing scheme signs a message longer than a short APDU where the card takes extended length."""
    from jpkikit.vocab.jpki.signature_schemes import SignatureScheme, verify_scheme

    card = fresh("gp-se")
    key = x509.load_der_x509_certificate(PERSONA.certs["auth"]).public_key()
    assert verify(card, "0018", AUTH_PIN) == "9000" and select(card, "0017") == "9000"
    message = bytes(i % 251 for i in range(2048))
    r = tx(card, "802A038000" + len(message).to_bytes(2, "big").hex() + message.hex() + "0100")
    assert verify_scheme(SignatureScheme.SHA256_DIGEST_INFO, key, message, _signature(r)) == ""
