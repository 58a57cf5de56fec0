"""The PKCS#15 access rule files of GP Secure Element Access Control (the ARF): the builder
(jpkikit.vocab.gp.arf), the oracle's independent reader (conformance/sim/arf_reader.py) and the UICC's PKCS#15
application (jpkikit.reference.emulator.arf) read through a CardSession as the conformance tests read it.

Known-answer values: the EF ODF / DODF / ACMF / ACRF / ACCF contents of AOSP's carrier-privilege unit test
(frameworks/opt/telephony, UiccCarrierPrivilegeRulesTest, ARF case), which follow GP SEAC's ARF layout (ODF
5031 -> DODF 5207 -> ACMF -> ACRF -> ACCF); the access-control OID 1.2.840.114283.200.1.1 (GP SEAC) and the
rsaEncryption arc 1.2.840.113549 (PKCS #1) in DER (ITU-T X.690 §8.19).
"""

from __future__ import annotations

import pytest

from conformance.sim.arf_reader import (
    Acmf,
    ArfClient,
    ArfError,
    acmf_path,
    decode_oid,
    dodf_path,
    parse_accf,
    parse_acmf,
    parse_acrf,
)
from jpkikit.errors import MalformedAnswer
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.reference.emulator.arf import PKCS15_FID, Pkcs15Arf
from jpkikit.reference.emulator.build import make_card
from jpkikit.reference.emulator.personalities import arf_rules
from jpkikit.reference.emulator.uicc import UiccCard
from jpkikit.vocab.etsi import uicc
from jpkikit.vocab.gp import arf, seac
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import JPKI_AID

# -- the AOSP carrier-privilege ARF (known answers) ---------------------------------------------------------

AOSP_ODF = bytes.fromhex("A706300404025207")
AOSP_DODF = bytes.fromhex(
    "A1293000300F0C0D4750205345204163632043746CA1143012060A2A864886FC6B81480101300404024200"
)
AOSP_ACMF = bytes.fromhex("301004080102030405060708300404024300")
AOSP_ACRF = bytes.fromhex("3010A0080406FFFFFFFFFFFF300404024310")
HASH_1 = bytes.fromhex("B9CFCE1C47A6AC713442718F15EF55B00B3A6D1A6D48CB46249FA8EB51465350")
HASH_2 = bytes.fromhex("4C36AF4A5BDAD97C1F3D8B283416D244496C2AC5EAFE8226079EF6F676FD1859")
AOSP_ACCF = bytes.fromhex("30220420") + HASH_1 + bytes.fromhex("30220420") + HASH_2
CARRIER_AID = bytes.fromhex("FFFFFFFFFFFF")  # the carrier-privilege rule's SE application

SIM_REFRESH = bytes.fromhex("4A504B494B495430")  # the sim personality's initial refresh tag ("JPKIKIT0")


def test_the_access_control_oid_in_der() -> None:
    assert arf.encode_oid(arf.AC_OID) == bytes.fromhex("060A2A864886FC6B81480101")
    assert arf.encode_oid("1.2.840.113549") == bytes.fromhex("06062A864886F70D")
    assert decode_oid(bytes.fromhex("2A864886FC6B81480101")) == arf.AC_OID
    assert decode_oid(bytes.fromhex("2A864886F70D")) == "1.2.840.113549"


def test_odf_acmf_acrf_are_the_known_answers() -> None:
    assert arf.odf() == AOSP_ODF  # A7 { 30 { 04 5207 } }: the DODF entry
    assert arf.acmf(bytes(range(1, 9)), acrf=0x4300) == AOSP_ACMF
    assert arf.acrf([(CARRIER_AID, 0x4310)]) == AOSP_ACRF


def test_accf_conditions_are_the_known_answer() -> None:
    # A condition with a certificate hash and no access rules: 30 { 04 <hash> } (APDU access allowed).
    rules = [seac.Rule(seac.RefDo(CARRIER_AID, h), seac.ArDo(None, None)) for h in (HASH_1, HASH_2)]
    assert b"".join(arf.condition(r) for r in rules) == AOSP_ACCF


def test_dodf_type_attributes_are_the_known_answer() -> None:
    dodf = arf.dodf(acmf=0x4200)
    # The OidDO's typeAttributes: A1 { 30 { 06 <AC OID> 30 { 04 4200 } } }, byte for byte as AOSP's.
    assert dodf.endswith(bytes.fromhex("A1143012060A2A864886FC6B81480101300404024200"))
    assert dodf[0] == 0xA1 and dodf[1] == len(dodf) - 2


