"""The UICC a SIM-design JPKI applet lives in (ETSI TS 102 221; docs/spec/uicc.md#the-uicc-file-system): the
MF after the ATR, EF ICCID, EF DIR, files the terminal cannot write, and logical channels as a UICC opens
them."""

from __future__ import annotations

import pytest

from jpkikit.errors import TlvError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.etsi import uicc
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import EF_TOKEN_INFO, LABEL_LENGTH

from .support import claims


def _fcp(r: object, what: str) -> uicc.Fcp:
    assert getattr(r, "ok", False), f"SELECT of {what} answered {r}"
    try:
        return uicc.parse_fcp(r.data)  # type: ignore[attr-defined]
    except TlvError as exc:
        pytest.fail(f"SELECT of {what} with P2=04 answered no FCP template (62): {exc}")


@pytest.mark.requirement("SIM-FS-01")
def test_mf_is_current_after_reset(card: CardSession, profile: Profile) -> None:
    card.reset()
    status = card.transmit(uicc.status())
    mf = _fcp(status, "the current DF (STATUS)")
    assert mf.is_df and mf.file_id == uicc.FID_MF, f"after the ATR STATUS shows {mf}, not the MF 3F00 (§8.4)"
    selected = _fcp(card.transmit(uicc.select_fid(uicc.FID_MF)), "the MF")
    assert selected.is_df and selected.file_id == uicc.FID_MF, f"SELECT 3F00 answered the FCP {selected}"
    assert selected.life_cycle == uicc.LCS_ACTIVATED, f"the MF's life cycle status is {selected.life_cycle}"
    quiet = card.transmit(uicc.select_fid(uicc.FID_MF, p2=uicc.Select.NO_DATA))
    assert quiet.sw == SW.OK and not quiet.data, f"SELECT 3F00 with P2=0C answered {quiet}"
    assert card.select(profile.ixit.aids.jpki).ok, "the JPKI applet cannot be selected"
    back = _fcp(card.transmit(uicc.select_fid(uicc.FID_MF)), "the MF from the JPKI applet")
    assert back.file_id == uicc.FID_MF, "SELECT 3F00 with an application selected did not return to the MF"


@pytest.mark.requirement("SIM-FS-02")
def test_ef_iccid(card: CardSession, profile: Profile) -> None:
    fcp = _fcp(card.transmit(uicc.select_fid(uicc.FID_EF_ICCID)), "EF ICCID")
    assert fcp.transparent and fcp.size == uicc.ICCID_LENGTH, f"EF ICCID's FCP says {fcp} (§13.2)"
    r = card.read_binary(0, uicc.ICCID_LENGTH)
    assert r.ok and len(r.data) == uicc.ICCID_LENGTH, f"READ BINARY of EF ICCID answered {r}"
    try:
        digits = uicc.decode_iccid(r.data)
    except ValueError as exc:
        pytest.fail(f"EF ICCID is not BCD digit-swapped: {exc}")
    assert digits.startswith("89"), f"ICCID {digits} does not start with 89 (ITU-T E.118 telecommunication)"
    assert 18 <= len(digits) <= 20 and uicc.luhn_valid(digits), f"ICCID {digits}: wrong length or check digit"
    declared = profile.ixit.unit.identity.iccid if profile.ixit.unit and profile.ixit.unit.identity else None
    if declared:
        assert r.data == declared, (
            f"EF ICCID holds {r.data.hex().upper()}, the profile declares {declared.hex().upper()}"
        )


@pytest.mark.requirement("SIM-FS-03")
def test_ef_dir_lists_the_applications(card: CardSession, profile: Profile) -> None:
    fcp = _fcp(card.transmit(uicc.select_fid(uicc.FID_EF_DIR)), "EF DIR")
    assert fcp.linear_fixed and fcp.records and fcp.record_length, f"EF DIR's FCP says {fcp} (§13.1)"
    listed: list[bytes] = []
    for number in range(1, fcp.records + 1):
        r = card.transmit(uicc.read_record(number, fcp.record_length))
        assert r.ok and len(r.data) == fcp.record_length, f"READ RECORD {number} of EF DIR answered {r}"
        try:
            entry = uicc.parse_dir_record(r.data)
        except TlvError as exc:
            pytest.fail(f"EF DIR record {number}: {exc}")
        if entry is not None:
            listed.append(entry.aid)
    beyond = card.transmit(uicc.read_record(fcp.records + 1, fcp.record_length))
    assert beyond.sw == SW.RECORD_NOT_FOUND, f"READ RECORD past the last record answered {beyond}"
    expected = sorted(a.hex().upper() for a in claims(profile).applications)
    assert sorted(a.hex().upper() for a in listed) == expected, f"EF DIR lists {listed}, the ICS {expected}"
    for aid in listed:
        assert card.select(aid, p2=0x00).ok, f"{aid.hex().upper()} is in EF DIR but cannot be selected"


@pytest.mark.requirement("SIM-FS-04")
def test_uicc_files_are_read_only(card: CardSession, profile: Profile) -> None:
    card.transmit(uicc.select_fid(uicc.FID_EF_ICCID))
    before = card.read_binary(0, uicc.ICCID_LENGTH)
    r = card.send(0x00, 0xD6, 0x00, 0x00, bytes(uicc.ICCID_LENGTH))
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"UPDATE BINARY of EF ICCID by the terminal answered {r}"
    after = card.read_binary(0, uicc.ICCID_LENGTH)
    assert after.data == before.data, "EF ICCID changed although the UPDATE BINARY was refused"
    fcp = _fcp(card.transmit(uicc.select_fid(uicc.FID_EF_DIR)), "EF DIR")
    first = card.transmit(uicc.read_record(1, fcp.record_length or 0))
    r = card.send(0x00, 0xDC, 0x01, 0x04, b"\xff" * (fcp.record_length or 1))
    assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, f"UPDATE RECORD of EF DIR by the terminal answered {r}"
    assert card.transmit(uicc.read_record(1, fcp.record_length or 0)).data == first.data, "EF DIR changed"


@pytest.mark.requirement("SIM-CH-01")
def test_a_new_channel_starts_at_the_mf(card: CardSession, profile: Profile) -> None:
    card.transmit(uicc.select_fid(uicc.FID_EF_ICCID))
    iccid = card.read_binary(0, uicc.ICCID_LENGTH)
    assert card.select(profile.ixit.aids.jpki).ok
    opened = card.open_channel()
    assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
    n = opened.data[0]
    try:
        r = card.transmit(uicc.select_fid(uicc.FID_EF_ICCID, cla=n))
        assert r.ok, f"on new channel {n}, SELECT of EF ICCID (a child of the MF) answered {r} (§11.1.17)"
        on_new = card.read_binary(0, uicc.ICCID_LENGTH, channel=n)
        assert on_new.ok and on_new.data == iccid.data, (
            f"READ BINARY of EF ICCID on channel {n} answered {on_new}"
        )
        jpki = JpkiClient(card, profile.ixit.aids.jpki, n)
        assert jpki.select_ap().ok, f"the JPKI applet cannot be selected on channel {n}"
        label, r = jpki.token_label()
        assert label == profile.ics.jpki.token_label, f"EF 0006 on channel {n}: {label!r} ({r})"
        r = card.send(0x00, 0xA4, 0x02, 0x0C, EF_TOKEN_INFO.to_bytes(2, "big"))
        assert r.ok, f"the basic channel lost its JPKI selection when channel {n} was used: {r}"
        assert card.read_binary(0, LABEL_LENGTH).ok
    finally:
        card.close_channel(n)
