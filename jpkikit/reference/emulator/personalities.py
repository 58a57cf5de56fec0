"""The bundled personalities: the My Number card, the Android GP-SE and a SIM (jpki-ap.md §2, §11.3)."""

from __future__ import annotations

from jpkikit.reference.emulator import jpki_phone  # noqa: F401  (registers the "jpki-phone" applet type)
from jpkikit.reference.emulator.aram import jpki_rules
from jpkikit.reference.emulator.gp.issuance import gp_applets
from jpkikit.reference.emulator.jpki import JPKI_AID
from jpkikit.reference.emulator.personality import AppletSpec, Personality, atr_with_tck, define
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.gp.seac import ARAM_AID

CARD_FACE_AIDS = [bytes.fromhex(h) for h in ("D3921000310001010408", "D3921000310001010402")]


# JPKI applet params of the phone token (jpki-ap.md §11.1): its label, and EF 000A readable only after the
# auth PIN. The PIN rules are the card's (jpkikit.reference.emulator.jpki.DEFAULT_PIN_RULES; §11.1 says [?]).
_GPSE_JPKI = {"token_label": "JPKIAPGPSETOKEN", "auth_cert_needs_pin": True}

# The ARA-M with the JPKI app rules (globalplatform.md C.2; system.md §2: the SEI-TSM registers them).
_ARAM = AppletSpec("aram", ARAM_AID, {"rules": jpki_rules(JPKI_AID)})


def _historical(text: str) -> tuple[int, ...]:
    return tuple(text.encode("ascii"))


MYNUMBER_CARD = define(
    Personality(
        name="mynumber-card",
        description="My Number card: JPKI-AP plus card-face APs, basic channel only",
        atr=bytes.fromhex("3BE000FF8131FE4514"),  # the contact ATR OpenSC matches (jpki-ap.md §2)
        logical_channels=1,
        extended_length=False,
        max_command_data=255,
        max_response_data=256,
        applets=(
            AppletSpec("jpki", JPKI_AID, {"token_label": "JPKIAPICCTOKEN2"}),
            *(AppletSpec("card-face", aid) for aid in CARD_FACE_AIDS),
        ),
    )
)

# PC/SC part 3 contactless ATR, 3B 8n 80 01 <historical> TCK, as a reader synthesises it for an
# ISO 14443-4 target such as a phone's SE in card emulation.
_GPSE_HIST = _historical("JPKIKIT-GPSE")
GP_SE = define(
    Personality(
        name="gp-se",
        description="Android GP-SE: JPKI applet only, logical channels and extended length",
        atr=atr_with_tck(0x3B, 0x80 | len(_GPSE_HIST), 0x80, 0x01, *_GPSE_HIST),
        logical_channels=4,
        extended_length=True,
        max_command_data=65535,
        max_response_data=65536,
        applets=(*gp_applets(JPKI_AID), AppletSpec("jpki-phone", JPKI_AID, dict(_GPSE_JPKI)), _ARAM),
        default_aid=ISD_AID,
    )
)

# UICC: T=0 and T=1, TA1=96, class A/B/C (TA3=C7 after T=15), as ETSI TS 102 221 §6.3 lays out.
_SIM_HIST = _historical("JPKIKIT-SIM")
SIM = define(
    Personality(
        name="sim",
        description="UICC with the JPKI applet in an SP area, reached over logical channels",
        atr=atr_with_tck(0x3B, 0x90 | len(_SIM_HIST), 0x96, 0x80, 0x1F, 0xC7, *_SIM_HIST),
        logical_channels=4,
        extended_length=False,
        max_command_data=255,
        max_response_data=256,
        applets=(*gp_applets(JPKI_AID), AppletSpec("jpki-phone", JPKI_AID, dict(_GPSE_JPKI)), _ARAM),
        default_aid=ISD_AID,
    )
)