def test_the_oracle_reads_the_known_answer_files() -> None:
    assert dodf_path(AOSP_ODF) == bytes.fromhex("5207")
    assert acmf_path(AOSP_DODF) == bytes.fromhex("4200")
    assert parse_acmf(AOSP_ACMF) == Acmf(bytes(range(1, 9)), bytes.fromhex("4300"))
    assert parse_acrf(AOSP_ACRF) == [(CARRIER_AID, bytes.fromhex("4310"))]


def test_the_oracle_takes_sha1_hashes_only() -> None:
    # docs/spec/uicc.md#the-access-rule-files: the ARF's hash is SHA-1 (AOSP's SecureElement accepts 20 or 0
    # bytes); the carrier-privilege ACCF's SHA-256 hashes are outside that profile.
    with pytest.raises(ArfError, match="SHA-1"):
        parse_accf(CARRIER_AID, AOSP_ACCF)


def test_acmf_refuses_a_refresh_tag_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        arf.acmf(bytes(7))


def test_path_of_one_or_several_file_identifiers() -> None:
    assert arf.path(0x4310) == bytes.fromhex("300404024310")
    assert arf.path(bytes.fromhex("3F0050154310")) == bytes.fromhex("30080406 3F0050154310".replace(" ", ""))


# -- builder and oracle reader: round trips -----------------------------------------------------------


def read_back(files: dict[int, bytes]) -> list[seac.Rule]:
    """The oracle's chain ODF -> DODF -> ACMF -> ACRF -> ACCF over ``files`` (a dict, no card)."""

    def at(path: bytes) -> bytes:
        return files[int.from_bytes(path, "big")]

    acmf = parse_acmf(at(acmf_path(at(dodf_path(files[arf.EF_ODF])))))
    rules: list[seac.Rule] = []
    for aid, path in parse_acrf(at(acmf.acrf_path)):
        rules += parse_accf(aid, at(path))
    return rules


def as_json(rules: list[seac.Rule]) -> list[dict[str, object]]:
    return [seac.rule_to_json(r) for r in rules]


def test_the_sim_rules_round_trip() -> None:
    rules = [seac.rule_from_json(r) for r in arf_rules(JPKI_AID)]
    assert len(rules) == 2 and all(len(r.ref.hash) == 20 for r in rules)
    files = arf.files_for(rules, SIM_REFRESH)
    assert sorted(files) == [0x4300, 0x4310, 0x4311, 0x5031, 0x5207]
    assert as_json(read_back(files)) == as_json(rules)


def test_targets_get_one_accf_each_in_order_of_first_appearance() -> None:
    sha1 = bytes.fromhex("895AEF070D1399CA6A6AF718749E1AD46348059A")
    rules = [
        seac.Rule(seac.RefDo("all", b""), seac.ArDo("never", False)),
        seac.Rule(seac.RefDo(JPKI_AID, sha1), seac.ArDo("always", True)),
        seac.Rule(
            seac.RefDo("default", sha1),
            seac.ArDo((seac.ApduFilter(bytes.fromhex("00A40200"), bytes.fromhex("FFFFFF00")),), False),
        ),
        seac.Rule(seac.RefDo("all", sha1), seac.ArDo("always", None)),
    ]
    files = arf.files_for(rules, bytes(8))
    assert parse_acrf(files[arf.EF_ACRF]) == [
        ("all", bytes.fromhex("4311")),
        (JPKI_AID, bytes.fromhex("4312")),
        ("default", bytes.fromhex("4313")),
    ]
    # "all": 30 { A0 { A0 { 80 01 00 } A1 { 80 01 00 } } } (APDU never, NFC never), then the SHA-1 rule
    assert files[0x4311].startswith(bytes.fromhex("300CA00AA003800100A103800100301D0414"))  # never; NFC never
    assert bytes.fromhex("A00CA10A040800A40200FFFFFF00") in files[0x4313]
    back = read_back(files)
    assert sorted(map(str, as_json(back))) == sorted(map(str, as_json(rules)))


def test_a_rule_without_apdu_rule_reads_back_as_allowed() -> None:
    # What the ARF cannot say (jpkikit.vocab.gp.arf): no APDU access rule means APDUs are allowed.
    rule = seac.Rule(seac.RefDo(JPKI_AID, b""), seac.ArDo(None, None))
    assert arf.condition(rule) == bytes.fromhex("3000")
    assert as_json(read_back(arf.files_for([rule], bytes(8)))) == [
        {"aid": JPKI_AID.hex().upper(), "hash": "", "apdu": "always", "nfc": None}
    ]


