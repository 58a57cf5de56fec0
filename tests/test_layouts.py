"""The declarative binary layouts (jpkikit.vocab.binary and the layouts of
jpkikit.vocab.gp, .scp03 and .jpki): byte-exact examples
(the SCP03 vector file, a public GlobalPlatformPro GET STATUS trace, the commands the kit sent before the
layouts existed), round trips, and malformed input, which must only ever raise the kit's own error types with
a message naming the field."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from jpkikit.errors import ApduError, KitError, TlvError
from jpkikit.host.link import InProcessTransport
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.reference.emulator.gp.issuance import ISD_KEYS
from jpkikit.reference.emulator.gp.packages import TEST_PACKAGE, package_image
from jpkikit.reference.emulator.gp.packages import load_file as emulator_load_file
from jpkikit.reference.emulator.jpki import token_info
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab import binary as layouts
from jpkikit.vocab.binary import BER_LENGTH, BER_TAG
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.gp.layouts import (
    InstallForInstall,
    InstallForLoad,
    StatusEntry,
    load_file,
    load_file_data_block,
)
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.jpki.layouts import TOKEN_INFO_LENGTH, parse_token_info, parse_token_label
from jpkikit.vocab.scp03 import Scp03Error, StaticKeys
from jpkikit.vocab.scp03.handshake import InitializeUpdateResponse
from jpkikit.vocab.scp03.layouts import (
    INITIALIZE_UPDATE_RESPONSE,
    PUT_KEY_RESPONSE,
    initialize_update_response_length,
)
from jpkikit.vocab.scp03.putkey import (
    PutKeyError,
    encode_aes_key,
    parse_key_data,
    parse_put_key_response,
    put_key_command,
    put_key_response,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "scp03" / "scp03-vectors.json"
ELF = bytes.fromhex("F04A504B494B495400")
MODULE = bytes.fromhex("F04A504B494B49540001")
APP = bytes.fromhex("F04A504B494B4954000101")


def _raises_only(kind: type[Exception], call: object, data: bytes) -> None:
    """``call(data)`` succeeds or raises ``kind`` (a kit error type); nothing else escapes."""
    try:
        call(data)  # type: ignore[operator]
    except kind as exc:
        assert isinstance(exc, KitError) and str(exc)


# -- building blocks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (0x7F, "7F"), (0x80, "8180"), (0xFF, "81FF"), (0x100, "820100"), (0x10000, "83010000")],
)
def test_ber_length(length: int, encoded: str) -> None:
    assert BER_LENGTH.build(length).hex().upper() == encoded
    assert BER_LENGTH.parse(bytes.fromhex(encoded)) == length


@pytest.mark.parametrize(
    ("data", "message"), [("80", "not a BER definite length"), ("85", "81-84"), ("82", "cut")]
)
def test_ber_length_malformed(data: str, message: str) -> None:
    with pytest.raises(ApduError, match=message):
        layouts.parse(BER_LENGTH, bytes.fromhex(data), "length")


@pytest.mark.parametrize("tag", [0x4F, 0x9F70, 0x5F51, 0xBF8101, 0xE3])
def test_ber_tag_round_trip(tag: int) -> None:
    raw = BER_TAG.build(tag)
    assert raw == Tlv(tag).encode()[: len(raw)] and BER_TAG.parse(raw) == tag


@pytest.mark.parametrize(
    ("data", "message"), [("00", "not a BER tag"), ("9F", "cut short"), ("9F00", "leading")]
)
def test_ber_tag_malformed(data: str, message: str) -> None:
    with pytest.raises(TlvError, match=message):
        layouts.parse(BER_TAG, bytes.fromhex(data), "tag", TlvError)


# -- INITIALIZE UPDATE response (Amd D Table 7-2) -----------------------------------------------------------


def _vectors() -> list[dict[str, object]]:
    return list(json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"])


@pytest.mark.parametrize("vector", _vectors()[::5], ids=lambda v: str(v["id"]))
def test_initialize_update_response_vectors(vector: dict) -> None:  # type: ignore[type-arg]
    wire = bytes.fromhex(vector["initialize_update"]["response"])[:-2]  # without SW 9000
    parsed = InitializeUpdateResponse.parse(wire)
    assert parsed.diversification.hex().upper() == vector["diversification_data"]
    assert (parsed.kvn, parsed.scp, parsed.i) == (0x30, 0x03, int(vector["i"], 16))
    assert parsed.card_challenge.hex().upper() == vector["card_challenge"]
    assert parsed.card_cryptogram.hex().upper() == vector["card_cryptogram"]
    assert parsed.sequence_counter == int(vector["sequence_counter"], 16)
    assert parsed.mode.name == vector["mode"]
    assert parsed.to_bytes() == wire
    assert len(wire) == initialize_update_response_length(parsed.i) == (32 if vector["mode"] == "S8" else 48)


@pytest.mark.parametrize("i", range(0x00, 0x100, 0x07))
def test_initialize_update_length_matches_layout(i: int) -> None:
    n = 16 if i & 1 else 8
    values = {
        "diversification": bytes(10),
        "kvn": 0x30,
        "scp": 3,
        "i": i,
        "card_challenge": bytes(n),
        "card_cryptogram": bytes(n),
        "sequence_counter": 5 if i & 0x10 else None,
    }
    assert len(INITIALIZE_UPDATE_RESPONSE.build(values)) == initialize_update_response_length(i)


def test_initialize_update_truncations_name_the_length() -> None:
    wire = bytes.fromhex(_vectors()[0]["initialize_update"]["response"])[:-2]  # type: ignore[index]
    for cut in range(len(wire)):
        with pytest.raises(Scp03Error, match="too short" if cut < 13 else r"i=70 .* needs 32 \(.*cut short"):
            InitializeUpdateResponse.parse(wire[:cut])
    with pytest.raises(Scp03Error, match=r"33 bytes; i=70 .* needs 32 \(bytes follow the sequence counter\)"):
        InitializeUpdateResponse.parse(wire + b"\x00")


def test_initialize_update_to_bytes_checks_the_fields() -> None:
    good = InitializeUpdateResponse(bytes(10), 0x30, 3, 0x70, bytes(8), bytes(8), 1)
    assert len(good.to_bytes()) == 32
    for bad in (
        InitializeUpdateResponse(bytes(10), 0x30, 3, 0x60, bytes(8), bytes(8), 1),  # counter without b5
        InitializeUpdateResponse(bytes(10), 0x30, 3, 0x70, bytes(8), bytes(8), None),  # b5 without counter
        InitializeUpdateResponse(bytes(10), 0x30, 3, 0x71, bytes(8), bytes(8), 1),  # S16 with S8 lengths
        InitializeUpdateResponse(bytes(10), 0x30, 2, 0x70, bytes(8), bytes(8), 1),  # not SCP03
        InitializeUpdateResponse(bytes(9), 0x30, 3, 0x70, bytes(8), bytes(8), 1),
    ):
        with pytest.raises(Scp03Error, match="building"):
            bad.to_bytes()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_initialize_update_garbage(data: bytes) -> None:
    _raises_only(Scp03Error, InitializeUpdateResponse.parse, data)


# -- PUT KEY (GPCS Table 11-71, Amd D Table 7-10) -----------------------------------------------------------

KEY = bytes(range(0x40, 0x50))  # KCV 504A77
DEK = bytes(range(0x60, 0x70))


def _ecb(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def test_put_key_component_byte_exact() -> None:
    ciphertext = _ecb(DEK, KEY).hex().upper()  # one block: CBC with a zero ICV is ECB (§6.2.8)
    assert encode_aes_key(DEK, KEY).hex().upper() == "881110" + ciphertext + "03504A77"
    assert encode_aes_key(DEK, KEY, long_form=False).hex().upper() == "8810" + ciphertext + "03504A77"


@pytest.mark.parametrize("long_form", [True, False])
def test_put_key_command_byte_exact(long_form: bool) -> None:
    keys = StaticKeys.single(KEY, 0x31)
    command = put_key_command(keys, DEK, replace_kvn=0x30, long_form=long_form)
    component = encode_aes_key(DEK, KEY, long_form)
    assert (
        command.to_bytes()
        == bytes.fromhex(f"80D83081{1 + 3 * len(component):02X}31") + component * 3 + b"\x00"
    )
    kvn, components = parse_key_data(command.data, DEK)
    assert kvn == 0x31 and [(c.key, c.kcv.hex()) for c in components] == [(KEY, "504a77")] * 3


def test_put_key_response_byte_exact() -> None:
    kcvs = [bytes.fromhex("504A77"), bytes.fromhex("C35280"), bytes.fromhex("013808")]
    assert put_key_response(0x31, kcvs).hex().upper() == "31504A77C35280013808"
    assert parse_put_key_response(bytes.fromhex("31504A77C35280013808")) == (0x31, kcvs)
    assert PUT_KEY_RESPONSE.sizeof(count=3) == 10
    assert parse_put_key_response(b"\x31\x01\x02\x03", count=1) == (0x31, [b"\x01\x02\x03"])
    for bad in (b"", b"\x31", bytes(11)):
        with pytest.raises(Scp03Error, match="expected for 3 keys"):
            parse_put_key_response(bad)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("", "kvn: cut short"),
        ("318011", r"components\[0\]\.key_type: key type 80"),
        ("318811" + "00" * 5, r"components\[0\]\.ciphertext: cut short"),
        ("31881110" + "00" * 16, r"components\[0\]\.kcv_length: cut short"),
        ("31881110" + "00" * 16 + "02AABB", r"components\[0\]\.kcv_length: KCV length 02"),
        ("31881110" + "00" * 16 + "03AABB", r"components\[0\]\.kcv: cut short"),
        ("318801" + "10" + "03AABBCC", r"components\[0\]: AES key block of 1 bytes"),
        ("318820" + "00" * 32 + "03AABBCC" + "88", r"components\[1\]\.length: cut short"),
    ],
)
def test_put_key_malformed(data: str, field: str) -> None:
    with pytest.raises(PutKeyError, match=field) as info:
        parse_key_data(bytes.fromhex(data), DEK)
    assert info.value.sw == 0x6A80


def test_put_key_wrong_kcv_is_6982() -> None:
    good = bytearray(put_key_command(StaticKeys.single(KEY, 0x31), DEK).data)
    good[-1] ^= 1
    with pytest.raises(PutKeyError, match=r"components\[2\]\.kcv does not match") as info:
        parse_key_data(bytes(good), DEK)
    assert info.value.sw == 0x6982


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_put_key_garbage(data: bytes) -> None:
    _raises_only(PutKeyError, lambda d: parse_key_data(d, DEK), data)
    _raises_only(Scp03Error, parse_put_key_response, data)


# -- INSTALL (GPCS §11.5.2.3) and LOAD (§11.6.2.3) ----------------------------------------------------------

# The data fields conformance/gp/gp.py sent when it still concatenated LV fields by hand.
INSTALL_EXAMPLES = [
    (InstallForLoad(ELF), "09F04A504B494B495400" + "00000000"),
    (InstallForLoad(ELF, ISD_AID), "09F04A504B494B495400" + "08A000000151000000" + "000000"),
    (
        InstallForInstall(ELF, MODULE, APP, b"\x00", b"\xc9\x00"),
        "09F04A504B494B495400"
        + "0AF04A504B494B49540001"
        + "0BF04A504B494B4954000101"
        + "0100"
        + "02C900"
        + "00",
    ),
    (
        InstallForInstall(application_aid=APP, privileges=b"\x00"),
        "0000" + "0BF04A504B494B4954000101" + "010000" + "00",
    ),
    (InstallForInstall(application_aid=APP), "0000" + "0BF04A504B494B4954000101" + "000000"),
]


@pytest.mark.parametrize(("value", "wire"), INSTALL_EXAMPLES)
def test_install_byte_exact(value: InstallForLoad | InstallForInstall, wire: str) -> None:
    assert value.to_bytes().hex().upper() == wire
    assert type(value).parse(bytes.fromhex(wire)) == value


def test_install_ber_lengths() -> None:
    value = InstallForLoad(ELF, load_parameters=bytes(0x80), load_token=bytes(0x100))
    wire = value.to_bytes()
    assert wire[12:14] == b"\x81\x80" and wire[14 + 0x80 : 17 + 0x80] == b"\x82\x01\x00"
    assert InstallForLoad.parse(wire) == value


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.binary(max_size=20), min_size=4, max_size=4),
    st.binary(max_size=300),
    st.binary(max_size=300),
)
def test_install_round_trip(lvs: list[bytes], parameters: bytes, token: bytes) -> None:
    value = InstallForInstall(*lvs, parameters, token)
    assert InstallForInstall.parse(value.to_bytes()) == value
    load = InstallForLoad(*lvs[:3], parameters, token)
    assert InstallForLoad.parse(load.to_bytes()) == load


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "elf_aid: cut short"),
        ("05F04A50", "elf_aid: cut short: 5 bytes expected, 3 left"),
        ("0000" + "0BF04A504B494B4954000101" + "0000", "install_token: cut short"),
        ("0000" + "0BF04A504B494B4954000101" + "00" + "80" + "00", "install_parameters: length byte 80"),
        ("0000" + "0BF04A504B494B4954000101" + "000000" + "00", "bytes follow the last field"),
    ],
)
def test_install_malformed(data: str, message: str) -> None:
    with pytest.raises(ApduError, match=f"INSTALL data: {message}"):
        InstallForInstall.parse(bytes.fromhex(data))


def test_install_for_load_malformed_names_the_field() -> None:
    with pytest.raises(ApduError, match=r"INSTALL \[for load\] data: load_token: cut short"):
        InstallForLoad.parse(bytes.fromhex("09F04A504B494B495400000000"))


def test_load_file() -> None:
    image = package_image(TEST_PACKAGE)
    assert load_file(image) == emulator_load_file(TEST_PACKAGE) == b"\xc4" + bytes((len(image),)) + image
    assert load_file_data_block(load_file(image)) == image
    assert load_file(b"").hex() == "c400" and load_file(bytes(300))[:4].hex() == "c482012c"
    for bad, message in (
        (b"", "cut short"),
        (b"\xe2\x00\xc4\x00", "tag C4 expected, found E2"),
        (b"\xc4\x05abc", "data_block: cut short"),
        (b"\xc4\x01ab", "bytes follow"),
    ):
        with pytest.raises(ApduError, match=f"Load File: {message}"):
            load_file_data_block(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_install_and_load_garbage(data: bytes) -> None:
    _raises_only(ApduError, InstallForInstall.parse, data)
    _raises_only(ApduError, InstallForLoad.parse, data)
    _raises_only(ApduError, load_file_data_block, data)


def _isd_session() -> Scp03Layer:
    layer = Scp03Layer(
        InProcessTransport(Card(get_personality("gp-se"))),
        StaticKeys.single(ISD_KEYS[0x30], 0x30),
        sd_aid=ISD_AID,
    )
    layer.open(0x01)
    return layer


def test_the_emulator_answers_6a80_to_malformed_install_and_load() -> None:
    layer = _isd_session()
    for p1, wire in ((0x02, "09F04A504B494B4954000000"), (0x0C, "09F04A504B494B495400"), (0x20, "00000BF0")):
        assert layer.send(CommandApdu(0x80, 0xE6, p1, 0x00, bytes.fromhex(wire), ne=256)).sw == 0x6A80
    assert (
        layer.send(CommandApdu(0x80, 0xE6, 0x02, 0x00, InstallForLoad(ELF).to_bytes(), ne=256)).sw == 0x9000
    )
    image = package_image(TEST_PACKAGE)
    assert layer.send(CommandApdu(0x80, 0xE8, 0x80, 0x00, b"\xc4\x81" + image[:3], ne=256)).sw == 0x6A80


# -- GET STATUS (GPCS §11.4.3.1, Table 11-36) ---------------------------------------------------------------

# A GlobalPlatformPro GET STATUS P1=80 answer (tests/test_scp03_public_trace.py): the ISD, OP_READY (01),
# privileges 9EFE80, its ELF and itself as associated SD.
GPPRO_ENTRY = bytes.fromhex(
    "E3264F08A0000001510000009F700101C5039EFE80C407A0000001515350CC08A000000151000000"
)


def test_get_status_public_entry() -> None:
    entry = StatusEntry.parse(GPPRO_ENTRY)
    assert entry == StatusEntry(
        aid=bytes.fromhex("A000000151000000"),
        life_cycle=0x01,
        privileges=bytes.fromhex("9EFE80"),
        elf_aid=bytes.fromhex("A0000001515350"),
        sd_aid=bytes.fromhex("A000000151000000"),
    )
    assert entry.to_bytes() == GPPRO_ENTRY
    assert StatusEntry.parse_all(GPPRO_ENTRY * 3) == [entry] * 3
    assert StatusEntry.parse_all(b"") == []


def test_get_status_entry_as_the_emulator_built_it_by_hand() -> None:
    # load file entry of P1=10: 4F, 9F70, CE, 84..., CC (the order of Table 11-36)
    body = Tlv(0x4F, ELF).encode() + Tlv(0x9F70, b"\x01").encode() + Tlv(0xCE, b"\x01\x00").encode()
    body += Tlv(0x84, MODULE).encode() + Tlv(0x84, APP).encode() + Tlv(0xCC, ISD_AID).encode()
    entry = StatusEntry(ELF, 0x01, elf_version=b"\x01\x00", modules=(MODULE, APP), sd_aid=ISD_AID)
    assert entry.to_bytes() == Tlv(0xE3, body).encode()
    assert StatusEntry.parse(Tlv(0xE3, body).encode()) == entry


def test_get_status_any_order_and_unknown_tags() -> None:
    items = [
        Tlv(0x9F70, b"\x07"),
        Tlv(0xCC, ISD_AID),
        Tlv(0xEA, b"\x01"),
        Tlv(0x4F, APP),
        Tlv(0xCF, b"\x80"),
        Tlv(0xC5, b"\x00"),
    ]
    random.Random(7).shuffle(items)
    entry = StatusEntry.parse(Tlv.build(0xE3, items).encode())
    assert (entry.aid, entry.life_cycle, entry.privileges, entry.sd_aid) == (APP, 0x07, b"\x00", ISD_AID)
    assert entry.implicit_selection == (0x80,) and entry.other == ((0xEA, b"\x01"),)
    assert StatusEntry.parse(entry.to_bytes()) == entry


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("9F700107", r"mandatory tag 4F \(aid\) missing"),
        ("4F05A000000151", r"mandatory tag 9F70 \(life_cycle\) missing"),
        ("4F05A0000001519F70020701", r"\[1\]\.life_cycle: tag 9F70 holds 2 bytes, not 1"),
        ("4F05A0000001519F7000", r"\[1\]\.life_cycle: tag 9F70 holds 0 bytes, not 1"),
        ("4F05A0000001514F05A0000001529F700107", r"\[1\]\.aid: tag 4F appears more than once"),
        ("4F05A0000001519F7001", r"\[1\]\.value: cut short"),
    ],
)
def test_get_status_malformed_entry(body: str, message: str) -> None:
    raw = bytes.fromhex(body)
    with pytest.raises(TlvError, match=message):
        StatusEntry.parse(b"\xe3" + bytes((len(raw),)) + raw)


def test_get_status_malformed_framing() -> None:
    with pytest.raises(TlvError, match="tag E3 expected, found 61"):
        StatusEntry.parse(b"\x61\x00")
    with pytest.raises(TlvError, match="bytes follow"):
        StatusEntry.parse(GPPRO_ENTRY + b"\x00")
    with pytest.raises(TlvError, match=r"GET STATUS response: \[1\]\.registry_data: cut short"):
        StatusEntry.parse_all(GPPRO_ENTRY + GPPRO_ENTRY[:-1])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_get_status_garbage(data: bytes) -> None:
    _raises_only(TlvError, StatusEntry.parse_all, data)
    _raises_only(TlvError, StatusEntry.parse, b"\xe3" + bytes((len(data),)) + data)


def test_the_emulator_get_status_parses_with_the_layout() -> None:
    layer = _isd_session()
    r = layer.send(CommandApdu(0x80, 0xF2, 0x40, 0x02, b"\x4f\x00", ne=256))
    entries = StatusEntry.parse_all(r.data)
    assert (
        r.sw in (0x9000, 0x6310) and entries and all(e.privileges and len(e.privileges) == 3 for e in entries)
    )


# -- EF 0006 token information (docs/spec/jpki-applet.md#token-information-ef-0006) -------------------------


def _token_info_by_hand(label: str, max_pin: int, min_pin: int) -> bytes:
    def text(value: str, size: int) -> bytes:
        return value.encode("ascii").ljust(size, b" ")[:size]

    body = text(label, 32) + text("JPKI", 32) + text("JPKIKIT-EMU", 16) + text("00000000", 16)
    body += struct.pack(">7I", 0x40D, 1, 0, 1, 0, max_pin, min_pin) + struct.pack(">4I", *(0xFFFFFFFF,) * 4)
    return body + b"0301" + text("", 16)


@pytest.mark.parametrize(
    ("label", "pins"), [("JPKIAPGPSETOKEN", (16, 6)), ("JPKIAPICCTOKEN2", (4, 4)), ("X" * 40, (8, 8))]
)
def test_token_info_byte_exact(label: str, pins: tuple[int, int]) -> None:
    data = token_info(label, *pins)
    assert data == _token_info_by_hand(label, *pins) and len(data) == TOKEN_INFO_LENGTH
    parsed = parse_token_info(data)
    assert parsed["label"] == label[:32] and (parsed["max_pin_len"], parsed["min_pin_len"]) == pins
    assert parsed["flags"] == 0x40D and parsed["hardware_version"] == b"03" and parsed["utc_time"] == ""
    assert parse_token_label(data) == parse_token_label(data[:32]) == label[:32]


def test_token_label_padding_and_bytes_that_are_not_ascii() -> None:
    assert parse_token_label(b"JPKIAPGPSETOKEN" + b"\x00" * 17) == "JPKIAPGPSETOKEN"
    assert parse_token_label(b"\xffABC" + b" " * 28) == "\ufffdABC"


@pytest.mark.parametrize(
    ("cut", "message"), [(159, "utc_time: cut short: 16 bytes expected, 15 left"), (161, "bytes follow")]
)
def test_token_info_malformed(cut: int, message: str) -> None:
    data = (token_info("JPKIAPGPSETOKEN") + b"\x00")[:cut]
    with pytest.raises(ApduError, match=f"EF 0006 token information: {message}"):
        parse_token_info(data)


def test_token_label_short_read() -> None:
    with pytest.raises(ApduError, match="EF 0006 label: cut short: 32 bytes expected, 10 left"):
        parse_token_label(b"JPKIAPGPSE")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_token_info_garbage(data: bytes) -> None:
    _raises_only(ApduError, parse_token_info, data)
    _raises_only(ApduError, parse_token_label, data)
