"""The bundled personalities: the My Number card, the Android GP-SE and a SIM (docs/spec/jpki-applet.md,
"Transport and ATR", "The phone token"), and the applet types they know, both listed here explicitly."""

from __future__ import annotations

from types import MappingProxyType

from jpkikit.errors import KitError
from jpkikit.reference.emulator.applet import Applet
from jpkikit.reference.emulator.aram import AraM, jpki_rules
from jpkikit.reference.emulator.gp.issuance import gp_applets
from jpkikit.reference.emulator.gp.security_domain import IssuerSecurityDomain, SecurityDomain
from jpkikit.reference.emulator.gp.test_applet import GpTestApplet
from jpkikit.reference.emulator.jpki import CardFaceApplet, JpkiApplet
from jpkikit.reference.emulator.jpki_phone import JpkiPhoneApplet
from jpkikit.reference.emulator.personality import AppletSpec, Personality, atr_with_tck
from jpkikit.vocab.gp.constants import ISD_AID
from jpkikit.vocab.gp.seac import ARAM_AID
from jpkikit.vocab.jpki.card import JPKI_AID

#: Every applet class the emulator knows, by the type name its state file and GP INSTALL use.
APPLET_TYPES: MappingProxyType[str, type[Applet]] = MappingProxyType(
    {
        cls.type_name: cls
        for cls in (
            JpkiApplet,
            CardFaceApplet,
            JpkiPhoneApplet,
            AraM,
            SecurityDomain,
            IssuerSecurityDomain,
            GpTestApplet,
        )
    }
)

CARD_FACE_AIDS = [bytes.fromhex(h) for h in ("D3921000310001010408", "D3921000310001010402")]


# JPKI applet params of the phone token (docs/spec/jpki-applet.md#the-phone-token-gp-se): its label, and EF
# 000A readable only after the auth PIN. The PIN rules are the card's (jpkikit.reference.emulator.jpki.
# DEFAULT_PIN_RULES; that the phone uses them is inferred, docs/spec/jpki-applet.md#pin-rules).
_GPSE_JPKI = {"token_label": "JPKIAPGPSETOKEN", "auth_cert_needs_pin": True}

# The ARA-M with the JPKI app rules (SEAC; seed 004 p.13: the SEI-TSM registers them).
_ARAM = AppletSpec("aram", ARAM_AID, {"rules": jpki_rules(JPKI_AID)})


def _historical(text: str) -> tuple[int, ...]:
    return tuple(text.encode("ascii"))


MYNUMBER_CARD = Personality(
    name="mynumber-card",
    description="My Number card: JPKI-AP plus card-face APs, basic channel only",
    atr=bytes.fromhex("3BE000FF8131FE4514"),  # the contact ATR OpenSC matches (OpenSC card-jpki.c)
    logical_channels=1,
    extended_length=False,
    max_command_data=255,
    max_response_data=256,
    applets=(
        AppletSpec("jpki", JPKI_AID, {"token_label": "JPKIAPICCTOKEN2"}),
        *(AppletSpec("card-face", aid) for aid in CARD_FACE_AIDS),
    ),
    applet_types=APPLET_TYPES,
)

# PC/SC part 3 contactless ATR, 3B 8n 80 01 <historical> TCK, as a reader synthesises it for an
# ISO 14443-4 target such as a phone's SE in card emulation.
_GPSE_HIST = _historical("JPKIKIT-GPSE")
GP_SE = Personality(
    name="gp-se",
    description="Android GP-SE: JPKI applet only, logical channels and extended length",
    atr=atr_with_tck(0x3B, 0x80 | len(_GPSE_HIST), 0x80, 0x01, *_GPSE_HIST),
    logical_channels=4,
    extended_length=True,
    max_command_data=65535,
    max_response_data=65536,
    applets=(*gp_applets(JPKI_AID), AppletSpec("jpki-phone", JPKI_AID, dict(_GPSE_JPKI)), _ARAM),
    default_aid=ISD_AID,
    applet_types=APPLET_TYPES,
)

# UICC: T=0 and T=1, TA1=96, class A/B/C (TA3=C7 after T=15), as ETSI TS 102 221 §6.3 lays out.
_SIM_HIST = _historical("JPKIKIT-SIM")
SIM = Personality(
    name="sim",
    description="UICC with the JPKI applet in an SP area, reached over logical channels",
    atr=atr_with_tck(0x3B, 0x90 | len(_SIM_HIST), 0x96, 0x80, 0x1F, 0xC7, *_SIM_HIST),
    logical_channels=4,
    extended_length=False,
    max_command_data=255,
    max_response_data=256,
    applets=(*gp_applets(JPKI_AID), AppletSpec("jpki-phone", JPKI_AID, dict(_GPSE_JPKI)), _ARAM),
    default_aid=ISD_AID,
    applet_types=APPLET_TYPES,
)

#: The bundled personalities, by the name profiles and ``jpkikit emulate --personality`` use.
PERSONALITIES: MappingProxyType[str, Personality] = MappingProxyType(
    {p.name: p for p in (MYNUMBER_CARD, GP_SE, SIM)}
)


def get_personality(name: str) -> Personality:
    try:
        return PERSONALITIES[name]
    except KeyError:
        known = ", ".join(sorted(PERSONALITIES))
        raise KitError(f"unknown personality {name!r}; choose one of: {known}") from None
