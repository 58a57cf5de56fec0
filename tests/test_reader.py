"""The contactless side: the ISO/IEC 14443 vocabulary (jpkikit.vocab.iso14443), PC/SC Part 3's
pseudo-ATR and GET DATA (jpkikit.vocab.pcsc.part3), and the kit's reference virtual reader
(jpkikit.reference.reader.virtual): the ATR it builds for Type A and Type B, GET DATA with its status words,
frame sizes and chaining, its own 6700 for what it cannot carry, 61xx / 6Cxx as configured, and the card
taken off the field.

Sources: PC/SC Part 3 v2.01.09 §3.1.3.2.3 (ATR of a contactless card) and §3.2.2.1.3 (GET DATA and its
status words); ISO/IEC 7816-3 §8.2.5 (TCK); ISO/IEC 14443-3 (ATQB, ATTRIB answer), -4 (ATS, FSCI table,
block format, chaining). Known-answer ATRs: the storage-card ATRs of PC/SC Part 3's supplement as reader
vendors print them (MIFARE Classic 1K / 4K), and the ATS and ATR of a MIFARE DESFire EV1 (ATS
06 75 77 81 02 80, ATR 3B 81 80 01 80 80) as PC/SC readers report them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jpkikit.errors import CardAbsent, TransportError
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.reference.reader import virtual
from jpkikit.reference.reader.virtual import ReaderConfig, Target, VirtualReader
from jpkikit.vocab import iso14443, testbed
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.pcsc import part3

MIFARE_1K_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
MIFARE_4K_ATR = bytes.fromhex("3B8F8001804F0CA0000003060300020000000069")
DESFIRE_ATS = bytes.fromhex("067577810280")
DESFIRE_ATR = bytes.fromhex("3B8180018080")

# -- PC/SC Part 3: the pseudo-ATR ---------------------------------------------------------------------------


@pytest.mark.parametrize("atr", [MIFARE_1K_ATR, MIFARE_4K_ATR, DESFIRE_ATR])
def test_contactless_atr_known_answers(atr: bytes) -> None:
    historical = atr[4:-1]
    assert part3.contactless_atr(historical) == atr
    assert part3.historical_of(atr) == historical


def test_type_a_atr_of_a_desfire_ats() -> None:
    ats = iso14443.Ats.parse(DESFIRE_ATS)
    assert part3.type_a_atr(ats.historical) == DESFIRE_ATR


def test_type_b_atr_layout_and_tck() -> None:
    # 3B 88 80 01 | application data 4A504B49 | protocol info 00 71 81 | MBLI 0 in the high nibble | TCK
    # TCK worked by hand: 88^80^01^4A^50^4B^49^00^71^81^00 = E1
    atr = part3.type_b_atr(b"JPKI", bytes.fromhex("007181"), 0)
    assert atr == bytes.fromhex("3B8880014A504B4900718100E1")
    with_mbli = part3.type_b_atr(b"JPKI", bytes.fromhex("007181"), 5)
    assert with_mbli == bytes.fromhex("3B8880014A504B4900718150B1")  # byte 8 = 50, TCK E1 ^ 50
    historical = part3.type_b_historical(bytes(4), bytes.fromhex("338181"), 0x1F)
    assert historical == bytes.fromhex("00000000338181F0")  # only the MBLI's low 4 bits, high nibble


def test_type_b_atr_refuses_wrong_lengths() -> None:
    with pytest.raises(ValueError):
        part3.type_b_atr(bytes(5), bytes.fromhex("007181"), 0)
    with pytest.raises(ValueError):
        part3.type_b_atr(bytes(4), bytes.fromhex("0071"), 0)


def test_contactless_atr_refuses_more_than_15_historical_bytes() -> None:
    assert len(part3.contactless_atr(bytes(15))) == 20
    with pytest.raises(ValueError, match="at most 15"):
        part3.contactless_atr(bytes(16))


@pytest.mark.parametrize(
    "atr",
    [
        MIFARE_1K_ATR[:-1] + b"\x6b",  # wrong TCK
        MIFARE_1K_ATR[:-2] + MIFARE_1K_ATR[-1:],  # one historical byte fewer than T0 says
        bytes.fromhex("3BE000FF8131FE4514"),  # the My Number card's contact ATR (T0 = E0)
        bytes.fromhex("3B8180028080"),  # TD2 says T=2, not 01
        bytes.fromhex("3B80"),  # too short
    ],
)
def test_historical_of_refuses_what_is_not_a_contactless_atr(atr: bytes) -> None:
    assert part3.historical_of(atr) is None


def test_get_data_pseudo_apdus() -> None:
    assert part3.get_data(part3.GetData.UID).to_bytes() == bytes.fromhex("FFCA000000")
    assert part3.get_data(part3.GetData.HISTORICAL, 4).to_bytes() == bytes.fromhex("FFCA010004")


# -- ISO/IEC 14443 ------------------------------------------------------------------------------------------


def test_fsci_table() -> None:
    assert iso14443.FRAME_SIZES == (16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096)
    assert [iso14443.frame_size(c) for c in (0, 5, 7, 8, 0xC)] == [16, 64, 128, 256, 4096]
    assert iso14443.frame_size(0xF) == 4096  # D-F RFU: read as the largest code
    assert [iso14443.frame_code(s) for s in (16, 255, 256, 300, 4096)] == [0, 7, 8, 8, 12]
    assert iso14443.information_field(128) == 125  # PCB + CRC_A/B around the INF field
    with pytest.raises(ValueError):
        iso14443.frame_code(15)


def test_ats_of_a_desfire() -> None:
    ats = iso14443.Ats.parse(DESFIRE_ATS)
    assert (ats.fsci, ats.fsc, ats.ta, ats.tb, ats.tc, ats.historical) == (5, 64, 0x77, 0x81, 0x02, b"\x80")
    assert ats.encode() == DESFIRE_ATS


def test_ats_encode() -> None:
    assert iso14443.Ats(7, historical=b"JPKI").encode() == bytes.fromhex("0977808102") + b"JPKI"
    assert iso14443.Ats(8, None, None, None).encode() == bytes.fromhex("0208")
    only_tb = iso14443.Ats(2, None, 0x81, None, b"\x80")
    assert only_tb.encode() == bytes.fromhex("04228180")
    assert iso14443.Ats.parse(only_tb.encode()) == only_tb


@pytest.mark.parametrize("raw", ["", "0675778102", "06757781028000", "01"])
def test_ats_parse_refuses_a_wrong_tl(raw: str) -> None:
    with pytest.raises(ValueError, match="TL must equal its length"):
        iso14443.Ats.parse(bytes.fromhex(raw))


def test_ats_parse_of_a_truncated_ats_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        iso14443.Ats.parse(bytes.fromhex("037080"))


def test_atqb() -> None:
    info = iso14443.protocol_info(8)
    assert info == bytes.fromhex("008181")  # 106 kbit/s; FSCI 8, ISO 14443-4; FWI 8, CID
    assert iso14443.protocol_info(7, fwi=4, cid=False, nad=True) == bytes.fromhex("007142")
    atqb = iso14443.Atqb(bytes.fromhex("1A2B3C4D"), b"JPKI", info, mbli=3)
    assert atqb.encode() == bytes.fromhex("501A2B3C4D4A504B49008181")
    assert (atqb.fsci, atqb.fsc, atqb.iso14443_4) == (8, 256, True)
    assert not iso14443.Atqb(bytes(4), bytes(4), bytes.fromhex("008081")).iso14443_4


@pytest.mark.parametrize(("pupi", "app", "info"), [(3, 4, 3), (4, 5, 3), (4, 4, 2)])
def test_atqb_refuses_wrong_lengths(pupi: int, app: int, info: int) -> None:
    with pytest.raises(ValueError, match="PUPI 4"):
        iso14443.Atqb(bytes(pupi), bytes(app), bytes(info))


# -- the virtual reader, with a scripted card ----------------------------------------------------------


class ScriptedCard:
    """A SimulatedCard that answers with ``answer`` and records what reached it."""

    def __init__(self, answer: Callable[[bytes], bytes] | None = None) -> None:
        self.answer = answer or (lambda command: b"\x90\x00")
        self.seen: list[bytes] = []
        self.powered = False
        self.testbed = False
        self.power_offs = 0

    def power_on(self) -> bytes:
        self.powered = True
        return self.atr

    def power_off(self) -> None:
        self.powered = False
        self.power_offs += 1

    def reset(self) -> bytes:
        return self.power_on()

    @property
    def atr(self) -> bytes:
        return bytes.fromhex("3B00")

    def process(self, command: bytes) -> bytes:
        self.seen.append(bytes(command))
        return self.answer(bytes(command))


UID_7 = bytes.fromhex("04A2242A6B5280")
PUPI = bytes.fromhex("1A2B3C4D")
TYPE_A = Target("A", uid=UID_7, fsci=5, historical=b"\x80")
TYPE_B = Target("B", uid=PUPI, application_data=b"JPKI", fsci=7)


def reader(
    target: Target = TYPE_A, answer: Callable[[bytes], bytes] | None = None, **config: object
) -> tuple[VirtualReader, ScriptedCard]:
    card = ScriptedCard(answer)
    r = VirtualReader(card, ReaderConfig(**config), target)  # type: ignore[arg-type]
    r.power_on()
    return r, card


def sw(response: bytes) -> int:
    return int.from_bytes(response[-2:], "big")


def test_type_a_pseudo_atr_and_activation() -> None:
    r, card = reader(TYPE_A)
    assert r.atr == DESFIRE_ATR and card.powered
    assert r.activation is not None and r.activation.fsc == 64 and r.activation.historical == b"\x80"
    assert r.reset() == DESFIRE_ATR


def test_type_b_pseudo_atr_and_activation() -> None:
    r, _ = reader(TYPE_B)
    assert r.atr == bytes.fromhex("3B8880014A504B4900718100E1")
    assert r.activation is not None and r.activation.uid == PUPI and r.activation.historical is None
    r3, _ = reader(Target("B", uid=PUPI, application_data=b"JPKI", fsci=7, mbli=3))
    assert r3.atr[-2] == 0x30


def test_the_atr_before_the_host_powers_the_card() -> None:
    r = VirtualReader(ScriptedCard(), ReaderConfig(), TYPE_A)
    assert r.atr == DESFIRE_ATR and r.activation is None  # PC/SC reports the card present with its ATR


def test_a_random_uid_at_every_activation() -> None:
    r, _ = reader(Target("A", historical=b"\x80"))
    first = r.activation.uid if r.activation else b""
    r.reset()
    second = r.activation.uid if r.activation else b""
    assert len(first) == 4 and first[0] == 0x08 and second[0] == 0x08  # UID0 08: a random single-size UID
    assert first != second
    b, _ = reader(Target("B"))
    assert b.activation is not None and len(b.activation.uid) == 4


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("FFCA000000", UID_7.hex() + "9000"),  # Le 00: the whole UID
        ("FFCA000007", UID_7.hex() + "9000"),  # Le = the length
        ("FFCA000004", "6C07"),  # Le too short: 6C and the exact length, no data
        ("FFCA000010", UID_7.hex() + "6282"),  # Le longer: all the data, end reached before Le bytes
        ("FFCA010000", "809000"),  # the ATS historical bytes
        ("FFCA010002", "806282"),
        ("FFCA020000", "6A81"),  # P1 not supported
        ("FFCA000100", "6A81"),  # P2 not 00
        ("FFCA00000100", "6A81"),  # data in a GET DATA
        ("FFB0000000", "6A81"),  # another pseudo-APDU
        ("FFCA00", "6700"),  # not an APDU
    ],
)
def test_get_data_type_a(command: str, expected: str) -> None:
    r, card = reader(TYPE_A)
    assert r.process(bytes.fromhex(command)) == bytes.fromhex(expected)
    assert card.seen == [], "a pseudo-APDU reached the card"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("FFCA000000", PUPI.hex() + "9000"),
        ("FFCA000003", "6C04"),
        ("FFCA000005", PUPI.hex() + "6282"),
        ("FFCA010000", "6A81"),  # Type B has no ATS historical bytes
    ],
)
def test_get_data_type_b(command: str, expected: str) -> None:
    r, _ = reader(TYPE_B)
    assert r.process(bytes.fromhex(command)) == bytes.fromhex(expected)


def test_no_card_activated() -> None:
    r, card = reader(TYPE_A)
    r.power_off()
    assert r.process(bytes.fromhex("FFCA000000")) == bytes.fromhex("6F00")
    assert r.process(bytes.fromhex("00A4040C00")) == bytes.fromhex("6F00") and card.seen == []


def test_apdus_cross_the_field_in_chained_blocks() -> None:
    response = bytes(range(150)) + b"\x90\x00"
    r, card = reader(Target("A", uid=UID_7, fsci=2, historical=b"\x80"), lambda c: response, fsdi=5)
    command = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(100)).to_bytes()  # 105 bytes
    assert r.process(command) == response
    assert card.seen == [command], "the command did not arrive whole"
    # FSC 32 (FSCI 2) -> 29 bytes per I-block to the card; FSD 64 (FSDI 5) -> 61 bytes back
    to_card, to_reader = (
        [("to card", 29)] * 3 + [("to card", 18)],
        [("to reader", 61)] * 2 + [("to reader", 30)],
    )
    assert r.blocks == to_card + to_reader


def test_a_short_only_reader_refuses_extended_apdus() -> None:
    r, card = reader(extended_length=False, max_command_data=255, max_response_data=256)
    extended = CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=300).to_bytes()
    assert r.process(extended) == bytes.fromhex("6700")
    forced = CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=16, extended=True).to_bytes()
    assert r.process(forced) == bytes.fromhex("6700")
    assert card.seen == []
    short = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(255)).to_bytes()
    assert r.process(short) == bytes.fromhex("9000") and card.seen == [short]


def test_command_and_response_data_limits() -> None:
    # the card answers 4 x (the first data byte) bytes
    r, card = reader(
        max_command_data=300, max_response_data=400, answer=lambda c: bytes(c[7] * 4) + b"\x90\x00"
    )
    too_long = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(301)).to_bytes()
    assert r.process(too_long) == bytes.fromhex("6700") and card.seen == []
    at_limit = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes([100]) + bytes(299)).to_bytes()
    assert sw(r.process(at_limit)) == SW.OK and len(card.seen) == 1  # 400 bytes back: at the limit
    over = CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes([101]) + bytes(299)).to_bytes()
    assert r.process(over) == bytes.fromhex("6700")  # 404 bytes: more than the reader's buffer


def test_a_short_reader_refuses_a_response_over_256_bytes() -> None:
    r, _ = reader(extended_length=False, answer=lambda c: bytes(257) + b"\x90\x00")
    assert r.process(bytes.fromhex("00B0000000")) == bytes.fromhex("6700")


def test_61xx_passed() -> None:
    r, card = reader(answer=lambda c: bytes.fromhex("AABB6105"))
    assert r.process(bytes.fromhex("00A4040000")) == bytes.fromhex("AABB6105")
    assert len(card.seen) == 1


def collecting(command: bytes) -> bytes:
    if command[1] == 0xC0:
        return bytes.fromhex("0102030405 9000".replace(" ", "")) if command[4] == 5 else b"\x67\x00"
    return bytes.fromhex("AABB6105")


@pytest.mark.parametrize(("cla", "get_response"), [(0x00, 0x00), (0x81, 0x01), (0x0B, 0x03), (0x45, 0x45)])
def test_61xx_collected(cla: int, get_response: int) -> None:
    r, card = reader(answer=collecting, sw61="collect")
    assert r.process(bytes((cla, 0xA4, 0x04, 0x00, 0x00))) == bytes.fromhex("AABB01020304059000")
    assert card.seen[1] == bytes((get_response, 0xC0, 0x00, 0x00, 0x05))  # the channel kept


def test_61xx_collection_is_bounded() -> None:
    r, card = reader(answer=lambda c: bytes.fromhex("AA6101"), sw61="collect", max_get_response=3)
    assert r.process(bytes.fromhex("00B0000000")) == bytes.fromhex("AAAAAAAA6101")
    assert len(card.seen) == 4  # the command and 3 GET RESPONSE


def wrong_le(command: bytes) -> bytes:
    return bytes(range(8)) + b"\x90\x00" if command[-1] == 8 else b"\x6c\x08"


def test_6cxx_passed() -> None:
    r, card = reader(answer=wrong_le)
    assert r.process(bytes.fromhex("00B0000000")) == bytes.fromhex("6C08") and len(card.seen) == 1


def test_6cxx_reissued_once_with_the_exact_le() -> None:
    r, card = reader(answer=wrong_le, sw6c="reissue")
    assert r.process(bytes.fromhex("00B0000000")) == bytes(range(8)) + b"\x90\x00"
    assert card.seen == [bytes.fromhex("00B0000000"), bytes.fromhex("00B0000008")]
    stubborn, seen = reader(answer=lambda c: b"\x6c\x08", sw6c="reissue")
    assert stubborn.process(bytes.fromhex("00B0000000")) == bytes.fromhex("6C08") and len(seen.seen) == 2


def test_6cxx_of_an_extended_command_is_passed() -> None:
    r, card = reader(answer=lambda c: b"\x6c\x08", sw6c="reissue")
    extended = CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=16, extended=True).to_bytes()
    assert r.process(extended) == bytes.fromhex("6C08") and len(card.seen) == 1


def test_the_card_removed_during_the_next_command() -> None:
    r, card = reader()
    r.testbed = True
    assert card.testbed, "the reader does not forward the test bed to its card"
    assert r.process(testbed.command(testbed.REMOVE_DURING_NEXT)) == bytes.fromhex("9000")
    assert r.process(bytes.fromhex("FFCA000000"))[-2:] == b"\x90\x00"  # pseudo-APDUs do not cross the field
    with pytest.raises(CardAbsent, match="removed"):
        r.process(bytes.fromhex("00B0000000"))
    assert card.seen == [] and not card.powered and r.activation is None
    assert r.process(bytes.fromhex("00B0000000")) == bytes.fromhex("6F00")  # nothing in the field yet
    assert r.power_on() == DESFIRE_ATR
    assert r.process(bytes.fromhex("00B0000000")) == bytes.fromhex("9000")
    assert card.seen == [bytes.fromhex("00B0000000")], "the removal happened again"


def test_the_removal_command_without_the_test_bed_goes_to_the_card() -> None:
    r, card = reader()
    remove = testbed.command(testbed.REMOVE_DURING_NEXT)
    assert r.process(remove) == bytes.fromhex("9000")
    assert card.seen == [remove]
    assert r.process(bytes.fromhex("00B0000000")) == bytes.fromhex("9000")


# -- the bundled readers in front of the emulator -------------------------------------------------------


def test_the_bundled_reader_factories() -> None:
    b = virtual.type_b("gp-se")
    assert b.config is virtual.READER_1 and b.target is virtual.TARGET_B
    assert b.atr == bytes.fromhex("3B8880014A504B4900718100E1")
    a = virtual.type_a("gp-se")
    assert not a.config.extended_length and a.config.sw61 == "collect"
    assert part3.historical_of(a.atr) == b"JPKIKIT-PHONE" and a.atr[1] == 0x8D
    changed = virtual.with_config(virtual.READER_2, sw6c="reissue")
    assert changed.sw6c == "reissue" and changed.sw61 == "collect" and virtual.READER_2.sw6c == "pass"


def test_the_jpki_applet_through_the_reader() -> None:
    session = CardSession(InProcessTransport(virtual.type_a("gp-se"), "unit-test reader"))
    assert part3.historical_of(session.atr) == b"JPKIKIT-PHONE"
    assert session.select(JPKI_AID).sw == SW.OK
    assert session.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0006")).sw == SW.OK
    label = session.read_binary(0, 20)
    assert label.sw == SW.OK and label.data.startswith(b"JPKIAPGPSETOKEN")
    uid = session.transmit(part3.get_data(part3.GetData.UID))
    assert uid.sw == SW.OK and len(uid.data) == 4
    session.reset(cold=True)
    # the field went off and on: the ISD (the default application) is current again, not the JPKI applet
    assert session.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0006")).sw == SW.INS_NOT_SUPPORTED


def test_a_removal_through_the_in_process_link_is_a_transport_error() -> None:
    r = virtual.type_b("gp-se")
    r.testbed = True
    session = CardSession(InProcessTransport(r, "unit-test reader"))
    assert session.transmit(testbed.command(testbed.REMOVE_DURING_NEXT)).ok
    with pytest.raises(TransportError):
        session.select(JPKI_AID)
    assert session.reset(cold=True) == r.atr
    assert session.select(JPKI_AID).ok
