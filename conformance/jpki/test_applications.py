"""The My Number card's other applications: present on the card, absent from the phone tokens, as the ICS
claims (ics.jpki.card_aps_present; docs/spec/jpki-applet.md: "Applications and AIDs", "The phone token
(GP-SE)")."""

from __future__ import annotations

import pytest

from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.applications import CARD_ONLY_APS

from .support import said


@pytest.mark.requirement("JPKI-APS-01")
def test_card_only_applications_as_claimed(card, profile) -> None:
    present = profile.ics.jpki.card_aps_present
    for name, aid in CARD_ONLY_APS.items():
        r = card.select(aid)
        if present:
            assert r.sw == SW.OK and not r.data, (
                f"SELECT of the {name} ({aid.hex().upper()}) answered {said(r)}; the ICS claims the "
                "card-only applications (ics.jpki.card_aps_present)"
            )
        else:  # ISO/IEC 7816-4 status bytes: 6A82 application not found
            assert r.sw == SW.FILE_NOT_FOUND and not r.data, (
                f"SELECT of the {name} ({aid.hex().upper()}) answered {said(r)}; the ICS says the card-only "
                "applications are absent, so 6A82 is expected"
            )
        r = card.select(profile.ixit.aids.jpki)
        assert r.sw == SW.OK, f"SELECT of the JPKI application after the {name} answered {said(r)}"
