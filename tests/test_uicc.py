"""The UICC of the SIM design, unit by unit: the ETSI vocabulary (jpkikit.vocab.etsi.uicc: FCP templates,
EF DIR application templates, EF ICCID; jpkikit.vocab.etsi.cat: the IMEI exchange of the card application
toolkit), the emulator's UICC runtime and file system (jpkikit.reference.emulator.uicc, uicc_fs, jpki_uicc,
the ``sim`` personalities) driven as the conformance tests drive it (a CardSession over an in-process link),
and the host's handset power-up (jpkikit.host.uicc_terminal).

Sources: ETSI TS 102 221 §8.4 (selection), §10.1.1 (CLA), §11.1.1 (SELECT, the FCP: Tables 11.3-11.5),
§11.1.2 (STATUS), §11.1.5 (READ RECORD), §11.1.17 (MANAGE CHANNEL), §13.1 (EF DIR), §13.2 (EF ICCID);
ITU-T E.118 (Luhn check digit); ETSI TS 102 223 §5.2, §6.4.15, §6.8, §8.6, §8.7, §8.12, §8.20;
3GPP TS 24.008 §10.5.1.4 (IMEI).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.sim.support import bind, in_handset, sp_session
from jpkikit.errors import TlvError
from jpkikit.harness.profile import Profile, load_profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import InProcessTransport
from jpkikit.host.uicc_terminal import contactless, field_off, phone_off, power_up
from jpkikit.reference.emulator.build import make_card
from jpkikit.reference.emulator.personalities import SIM, SIM_AUTH, get_personality
from jpkikit.reference.emulator.runtime import FACTORY_RESET
from jpkikit.reference.emulator.uicc import (
    DIR_RECORD_LENGTH,
    UiccCard,
    UiccPersonality,
    build_mf,
    terminal_identity,
)
from jpkikit.reference.emulator.uicc_fs import Ef
from jpkikit.vocab import testbed
from jpkikit.vocab.etsi import cat, uicc
from jpkikit.vocab.gp.arf import PKCS15_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import decode
from jpkikit.vocab.jpki import sim as jpki_sim
from jpkikit.vocab.jpki.card import JPKI_AID

#: The USIM application's AID as TS 101 220 registers it (RID A000000087, application code 1002), with a
#: country/provider part: the kind of AID an EF DIR record of a real UICC carries.
USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8906190000")
#: The IMEI example IMEI references use (TAC 49015420, serial number 323751, Luhn check digit 8; the
#: structure of 3GPP TS 23.003 §6.2.1).
#: 8A 05, 8C (a DF: every administrative command never), C6 {90 00} (TS 102 221 §11.1.1.3.1)
SECURITY_AND_PS = "8A01058C087FFFFFFFFFFFFFFFC603900100"
#: EF ICCID: 82 41 21, 83 2FE2, 8A 05, 8C (READ always, the rest never), 80 000A (§11.1.1.3.2)
EF_ICCID_FCP = bytes.fromhex("62198202412183022FE28A01058C087FFFFFFFFFFFFF008002000A")
IMEI = "490154203237518"
OTHER_IMEI = "353456780000003"

# -- ETSI TS 102 221: FCP templates ----------------------------------------------------------------------


def test_fcp_of_a_transparent_ef_is_the_table_11_4_layout() -> None:
    # 62 { 82 02 41 21 (working EF, transparent; data coding 21), 83 02 2FE2, 8A 01 05, 80 02 000A }
    fcp = uicc.build_fcp(uicc.transparent_descriptor(), uicc.FID_EF_ICCID, size=10)
    assert fcp == bytes.fromhex("62198202412183022FE28A01058C087FFFFFFFFFFFFF008002000A")
    parsed = uicc.parse_fcp(fcp)
    assert parsed.transparent and not parsed.linear_fixed and not parsed.is_df
    assert (parsed.file_id, parsed.size, parsed.life_cycle) == (0x2FE2, 10, uicc.LCS_ACTIVATED)
    assert parsed.record_length is None and parsed.records is None


def test_linear_fixed_descriptor_carries_record_length_and_count() -> None:
    # Table 11.5: 42 (linear fixed), 21, record length on 2 bytes, number of records on 1
    assert uicc.linear_descriptor(38, 3) == bytes.fromhex("4221002603")
    assert uicc.linear_descriptor(0x0120, 1) == bytes.fromhex("4221012001")


def test_fcp_of_a_df_carries_the_df_name() -> None:
    fcp = uicc.build_fcp(uicc.df_descriptor(), 0x7FFF, df_name=USIM_AID)
    assert fcp == bytes.fromhex(
        "622C820278218302 7FFF 8410".replace(" ", "")
        + USIM_AID.hex()
        + "8A01058C087FFFFFFFFFFFFFFFC603900100"
    )
    parsed = uicc.parse_fcp(fcp)
    assert parsed.is_df and parsed.df_name == USIM_AID and parsed.size is None


def test_parse_fcp_of_a_real_ef_dir_with_security_attributes_and_sfi() -> None:
    # The shape a commercial UICC answers for EF DIR: besides 82/83/8A/80 the referenced security
    # attributes (8B: EF ARR 2F06, record 1) and the short file identifier (88 F0), which parse_fcp skips.
    raw = bytes.fromhex("621A82054221002602 83022F00 8A0105 8B032F0601 8002004C 8801F0".replace(" ", ""))
    fcp = uicc.parse_fcp(raw)
    assert fcp.linear_fixed and fcp.file_id == 0x2F00
    assert (fcp.record_length, fcp.records, fcp.size) == (38, 2, 76)


def test_parse_fcp_of_a_real_mf_with_pin_status_template() -> None:
    raw = bytes.fromhex(
        "6223820278218302 3F00 A503800171 8A0105 8B032F0602 C60C900160830101830181 83010A".replace(" ", "")
    )
    fcp = uicc.parse_fcp(raw)
    assert fcp.is_df and fcp.file_id == uicc.FID_MF and fcp.life_cycle == 0x05 and fcp.df_name is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("6F0F8202412183022FE28A01058002000A", "an FCI (6F) is not an FCP template (62)"),
        ("62198202412183022FE28A01058C087FFFFFFFFFFFFF008002000A9000", "bytes after the template"),
        ("620783022FE28A0105", "no file descriptor (82)"),
        ("620F82024121", "the template is cut short"),
        ("", "nothing at all"),
    ],
)
def test_parse_fcp_refuses_what_is_not_an_fcp(raw: str, why: str) -> None:
    with pytest.raises(TlvError):
        uicc.parse_fcp(bytes.fromhex(raw))


def test_commands_are_coded_as_ts_102_221_gives_them() -> None:
    assert uicc.select_fid(0x2F00).to_bytes() == bytes.fromhex("00A40004022F0000")
    assert uicc.select_fid(0x2F00, p2=uicc.Select.NO_DATA).to_bytes() == bytes.fromhex("00A4000C022F00")
    assert uicc.select_fid(0x2FE2, cla=0x01).to_bytes() == bytes.fromhex("01A40004022FE200")
    assert uicc.select_path(bytes.fromhex("2FE2")).to_bytes() == bytes.fromhex("00A40804022FE200")
    assert uicc.select_path(b"\x2f\xe2", from_mf=False).to_bytes()[:4] == bytes.fromhex("00A40904")
    assert uicc.read_record(2, 38).to_bytes() == bytes.fromhex("00B2020426")
    assert uicc.read_record(1, 0).to_bytes() == bytes.fromhex("00B2010400")  # Le 00: the whole record
    assert uicc.status().to_bytes() == bytes.fromhex("80F2000000")


# -- EF DIR (§13.1) and EF ICCID (§13.2) ----------------------------------------------------------------


def test_ef_dir_record_of_a_usim() -> None:
    record = uicc.dir_record(uicc.DirRecord(USIM_AID, "USIM"), 38)
    # 61 18 { 4F 10 <AID>, 50 04 "USIM" }, FF to the record length
    assert record == bytes.fromhex("61184F10") + USIM_AID + bytes.fromhex("50045553494D") + b"\xff" * 12
    assert len(record) == 38
    assert uicc.parse_dir_record(record) == uicc.DirRecord(USIM_AID, "USIM", None)


def test_ef_dir_record_with_a_path_round_trips() -> None:
    entry = uicc.DirRecord(JPKI_AID, None, bytes.fromhex("3F007F10"))
    record = uicc.dir_record(entry, 30)
    assert record[:2] == bytes.fromhex("6112") and bytes.fromhex("51043F007F10") in record
    assert uicc.parse_dir_record(record) == entry


def test_unused_ef_dir_record_is_none() -> None:
    assert uicc.parse_dir_record(b"\xff" * 38) is None
    assert uicc.parse_dir_record(b"") is None


def test_ef_dir_record_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        uicc.dir_record(uicc.DirRecord(USIM_AID, "USIM"), 25)


@pytest.mark.parametrize(
    "raw",
    [
        "70084F06A00000008710FFFF",  # not an application template (61)
        "61064F04A0000000FFFF",  # an AID of 4 bytes (ISO/IEC 7816-4: 5 to 16)
        "610550034A504BFFFF",  # no AID (4F) at all
        "61074F05A000000087000000",  # padded with 00, not FF
        "61104F05A000000087",  # the template announces more than the record holds
    ],
)
def test_malformed_ef_dir_record_raises_tlv_error(raw: str) -> None:
    with pytest.raises(TlvError):
        uicc.parse_dir_record(bytes.fromhex(raw))


def test_luhn_check_digit_of_the_classic_example() -> None:
    # The textbook Luhn example (ISO/IEC 7812-1 Annex B algorithm, used by ITU-T E.118): 7992739871 -> 3
    assert uicc.luhn_digit("7992739871") == "3"
    assert uicc.luhn_valid("79927398713")
    assert not uicc.luhn_valid("79927398710")
    assert uicc.luhn_valid(IMEI)  # an IMEI's check digit is the same Luhn digit
    assert not uicc.luhn_valid("7") and not uicc.luhn_valid("79927A98713")


def test_iccid_is_bcd_with_swapped_nibbles() -> None:
    # §13.2: digits 8 9 4 4 ... stored as 98 44 ...; an odd length is padded with F in the last high nibble
    content = uicc.encode_iccid("8944110063141592653")
    assert content == bytes.fromhex("984411003641512956F3")
    assert len(content) == uicc.ICCID_LENGTH
    assert uicc.decode_iccid(content) == "8944110063141592653"
    twenty = "89811234567890123456"
    assert uicc.encode_iccid(twenty) == bytes.fromhex("98182143658709214365")
    assert uicc.decode_iccid(uicc.encode_iccid(twenty)) == twenty


@pytest.mark.parametrize("digits", ["89441100631415926", "898112345678901234567", "89441100631415926A"])
def test_encode_iccid_refuses_what_is_not_an_iccid(digits: str) -> None:
    with pytest.raises(ValueError, match="18 to 20 decimal digits"):
        uicc.encode_iccid(digits)


def test_decode_iccid_refuses_a_non_bcd_nibble() -> None:
    with pytest.raises(ValueError, match="non-BCD"):
        uicc.decode_iccid(bytes.fromhex("98A41100361451296235"))


# -- ETSI TS 102 223: the IMEI exchange ---------------------------------------------------------------------


def test_imei_mobile_identity_coding() -> None:
    # TS 24.008 §10.5.1.4: digit 1 | odd (1) | type IMEI (010) = 4A, then digit pairs low nibble first
    assert cat.imei_bytes(IMEI) == bytes.fromhex("4A09512430325781")
    assert cat.imei_text(bytes.fromhex("4A09512430325781")) == IMEI


@pytest.mark.parametrize(
    "value",
    ["4A095124303257", "4909512430325781", "4A0951243032578F"],  # short; type IMSI (001); F is no digit
)
def test_imei_text_refuses_what_is_not_an_imei(value: str) -> None:
    with pytest.raises(ValueError):
        cat.imei_text(bytes.fromhex(value))


def test_imei_bytes_refuses_a_wrong_length() -> None:
    with pytest.raises(ValueError, match="15 decimal digits"):
        cat.imei_bytes(IMEI[:14])


def test_terminal_profile_offers_provide_local_information_in_byte_4() -> None:
    with_pli = cat.terminal_profile()
    assert with_pli.to_bytes()[:5] == bytes.fromhex("8010000014")
    assert with_pli.data[0] == 0x01 and with_pli.data[3] == 0x40  # profile download; PLI (§5.2)
    assert cat.supports_pli(with_pli.data)
    without = cat.terminal_profile(pli_imei=False)
    assert without.data[3] == 0x00 and not cat.supports_pli(without.data)
    assert not cat.supports_pli(b"\x01\x00\x00")  # a profile too short to say


def test_provide_local_information_imei_command() -> None:
    # D0 { 81 03 <number 01> <type 26> <qualifier 01 = IMEI>, 82 02 <source 81 UICC> <destination 82 ME> }
    command = cat.provide_imei_command()
    assert command == bytes.fromhex("D00981030126018202 8182".replace(" ", ""))
    assert cat.parse_proactive(command) == cat.ProactiveCommand(1, 0x26, 0x01)


@pytest.mark.parametrize("raw", ["D00482028182", "D00382028182", "D1058103012601"])
def test_parse_proactive_refuses_malformed_commands(raw: str) -> None:
    with pytest.raises(TlvError):
        cat.parse_proactive(bytes.fromhex(raw))


def test_terminal_response_with_the_imei() -> None:
    command = cat.ProactiveCommand(1, cat.PROVIDE_LOCAL_INFORMATION, cat.QUALIFIER_IMEI)
    apdu = cat.terminal_response_imei(command, IMEI)
    expected = "810301260182028281830100" + "14084A09512430325781"
    assert apdu.to_bytes() == bytes.fromhex("8014000016" + expected)
    parsed = cat.parse_terminal_response(apdu.data)
    assert parsed == cat.TerminalResponse(command, cat.RESULT_OK, bytes.fromhex("4A09512430325781"))
    with pytest.raises(TlvError, match="command details"):
        cat.parse_terminal_response(bytes.fromhex("830100"))


def test_fetch_asks_for_the_length_of_91xx() -> None:
    assert cat.fetch(0x0B).to_bytes() == bytes.fromhex("801200000B")


# -- the emulator's UICC, through a CardSession ---------------------------------------------------------


def new_session(personality: str = "sim", *, bed: bool = False, state: Path | None = None) -> CardSession:
    card = make_card(personality, state)
    card.testbed = bed
    return CardSession(InProcessTransport(card, "unit-test UICC"))


def card_of(session: CardSession) -> UiccCard:
    card = session.tracer.inner.card  # type: ignore[attr-defined]
    assert isinstance(card, UiccCard)
    return card


@pytest.fixture
def sim() -> CardSession:
    return new_session()


def tx(session: CardSession, hex_: str, channel: int = 0) -> ResponseApdu:
    raw = bytearray.fromhex(hex_.replace(" ", ""))
    raw[0] |= channel
    return session.raw().transmit(bytes(raw))


MF_FCP = bytes.fromhex("621F8202782183023F00A5038001718A01058C087FFFFFFFFFFFFFFFC603900100")


def test_the_sim_personalities_are_uiccs() -> None:
    assert isinstance(SIM, UiccPersonality) and SIM.card_class is UiccCard
    assert get_personality("sim-auth") is SIM_AUTH
    assert [d.aid for d in SIM.directory] == [JPKI_AID, PKCS15_AID]
    assert SIM.logical_channels == 4 and not SIM.extended_length
    # TS 102 221 §6.3 ATR: 3B, T0 = 9n (TA1 and TD1, n historical bytes), TA1 96, TD1 80, TD2 1F, TA3 C7, TCK
    atr = SIM.atr
    assert atr[:6] == bytes.fromhex("3B9B96801FC7") and atr[6:-1] == b"JPKIKIT-SIM"
    tck = 0
    for b in atr[1:]:
        tck ^= b
    assert tck == 0, "TCK makes the XOR of T0..TCK zero (ISO/IEC 7816-3 §8.2.5)"


def test_after_the_atr_the_mf_is_current(sim: CardSession) -> None:
    r = sim.transmit(uicc.status())
    assert r.sw == SW.OK and r.data == MF_FCP
    quiet = tx(sim, "80F2000C")
    assert quiet.sw == SW.OK and not quiet.data
    assert tx(sim, "80F2030000").sw == SW.INCORRECT_P1P2


def test_select_the_mf_and_its_efs_by_fid(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_MF)).data == MF_FCP
    fcp = uicc.parse_fcp(sim.transmit(uicc.select_fid(uicc.FID_EF_DIR)).data)
    assert fcp.linear_fixed and fcp.file_id == 0x2F00
    # two applications and one unused record, 38 bytes each
    assert (fcp.record_length, fcp.records, fcp.size) == (DIR_RECORD_LENGTH, 3, 3 * DIR_RECORD_LENGTH)
    r = sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID))
    assert r.data == bytes.fromhex("62198202412183022FE28A01058C087FFFFFFFFFFFFF008002000A")
    quiet = sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID, p2=uicc.Select.NO_DATA))
    assert quiet.sw == SW.OK and not quiet.data


def test_read_ef_iccid(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID)).ok
    r = sim.read_binary(0, 10)
    digits = uicc.decode_iccid(r.data)
    assert r.sw == SW.OK and len(r.data) == 10
    assert digits.startswith("898100000000000001") and len(digits) == 19 and uicc.luhn_valid(digits)
    assert sim.read_binary(4, 6).data == r.data[4:]
    assert sim.read_binary(10, 1).sw == SW.WRONG_P1P2  # the offset is past the end of the file
    assert tx(sim, "00B2010400").sw == SW.COMMAND_INCOMPATIBLE  # READ RECORD of a transparent EF
    assert tx(sim, "00B0800000").sw == SW.FUNCTION_NOT_SUPPORTED  # no short file identifiers


def test_read_ef_dir_records(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_DIR)).ok
    records = [sim.transmit(uicc.read_record(n, DIR_RECORD_LENGTH)) for n in (1, 2, 3)]
    assert all(r.sw == SW.OK and len(r.data) == DIR_RECORD_LENGTH for r in records)
    assert records[0].data.startswith(bytes.fromhex("61124F0A") + JPKI_AID + bytes.fromhex("50044A504B49"))
    assert uicc.parse_dir_record(records[0].data) == uicc.DirRecord(JPKI_AID, "JPKI")
    assert uicc.parse_dir_record(records[1].data) == uicc.DirRecord(PKCS15_AID, "PKCS15")
    assert uicc.parse_dir_record(records[2].data) is None
    assert sim.transmit(uicc.read_record(4, DIR_RECORD_LENGTH)).sw == SW.RECORD_NOT_FOUND
    assert sim.transmit(uicc.read_record(0, DIR_RECORD_LENGTH)).sw == SW.RECORD_NOT_FOUND
    assert tx(sim, "00B2010226").sw == SW.INCORRECT_P1P2  # only absolute mode (P2 04)
    assert tx(sim, "00B0000000").sw == SW.COMMAND_INCOMPATIBLE  # READ BINARY of a linear fixed EF


def test_read_without_a_current_ef(sim: CardSession) -> None:
    assert tx(sim, "00B000000A").sw == SW.NO_CURRENT_EF
    assert tx(sim, "00B2010426").sw == SW.NO_CURRENT_EF
    assert tx(sim, "00D600000100").sw == SW.NO_CURRENT_EF


def test_select_by_path(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_path(bytes.fromhex("2FE2"))).data[:2] == b"\x62\x19"
    assert sim.read_binary(0, 2).ok
    # The path from the MF leaves out the MF's own identifier (ISO/IEC 7816-4, SELECT P1 08).
    assert sim.transmit(uicc.select_path(bytes.fromhex("3F002FE2"))).sw == SW.FILE_NOT_FOUND
    assert sim.transmit(uicc.select_path(bytes.fromhex("2F00"), from_mf=False)).ok
    assert sim.transmit(uicc.select_path(bytes.fromhex("2F"))).sw == SW.FILE_NOT_FOUND  # half an identifier
    assert sim.transmit(uicc.select_path(bytes.fromhex("2F002FE2"))).sw == SW.FILE_NOT_FOUND  # EF is no DF


def test_a_failed_select_keeps_the_current_file(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID)).ok
    assert sim.transmit(uicc.select_fid(0x6F07)).sw == SW.FILE_NOT_FOUND
    assert tx(sim, "00A40004012F").sw == SW.WRONG_LENGTH  # a file identifier is 2 bytes
    assert tx(sim, "00A4000102 2FE2".replace(" ", "")).sw == SW.INCORRECT_P1P2
    assert tx(sim, "00A4001002 2FE2".replace(" ", "")).sw == SW.INCORRECT_P1P2
    assert tx(sim, "00A40304").sw == SW.FILE_NOT_FOUND  # the MF has no parent
    assert sim.read_binary(0, 10).ok, "EF ICCID is no longer current after the failed SELECTs"


def test_the_terminal_cannot_write(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID)).ok
    before = sim.read_binary(0, 10).data
    assert tx(sim, "00D600000A" + "00" * 10).sw == SW.SECURITY_STATUS_NOT_SATISFIED
    assert sim.read_binary(0, 10).data == before
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_DIR)).ok
    assert tx(sim, "00DC010426" + "FF" * 38).sw == SW.SECURITY_STATUS_NOT_SATISFIED
    assert uicc.parse_dir_record(sim.transmit(uicc.read_record(1, 38)).data).aid == JPKI_AID


def test_every_application_ef_dir_lists_is_selectable_as_an_adf(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_DIR)).ok
    aids = []
    for n in range(1, 4):
        entry = uicc.parse_dir_record(sim.transmit(uicc.read_record(n, DIR_RECORD_LENGTH)).data)
        if entry is not None:
            aids.append(entry.aid)
    assert aids == [JPKI_AID, PKCS15_AID]
    assert sim.select(JPKI_AID).sw == SW.OK
    r = sim.select(PKCS15_AID, p2=0x04)
    fcp = uicc.parse_fcp(r.data)
    assert r.sw == SW.OK and fcp.is_df and fcp.df_name == PKCS15_AID
    assert sim.select(bytes.fromhex("A0000000631234")).sw == SW.FILE_NOT_FOUND


def test_the_mf_is_selectable_from_an_application(sim: CardSession) -> None:
    assert sim.select(JPKI_AID).ok
    # with the applet selected, an EF identifier names the applet's EFs (P1 02), where 2FE2 is not
    assert sim.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("2FE2")).sw == SW.FILE_NOT_FOUND
    assert sim.transmit(uicc.select_fid(uicc.FID_MF)).data == MF_FCP
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID)).ok, "SELECT 3F00 did not leave the applet"
    assert sim.read_binary(0, 10).ok


SECURITY_ATTRIBUTES = {0x86, 0x8B, 0x8C, 0xAB}  # proprietary, referenced, compact, expanded


def test_fcp_of_the_mf_has_the_mandatory_objects(sim: CardSession) -> None:
    tags = {t.tag for t in decode(decode(sim.transmit(uicc.status()).data)[0].value)}
    assert tags & SECURITY_ATTRIBUTES, "no security attributes"
    assert 0xC6 in tags, "no PIN status template DO"
    assert 0xA5 in tags, "no proprietary information"


def test_fcp_of_ef_iccid_has_security_attributes(sim: CardSession) -> None:
    tags = {t.tag for t in decode(decode(sim.transmit(uicc.select_fid(0x2FE2)).data)[0].value)}
    assert tags & SECURITY_ATTRIBUTES


def test_select_with_no_file_identifier_selects_the_mf(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID)).ok
    assert tx(sim, "00A4000C").sw == SW.OK
    assert sim.read_binary(0, 10).sw == SW.NO_CURRENT_EF, "EF ICCID still current: the MF was not selected"


def test_select_by_a_right_truncated_aid(sim: CardSession) -> None:
    r = sim.select(PKCS15_AID[:7], p2=0x04)
    assert r.sw == SW.OK and uicc.parse_fcp(r.data).df_name == PKCS15_AID


def test_get_response_after_a_select_without_le(sim: CardSession) -> None:
    r = tx(sim, "00A40004022FE2")  # case 3: the FCP waits for GET RESPONSE
    assert r.sw == 0x611B and not r.data
    got = tx(sim, "00C000001B")
    assert got.sw == SW.OK and got.data == bytes.fromhex(
        "62198202412183022FE28A01058C087FFFFFFFFFFFFF008002000A"
    )
    assert tx(sim, "00C000001B").sw == SW.CONDITIONS_NOT_SATISFIED  # nothing left


# -- logical channels (§10.1.1, §11.1.17) ------------------------------------------------------------------


def test_manage_channel_opens_the_channels_the_personality_claims(sim: CardSession) -> None:
    opened = [sim.open_channel() for _ in range(SIM.logical_channels - 1)]
    assert [(r.sw, r.data) for r in opened] == [(SW.OK, bytes((n,))) for n in (1, 2, 3)]
    assert sim.open_channel().sw == SW.FUNCTION_NOT_SUPPORTED  # no channel left
    assert tx(sim, "80F2000000", channel=3).data == MF_FCP
    assert sim.close_channel(2).sw == SW.OK
    assert tx(sim, "80F2000000", channel=2).sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED
    assert sim.open_channel().data == b"\x02", "the lowest free channel is not given again"


def test_manage_channel_coding_errors(sim: CardSession) -> None:
    assert tx(sim, "00708000").sw == SW.INCORRECT_P1P2  # the basic channel is never closed
    assert tx(sim, "00708001").sw == SW.INCORRECT_P1P2  # channel 1 is not open
    assert tx(sim, "0070000002").sw == SW.WRONG_LENGTH  # the card-assigned number comes in 1 byte
    assert tx(sim, "0070000101").sw == SW.WRONG_LENGTH  # open with a number asks for no data back
    assert tx(sim, "00700002").sw == SW.OK  # open channel 2 by number: no data
    assert tx(sim, "00700002").sw == SW.CONDITIONS_NOT_SATISFIED  # already open
    assert tx(sim, "00700004").sw == SW.INCORRECT_P1P2  # beyond the claimed channels
    assert tx(sim, "0070800200").sw == SW.WRONG_LENGTH  # close takes no Le
    assert tx(sim, "00704000").sw == SW.INCORRECT_P1P2


def test_cla_of_a_channel_beyond_the_claimed_ones(sim: CardSession) -> None:
    assert tx(sim, "40A40004022FE200").sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED  # CLA 40: channel 4 of 0-3
    assert tx(sim, "00A40004022FE200", channel=1).sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED  # not open


def test_a_new_channel_starts_at_the_mf_and_channels_are_independent(sim: CardSession) -> None:
    assert sim.select(JPKI_AID).ok
    n = sim.open_channel().data[0]
    assert tx(sim, "80F2000000", channel=n).data == MF_FCP, "the new channel does not start at the MF"
    assert tx(sim, "00A40004022FE200", channel=n).ok
    assert tx(sim, "00B000000A", channel=n).sw == SW.OK
    # the basic channel kept its application: EF 0006 of the JPKI applet is still reachable there
    assert sim.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0006")).sw == SW.OK
    assert tx(sim, "00A40004022F0000", channel=n).ok  # EF DIR current on channel n only
    assert tx(sim, "00B000000A", channel=n).sw == SW.COMMAND_INCOMPATIBLE
    assert sim.close_channel(n).ok


def test_the_current_ef_is_per_channel(sim: CardSession) -> None:
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID)).ok
    n = sim.open_channel().data[0]
    assert tx(sim, "00B000000A", channel=n).sw == SW.NO_CURRENT_EF
    assert tx(sim, "00A40004022F0000", channel=n).ok
    assert sim.read_binary(0, 10).ok, "selecting EF DIR on another channel changed the basic channel's EF"


def test_a_channel_opened_from_an_adf_channel_inherits_a_multiselectable_application(
    sim: CardSession,
) -> None:
    one = sim.open_channel().data[0]
    assert sim.select(PKCS15_AID, channel=one).ok
    two = sim.open_channel(from_channel=one).data[0]
    r = tx(sim, "80F2000000", channel=two)  # STATUS: the current DF of the new channel
    assert r.ok and uicc.parse_fcp(r.data).df_name == PKCS15_AID


# -- what survives a reset --------------------------------------------------------------------------------


def test_a_reset_closes_channels_and_makes_the_mf_current(sim: CardSession) -> None:
    n = sim.open_channel().data[0]
    assert sim.select(JPKI_AID).ok
    assert sim.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=n)).ok
    atr = sim.reset()
    assert atr == SIM.atr
    assert tx(sim, "80F2000000", channel=n).sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED
    assert sim.transmit(uicc.status()).data == MF_FCP
    assert tx(sim, "00B000000A").sw == SW.NO_CURRENT_EF
    assert sim.reset(cold=True) == SIM.atr and sim.transmit(uicc.status()).data == MF_FCP


def test_power_up_in_a_handset_learns_its_imei(sim: CardSession) -> None:
    start = power_up(sim, IMEI)
    assert start.atr == SIM.atr and start.asked_imei
    assert start.profile.sw == 0x910B  # PROVIDE LOCAL INFORMATION: 11 bytes waiting for FETCH
    assert start.response is not None and start.response.sw == SW.OK
    assert card_of(sim).session_terminal == hashlib.sha256(IMEI.encode()).digest()
    assert terminal_identity(cat.imei_bytes(IMEI)) == card_of(sim).session_terminal


def test_the_handset_is_forgotten_at_the_next_power_up(sim: CardSession) -> None:
    power_up(sim, IMEI)
    sim.reset(cold=True)
    assert card_of(sim).session_terminal is None
    power_up(sim, OTHER_IMEI)
    assert card_of(sim).session_terminal == hashlib.sha256(OTHER_IMEI.encode()).digest()


def test_power_up_of_a_terminal_without_imei(sim: CardSession) -> None:
    start = power_up(sim, None)
    assert start.profile.sw == SW.OK and not start.asked_imei and start.response is None
    assert card_of(sim).session_terminal is None
    power_up(sim, IMEI)
    plain = power_up(sim, IMEI, profile=False)  # a plain card reader: no TERMINAL PROFILE at all
    assert not plain.asked_imei and plain.response is None
    assert card_of(sim).session_terminal is None, "the last handset's IMEI outlived the reset"


def test_toolkit_commands_out_of_order(sim: CardSession) -> None:
    assert sim.transmit(cat.fetch(11)).sw == SW.CONDITIONS_NOT_SATISFIED  # nothing to fetch
    command = cat.ProactiveCommand(1, cat.PROVIDE_LOCAL_INFORMATION, cat.QUALIFIER_IMEI)
    assert sim.transmit(cat.terminal_response_imei(command, IMEI)).sw == SW.CONDITIONS_NOT_SATISFIED
    assert tx(sim, "80100000").sw == SW.WRONG_LENGTH  # TERMINAL PROFILE without a profile
    assert sim.raw().transmit(cat.terminal_profile()).sw == 0x910B
    wrong = cat.ProactiveCommand(2, cat.PROVIDE_LOCAL_INFORMATION, cat.QUALIFIER_IMEI)
    assert sim.transmit(cat.terminal_response_imei(wrong, IMEI)).sw == SW.WRONG_DATA  # another number
    assert card_of(sim).session_terminal is None
    assert sim.transmit(cat.terminal_response_imei(command, IMEI)).sw == SW.OK
    assert card_of(sim).session_terminal is not None


def test_terminal_identity_of_a_value_that_is_no_imei() -> None:
    assert terminal_identity(bytes.fromhex("4909512430325781")) is None


# -- the contactless interface (test bed) ---------------------------------------------------------------


def test_contactless_interface_has_its_own_channels() -> None:
    session = new_session(bed=True)
    assert session.open_channel().data == b"\x01"
    cl = contactless(session)
    assert cl.transmit(uicc.status()).data == MF_FCP
    assert cl.open_channel().data == b"\x01", "the contactless interface shares the contact channels"
    assert cl.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=1)).ok
    assert cl.read_binary(0, 10, channel=1).ok
    # the toolkit talks to the handset over the contact interface, never to a reader
    assert cl.raw().transmit(cat.terminal_profile()).sw == SW.CONDITIONS_NOT_SATISFIED


def test_phone_off_keeps_the_contactless_interface_field_off_ends_it() -> None:
    session = new_session(bed=True)
    cl = contactless(session)
    assert cl.open_channel().data == b"\x01"
    assert phone_off(session).sw == SW.OK
    card = card_of(session)
    assert not card.contact_powered and not card.powered
    assert session.transmit(uicc.status()).sw == SW.NO_PRECISE_DIAGNOSIS  # the contact side is unpowered
    assert cl.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=1)).ok, "channel 1 lost with the phone off"
    assert field_off(session).sw == SW.OK  # the phone taken off the reader
    assert cl.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=1)).sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED
    cl.reset()  # the phone held to the reader again: a new contactless session at the MF
    assert cl.transmit(uicc.status()).data == MF_FCP


def test_contactless_channels_survive_a_contact_reset_not_a_factory_reset() -> None:
    session = new_session(bed=True)
    cl = contactless(session)
    assert cl.open_channel().data == b"\x01"
    session.reset(cold=True)  # the phone restarts; the field stays on
    assert cl.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=1)).ok, "a contact reset closed channel 1"
    assert session.transmit(FACTORY_RESET).sw == SW.OK
    assert cl.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=1)).sw == SW.LOGICAL_CHANNEL_NOT_SUPPORTED


def test_test_bed_commands_are_ignored_unless_the_kit_launched_the_card(sim: CardSession) -> None:
    r = sim.raw().transmit(testbed.contactless(uicc.status().to_bytes()))
    assert r.sw == SW.INS_NOT_SUPPORTED and not r.data  # 80 FE: an unknown command at the MF
    assert sim.raw().transmit(testbed.command(testbed.PHONE_OFF)).sw == SW.INS_NOT_SUPPORTED
    assert card_of(sim).contact_powered


# -- the personality's own files (build_mf) ---------------------------------------------------------------


def test_build_mf_of_a_custom_personality() -> None:
    personality = replace(SIM, iccid="894411006314159265", directory=(uicc.DirRecord(USIM_AID, "USIM"),))
    mf = build_mf(personality)
    iccid, dir_ = mf.children[uicc.FID_EF_ICCID], mf.children[uicc.FID_EF_DIR]
    assert isinstance(iccid, Ef) and isinstance(dir_, Ef) and dir_.records is not None
    # the personality gives the ICCID without its check digit; the MF stores it with the Luhn digit
    assert uicc.decode_iccid(iccid.content) == "8944110063141592655"  # Luhn digit 5, worked by hand
    assert len(dir_.records) == 2 and dir_.records[1] == b"\xff" * DIR_RECORD_LENGTH
    assert uicc.parse_dir_record(dir_.records[0]) == uicc.DirRecord(USIM_AID, "USIM")
    too_long = replace(SIM, directory=(uicc.DirRecord(USIM_AID, "A-LABEL-OF-MORE-THAN-20-LETTERS"),))
    with pytest.raises(ValueError, match="does not fit"):
        build_mf(too_long)


# -- the JPKI applet on the UICC (jpki_uicc.py) -----------------------------------------------------------


def bind_to(session: CardSession, imei: str) -> None:
    """The state BIND HANDSET leaves (the applet's persistent ``binding``), set directly: the command itself
    needs the SP security domain's SCP03 session, which the conformance tests open."""
    applet = card_of(session).registry[JPKI_AID].applet
    applet.data["binding"] = hashlib.sha256(imei.encode()).hexdigest().upper()


def test_an_applet_never_bound_is_selectable_anywhere(sim: CardSession) -> None:
    assert sim.select(JPKI_AID).ok
    power_up(sim, OTHER_IMEI)
    assert sim.select(JPKI_AID).ok


def test_a_bound_applet_is_selectable_only_in_its_handset(sim: CardSession) -> None:
    bind_to(sim, IMEI)
    power_up(sim, IMEI)
    assert sim.select(JPKI_AID).ok
    n = sim.open_channel().data[0]
    assert sim.select(JPKI_AID, channel=n).ok, "in its own handset the applet answers every channel"
    sim.close_channel(n)
    power_up(sim, OTHER_IMEI)
    assert sim.select(JPKI_AID).sw == SW.CONDITIONS_NOT_SATISFIED, "a bound applet answered another phone"
    power_up(sim, None)
    assert sim.select(JPKI_AID).sw == SW.CONDITIONS_NOT_SATISFIED, "a bound applet answered an unknown phone"


def test_a_bound_applet_and_the_contactless_interface() -> None:
    session = new_session(bed=True)
    bind_to(session, IMEI)
    power_up(session, IMEI)
    cl = contactless(session)
    assert cl.select(JPKI_AID).ok, "the phone is on, in its handset: the reader may use the applet"
    assert field_off(session).ok
    phone_off(session)
    assert cl.select(JPKI_AID).sw == SW.CONDITIONS_NOT_SATISFIED  # phone off: no handset known


def test_the_binding_survives_a_reset_the_handset_does_not(tmp_path: Path) -> None:
    state = tmp_path / "uicc.json"
    session = new_session(state=state)
    bind_to(session, IMEI)
    power_up(session, IMEI)
    assert session.select(JPKI_AID).ok  # also writes the state file
    session.reset(cold=True)
    assert session.select(JPKI_AID).sw == SW.CONDITIONS_NOT_SATISFIED  # the handset must say who it is again
    again = new_session(state=state)  # the same UICC, its state read back
    binding = card_of(again).registry[JPKI_AID].applet.data["binding"]
    assert binding == hashlib.sha256(IMEI.encode()).hexdigest().upper()
    power_up(again, IMEI)
    assert again.select(JPKI_AID).ok


def test_the_auth_only_applet_has_no_signature_files() -> None:
    session = new_session("sim-auth")
    assert session.select(JPKI_AID).ok
    for fid in ("0001", "0002", "001A", "001B"):  # the signature certificate, its CA, key and PIN
        assert session.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex(fid)).sw == SW.FILE_NOT_FOUND, fid
    for fid in ("0018", "0017", "000A", "000B"):  # the auth PIN, key, certificate and its CA
        assert session.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex(fid)).sw == SW.OK, fid
    assert session.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0008")).ok
    status = session.read_binary(0, 3)
    assert status.ok and status.data == bytes.fromhex("008F00")
    full = new_session()
    assert full.select(JPKI_AID).ok
    assert full.send(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("001A")).sw == SW.OK


