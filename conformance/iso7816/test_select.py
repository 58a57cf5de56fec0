"""SELECT by AID (ISO/IEC 7816-4 §11.1.1; docs/spec/jpki-applet.md#applications-and-aids: clients send P1=04
P2=0C, case 3), and the default application as the ICS claims it (ics.iso7816.default_application; ISO/IEC
7816-4 §7.1, GPCS v2.3.1 §11.9.2.3)."""

from __future__ import annotations

import pytest

from jpkikit.errors import Inconclusive
from jpkikit.vocab.iso7816.apdu import ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import decode
from jpkikit.vocab.jpki.card import SELECT_TOKEN_INFO

from ..jpki.support import said


def _label(card) -> ResponseApdu:
    """SELECT EF 0006 of the current application and read its 32-byte label field."""
    r = card.send(0x00, 0xA4, 0x02, 0x0C, SELECT_TOKEN_INFO)
    return r if not r.ok else card.read_binary(0, 32)


@pytest.mark.requirement("ISO-SEL-01")
def test_select_present_application(card, profile) -> None:
    r = card.select(profile.ixit.aids.jpki)
    assert r.sw == SW.OK, f"SELECT of the JPKI AID answered {said(r)}"
    assert r.data == b"", "P2=0C asks for no response data"
    label = _label(card)  # the JPKI application is now the current one: its EF 0006 is there
    assert label.ok and len(label.data) == 32, (
        f"after SELECT of the JPKI AID answered 9000, its EF 0006 could not be read ({said(label)}): the "
        "application did not become current"
    )


@pytest.mark.requirement("ISO-SEL-02")
def test_select_absent_application(card, profile) -> None:
    assert card.select(profile.ixit.aids.jpki).ok
    before = _label(card)
    assert before.ok, f"EF 0006 of the JPKI application answered {said(before)}"
    r = card.select(profile.ixit.aids.absent)
    assert r.sw == SW.FILE_NOT_FOUND and not r.data, (
        f"SELECT of an AID the card does not hold answered {said(r)}, expected 6A82 and no data"
    )
    # GPCS §11.9.2.1: a SELECT that fails leaves the current selection as it was
    after = card.read_binary(0, 32)
    assert after.ok and after.data == before.data, (
        f"after the failed SELECT, READ BINARY of the EF current before answered {said(after)}: the "
        "selection was lost"
    )
    assert card.select(profile.ixit.aids.jpki).ok, "SELECT of the JPKI AID after the failed one failed"


# A command the default application answers once it is current, to compare the implicit selection after a
# reset with the explicit one: GET DATA of the card data (80 CA 00 66, GPCS §11.3, Annex H.2), which a
# GlobalPlatform ISD answers without a secure channel. For another kind of default application the probe
# may not say anything (an error both ways), and the implicit selection is then inconclusive.
PROBE = (0x80, 0xCA, 0x00, 0x66)


@pytest.mark.requirement("ISO-SEL-03")
def test_default_application_as_claimed(card, profile) -> None:
    claimed = profile.ics.iso7816.default_application
    if claimed is None:
        pytest.skip("not applicable: ics.iso7816.default_application is not given")
    card.reset()
    implicit = card.send(*PROBE, ne=256)  # nothing selected yet: the implicit selection answers (§7.1)
    assert card.select(profile.ixit.aids.jpki).ok, "SELECT of the JPKI AID failed"
    # SELECT by DF name without a data field, Le 00 (GPCS §11.9.2.3): selects the default application and
    # returns its FCI, whose DF name (tag 84 in template 6F, ISO/IEC 7816-4 §7.4) is that application's AID
    r = card.send(0x00, 0xA4, 0x04, 0x00, ne=256)
    assert r.sw == SW.OK, f"SELECT by DF name without data (00 A4 04 00 00) answered {said(r)}"
    try:
        fci = decode(r.data)
        name = fci[0].find(0x84) if len(fci) == 1 and fci[0].tag == 0x6F else None
    except Exception:
        name = None
    assert name is not None, (
        f"SELECT without data returned {len(r.data)} bytes ({r.data.hex().upper()}), not an FCI (6F) with "
        "a DF name (84)"
    )
    assert name.value == claimed, (
        f"SELECT without data selected {name.value.hex().upper()}, the ICS claims the default application "
        f"{claimed.hex().upper()}"
    )
    explicit = card.send(*PROBE, ne=256)
    if not explicit.ok:
        raise Inconclusive(
            f"GET DATA 80 CA 00 66 answered {said(explicit)} on the default application: no probe of the "
            "implicit selection after a reset"
        )
    assert (implicit.sw, implicit.data) == (explicit.sw, explicit.data), (
        f"after a reset the basic channel answered GET DATA with {implicit.sw:04X}, the default application "
        f"with {explicit.sw:04X}: it is not implicitly selected after a reset"
    )