def test_an_accf_without_conditions_is_never() -> None:
    assert as_json(parse_accf(JPKI_AID, b"")) == [
        {"aid": JPKI_AID.hex().upper(), "hash": "", "apdu": "never", "nfc": None}
    ]


@pytest.mark.parametrize(
    ("call", "raw", "message"),
    [
        (dodf_path, "30023000", "no DODF entry"),
        (dodf_path, "A700", "empty DODF entry"),
        (dodf_path, "A7043002 0400".replace(" ", ""), "no file identifier"),
        (acmf_path, "A10430003000", "oidDO"),
        (parse_acmf, "300F040701020304050607300404024300", "not 8"),
        (parse_acmf, "30003000", "one SEQUENCE"),
        (parse_acrf, "30088300300404024311", "unknown rule target"),
        (parse_acrf, "300EA0060404A0000000300404024311", "5-16 byte AID"),
        (parse_acrf, "3102A000", "a SEQUENCE"),
        (lambda raw: parse_accf(JPKI_AID, raw), "300BA009A007A1050403010203", "4-byte header"),
        (lambda raw: parse_accf(JPKI_AID, raw), "3007A005A203800101", "unknown access rule"),
        (lambda raw: parse_accf(JPKI_AID, raw), "3003040100", "certificate hash of 1 bytes"),
        (lambda raw: parse_accf(JPKI_AID, raw), "3004A0028001", "DER"),
    ],
)
def test_malformed_files_are_arf_errors(call: object, raw: str, message: str) -> None:
    with pytest.raises(ArfError, match=message) as caught:
        call(bytes.fromhex(raw))  # type: ignore[operator]
    assert isinstance(caught.value, MalformedAnswer)  # the verdict family: fail


def test_decode_oid_of_nothing() -> None:
    with pytest.raises(ArfError, match="empty"):
        decode_oid(b"")


# -- the UICC's PKCS#15 application, through a CardSession -------------------------------------------------


@pytest.fixture
def session() -> CardSession:
    return CardSession(InProcessTransport(make_card("sim"), "unit-test UICC"))


def applet_of(session: CardSession) -> Pkcs15Arf:
    card = session.tracer.inner.card  # type: ignore[attr-defined]
    assert isinstance(card, UiccCard)
    applet = card.registry[arf.PKCS15_AID].applet
    assert isinstance(applet, Pkcs15Arf)
    return applet


def test_the_arf_read_on_a_logical_channel(session: CardSession) -> None:
    n = session.open_channel().data[0]
    files = ArfClient(session, n).read()
    assert files.odf == AOSP_ODF
    assert files.acmf == Acmf(SIM_REFRESH, bytes.fromhex("4310"))
    assert files.acrf == [(JPKI_AID, bytes.fromhex("4311"))]
    assert as_json(files.rules) == as_json([seac.rule_from_json(r) for r in arf_rules(JPKI_AID)])
    assert [r.ref.hash.hex().upper() for r in files.rules] == [
        "895AEF070D1399CA6A6AF718749E1AD46348059A",  # the JPKI app (SHA-1), APDU and NFC
        "C978F7B1845BBBB76AA2E3D45ECF49A5E158BA09",  # the reader app, APDU filters only
    ]
    assert files.rules[1].ar.nfc is False and isinstance(files.rules[1].ar.apdu, tuple)


def test_the_arf_read_on_the_basic_channel_and_two_channels_at_once(session: CardSession) -> None:
    basic = ArfClient(session, 0).read()
    n = session.open_channel().data[0]
    other = ArfClient(session, n)
    other.select_application()
    # both channels have the application selected (multi-selectable) and keep their own current file
    assert other.read_file(bytes.fromhex("5031"), "EF ODF") == AOSP_ODF
    assert ArfClient(session, 0).read_file(bytes.fromhex("4300"), "EF ACMF") == arf.acmf(SIM_REFRESH)
    assert session.read_binary(0, 8, channel=n).data == AOSP_ODF
    assert as_json(ArfClient(session, n).read().rules) == as_json(basic.rules)


def test_the_pkcs15_application_fcp(session: CardSession) -> None:
    r = session.select(arf.PKCS15_AID, p2=0x04)
    # 82 DF, 83 7F50, 84 the AID, 8A 05, 8C (every administrative command never), C6 {90 00}
    expected = (
        bytes.fromhex("62288202782183027F50840C")
        + arf.PKCS15_AID
        + bytes.fromhex("8A01058C087FFFFFFFFFFFFFFFC603900100")
    )
    assert r.sw == SW.OK and r.data == expected
    fcp = uicc.parse_fcp(r.data)
    assert fcp.is_df and fcp.file_id == PKCS15_FID and fcp.df_name == arf.PKCS15_AID