# BIND HANDSET itself, in the SP security domain's SCP03 session as the conformance tests open it
# (conformance/sim/support.py), with the bundled profile's test keys.


@pytest.fixture(scope="module")
def sim_profile() -> Profile:
    return load_profile(Path(__file__).resolve().parents[1] / "profiles" / "emulator-sim.yaml")


def test_bind_handset_in_the_sp_session(sim: CardSession, sim_profile: Profile) -> None:
    bind(sim, sim_profile, IMEI)
    applet = card_of(sim).registry[JPKI_AID].applet
    assert applet.data["binding"] == hashlib.sha256(IMEI.encode()).hexdigest().upper()
    in_handset(sim, OTHER_IMEI)
    assert sim.select(JPKI_AID).sw == SW.CONDITIONS_NOT_SATISFIED
    in_handset(sim, IMEI)
    assert sim.select(JPKI_AID).ok


def test_bind_handset_refusals(sim: CardSession, sim_profile: Profile) -> None:
    in_handset(sim, None)  # a terminal that gave no IMEI: nothing to bind to
    layer = sp_session(sim, sim_profile)
    assert layer.send(jpki_sim.bind_handset()).sw == SW.CONDITIONS_NOT_SATISFIED
    bad_p1 = CommandApdu(0x80, jpki_sim.INS_BIND_HANDSET, 0x01, 0x00)
    assert layer.send(bad_p1).sw == SW.INCORRECT_P1P2
    layer.end()
    assert card_of(sim).registry[JPKI_AID].applet.data["binding"] is None
    power_up(sim, IMEI)
    assert sim.select(JPKI_AID).ok
    plain = sim.transmit(jpki_sim.bind_handset())  # outside the SP security domain's session
    assert plain.sw == SW.SECURITY_STATUS_NOT_SATISFIED
    assert card_of(sim).registry[JPKI_AID].applet.data["binding"] is None
