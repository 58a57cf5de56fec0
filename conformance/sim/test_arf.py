"""The PKCS#15 access rule files of the UICC (GP SEAC, the ARF; docs/spec/uicc.md#the-access-rule-files), as
an Android handset's Access Control Enforcer reads them when it opens a channel to the JPKI applet (seed 000
§4(3) 課題⑥: the ACE takes the access rules from the ARF of the SIM)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.arf import AC_OID, EF_ODF, PKCS15_AID
from jpkikit.vocab.iso7816.sw import SW

from .arf_reader import ArfClient, acmf_path, dodf_path, parse_acmf
from .support import claims


@pytest.fixture
def arf(card: CardSession) -> Iterator[ArfClient]:
    """The ARF reader on a logical channel, as the ACE opens one (AOSP ArfController)."""
    opened = card.open_channel()
    assert opened.ok and len(opened.data) == 1, f"MANAGE CHANNEL open answered {opened}"
    try:
        yield ArfClient(card, opened.data[0])
    finally:
        card.close_channel(opened.data[0])


def _rules(rules: list[seac.Rule]) -> list[str]:
    return sorted(str(seac.rule_to_json(r)) for r in rules)


@pytest.mark.requirement("SIM-ARF-01")
def test_pkcs15_application_and_odf(arf: ArfClient, profile: Profile) -> None:
    fcp = arf.select_application()
    assert PKCS15_AID in fcp, (
        f"SELECT of the PKCS#15 application answered an FCP without its AID: {fcp.hex()}"
    )
    odf = arf.read_file(EF_ODF.to_bytes(2, "big"), "EF ODF")
    path = dodf_path(odf)
    assert len(path) >= 2, f"EF ODF's DODF entry points to {path.hex()}"
    arf.read_file(path, "EF DODF")  # the DODF the ODF names exists


@pytest.mark.requirement("SIM-ARF-02")
def test_dodf_points_to_the_acmf(arf: ArfClient, profile: Profile) -> None:
    arf.select_application()
    dodf = arf.read_file(dodf_path(arf.read_file(EF_ODF.to_bytes(2, "big"), "EF ODF")), "EF DODF")
    acmf = parse_acmf(arf.read_file(acmf_path(dodf), f"EF ACMF (the OidDO {AC_OID})"))
    assert len(acmf.refresh_tag) == 8
    arf.read_file(acmf.acrf_path, "EF ACRF")  # the ACRF the ACMF names exists


@pytest.mark.requirement("SIM-ARF-03")
def test_arf_rules_are_the_claimed_ones(arf: ArfClient, profile: Profile) -> None:
    files = arf.read()
    expected = _rules(list(claims(profile).arf_rules))
    assert _rules(files.rules) == expected, f"the ARF holds {_rules(files.rules)}, the ICS claims {expected}"


@pytest.mark.requirement("SIM-ARF-04")
def test_arf_is_read_only(arf: ArfClient, profile: Profile) -> None:
    files = arf.read()
    assert files.acmf is not None
    for path, what in (
        (files.acmf.acrf_path, "EF ACRF"),
        *((p, f"EF ACCF {p.hex()}") for _, p in files.acrf),
    ):
        before = arf.read_file(path, what)
        r = arf.card.send(0x00, 0xD6, 0x00, 0x00, b"\x30\x00", channel=arf.channel)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
            f"UPDATE BINARY of {what} by the terminal answered {r}"
        )
        assert arf.read_file(path, what) == before, f"{what} changed although UPDATE BINARY was refused"
    again = ArfClient(arf.card, arf.channel).read()
    assert _rules(again.rules) == _rules(files.rules), "the access rules changed"


@pytest.mark.requirement("SIM-NFC-01")
def test_nfc_events_only_for_the_named_app(arf: ArfClient, profile: Profile) -> None:
    jpki = profile.ixit.aids.jpki
    for rule in arf.read().rules:
        covers = rule.ref.aid in (jpki, "all", "default")
        if covers and rule.ar.nfc is not False and rule.ar.apdu != "never":
            assert rule.ref.hash, (
                f"the ARF grants NFC events of the JPKI applet to every app: {seac.rule_to_json(rule)}"
            )
        if covers and isinstance(rule.ar.apdu, tuple):
            assert rule.ar.nfc is False, (
                f"an app limited by APDU filters also gets the applet's NFC events: {seac.rule_to_json(rule)}"
            )
