"""SELECT by AID (ISO/IEC 7816-4 §11.1.1; docs/spec/jpki-applet.md#applications-and-aids: clients send P1=04
P2=0C, case 3)."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.sw import SW


@pytest.mark.requirement("ISO-SEL-01")
def test_select_present_application(card, profile) -> None:
    r = card.select(profile.ixit.aids.jpki)
    assert r.sw == SW.OK, f"SELECT of the JPKI AID answered {r}"
    assert r.data == b"", "P2=0C asks for no response data"


@pytest.mark.requirement("ISO-SEL-02")
def test_select_absent_application(card, profile) -> None:
    r = card.select(profile.ixit.aids.absent)
    assert r.sw == SW.FILE_NOT_FOUND, f"SELECT of an AID the card does not hold answered {r}"