def test_file_sizes_and_reading_at_an_offset(session: CardSession) -> None:
    assert session.select(arf.PKCS15_AID).ok
    files = arf.files_for([seac.rule_from_json(r) for r in arf_rules(JPKI_AID)], SIM_REFRESH)
    for fid, content in files.items():
        fcp = uicc.parse_fcp(session.transmit(uicc.select_fid(fid)).data)
        assert fcp.transparent and fcp.size == len(content), f"{fid:04X}"
    assert session.transmit(uicc.select_fid(arf.EF_DODF)).ok
    assert session.read_binary(4, 6).data == files[arf.EF_DODF][4:10]
    assert session.read_binary(len(files[arf.EF_DODF]), 1).sw == SW.WRONG_P1P2


def test_select_by_path_below_the_application(session: CardSession) -> None:
    assert session.select(arf.PKCS15_AID).ok
    r = session.transmit(uicc.select_path(bytes.fromhex("4310")))  # from the application's root
    assert r.ok and uicc.parse_fcp(r.data).file_id == 0x4310
    assert session.transmit(uicc.select_path(bytes.fromhex("5031"), from_mf=False)).ok
    assert session.read_binary(0, 8).data == AOSP_ODF
    assert session.transmit(uicc.select_fid(0x4320)).sw == SW.FILE_NOT_FOUND


def test_the_arf_is_read_only(session: CardSession) -> None:
    assert session.select(arf.PKCS15_AID).ok
    assert session.transmit(uicc.select_fid(arf.EF_ACCF_FIRST)).ok
    before = applet_of(session).files()[arf.EF_ACCF_FIRST]
    r = session.send(0x00, 0xD6, 0x00, 0x00, bytes.fromhex("3000"))
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED
    assert applet_of(session).files()[arf.EF_ACCF_FIRST] == before
    assert session.send(0x00, 0xCA, 0x00, 0x00, ne=256).sw == SW.INS_NOT_SUPPORTED  # GET DATA: not here


def test_a_new_select_starts_at_the_application_root(session: CardSession) -> None:
    assert session.select(arf.PKCS15_AID).ok
    assert session.transmit(uicc.select_fid(arf.EF_ODF)).ok
    assert session.select(arf.PKCS15_AID).ok
    assert session.read_binary(0, 8).sw == SW.NO_CURRENT_EF


def test_select_mf_leaves_the_application(session: CardSession) -> None:
    assert session.select(arf.PKCS15_AID).ok
    assert session.transmit(uicc.select_fid(uicc.FID_MF)).ok
    assert session.transmit(uicc.select_fid(arf.EF_ODF)).sw == SW.FILE_NOT_FOUND  # not an MF file
    assert session.transmit(uicc.select_fid(uicc.FID_EF_DIR)).ok


def test_the_rules_and_refresh_tag_survive_a_reset(session: CardSession) -> None:
    first = ArfClient(session, 0).read()
    session.reset(cold=True)
    again = ArfClient(session, 0).read()
    assert again.acmf == first.acmf and as_json(again.rules) == as_json(first.rules)


def test_a_rule_change_draws_a_new_refresh_tag(session: CardSession) -> None:
    applet = applet_of(session)
    new = [seac.Rule(seac.RefDo("all", b""), seac.ArDo("never", False))]
    applet.replace_rules(new)
    files = ArfClient(session, 0).read()
    assert files.acmf is not None and files.acmf.refresh_tag != SIM_REFRESH
    assert len(files.acmf.refresh_tag) == arf.REFRESH_TAG_LENGTH
    assert files.acrf == [("all", bytes.fromhex("4311"))]
    assert as_json(files.rules) == as_json(new)
    assert applet.data["refresh"] == files.acmf.refresh_tag.hex().upper()  # persistent data


def test_the_initial_refresh_tag() -> None:
    given = Pkcs15Arf(arf.PKCS15_AID, None, rules=[], refresh="0011223344556677")
    assert given.data == {"rules": [], "refresh": "0011223344556677"}
    drawn = [Pkcs15Arf(arf.PKCS15_AID, None).data["refresh"] for _ in range(2)]
    assert all(len(bytes.fromhex(t)) == 8 for t in drawn) and drawn[0] != drawn[1]
    assert given.files()[arf.EF_ACRF] == b""  # no rules: an empty ACRF
