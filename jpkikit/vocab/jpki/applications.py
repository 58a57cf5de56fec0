"""The My Number card's applications besides the JPKI application (docs/spec/jpki-applet.md#applications-and-
aids): present on the card, absent from the phone tokens (docs/spec/jpki-applet.md#the-phone-token-gp-se).
Tests take whether they are present from the profile (ics.jpki.card_aps_present)."""

from __future__ import annotations

#: 券面事項確認AP, the card-face application (confirmed: jpki/myna, jpki-rs, myna-card).
CARD_FACE_AID = bytes.fromhex("D3921000310001010402")
#: 券面事項入力補助AP, the text input support application (confirmed: jpki/myna, jpki-rs, myna-card).
TEXT_INPUT_AID = bytes.fromhex("D3921000310001010408")
#: The card-only applications, by the name a test reports them with.
CARD_ONLY_APS = {"card-face AP": CARD_FACE_AID, "text input support AP": TEXT_INPUT_AID}
