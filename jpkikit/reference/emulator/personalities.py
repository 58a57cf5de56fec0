"""The bundled personalities: the My Number card, the Android GP-SE and the SIM design's UICC
(docs/spec/jpki-applet.md, "Transport and ATR", "The phone token"; docs/spec/uicc.md), and the applet types
they know, both listed here explicitly."""

from __future__ import annotations

from types import MappingProxyType

from jpkikit.errors import KitError
from jpkikit.reference.emulator.applet import Applet
from jpkikit.reference.emulator.aram import AraM, jpki_rules
from jpkikit.reference.emulator.arf import Pkcs15Arf
from jpkikit.reference.emulator.gp.issuance import gp_applets
from jpkikit.reference.emulator.gp.security_domain import IssuerSecurityDomain, SecurityDomain
from jpkikit.reference.emulator.gp.test_applet import GpTestApplet
from jpkikit.reference.emulator.jpki import CardFaceApplet, JpkiApplet
from jpkikit.reference.emulator.jpki_phone import JpkiPhoneApplet
from jpkikit.reference.emulator.jpki_uicc import JpkiUiccApplet
from jpkikit.reference.emulator.personality import AppletSpec, Personality, atr_with_tck
from jpkikit.reference.emulator.uicc import UiccCard, UiccPersonality
from jpkikit.vocab.etsi.uicc import DirRecord
from jpkikit.vocab.gp.arf import PKCS15_AID
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
            JpkiUiccApplet,
            AraM,
            Pkcs15Arf,
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

# The SIM design's UICC (seeds 000, 001, 003; docs/spec/uicc.md): the MNO's ISD, the SP's security domain
# (the SP area, with its own SCP03 keys; seed 001 §5(1)) holding the JPKI applet, an ARA-M and the PKCS#15
# access rule files side by side (seed 000 §4(3) 課題⑥), and the MF with EF DIR and EF ICCID.
# ATR: T=0 and T=1, TA1=96, class A/B/C (TA3=C7 after T=15), as ETSI TS 102 221 §6.3 lays out.
_SIM_HIST = _historical("JPKIKIT-SIM")


def arf_rules(jpki_aid: bytes) -> list[dict[str, object]]:
    """The access rule files' rules for the JPKI applet: the ARA-M's rules with SHA-1 hashes (the ARF's hash,
    AOSP ArfController), the JPKI app with APDU and NFC access, the reader app limited by APDU filters."""
    return [r for r in jpki_rules(jpki_aid) if len(str(r["hash"])) == 40]


def sim_personality(name: str = "sim", functions: tuple[str, ...] = ("auth", "sign")) -> UiccPersonality:
    jpki = {**_GPSE_JPKI, "functions": list(functions), "key_delivery": True}
    return UiccPersonality(
        name=name,
        description="UICC (TS 102 221) with the JPKI applet in the SP's security domain, ARA-M and ARF",
        atr=atr_with_tck(0x3B, 0x90 | len(_SIM_HIST), 0x96, 0x80, 0x1F, 0xC7, *_SIM_HIST),
        logical_channels=4,
        extended_length=False,
        max_command_data=255,
        max_response_data=256,
        applets=(
            *gp_applets(JPKI_AID),
            AppletSpec("jpki-uicc", JPKI_AID, jpki),
            _ARAM,
            AppletSpec(
                "pkcs15-arf", PKCS15_AID, {"rules": arf_rules(JPKI_AID), "refresh": "4A504B494B495430"}
            ),
        ),
        default_aid=ISD_AID,
        applet_types=APPLET_TYPES,
        card_class=UiccCard,
        iccid="898100000000000001",
        directory=(DirRecord(JPKI_AID, "JPKI"), DirRecord(PKCS15_AID, "PKCS15")),
    )


SIM = sim_personality()
#: The SIM design's applet with the user-authentication function only (seed 003: 利用者証明機能).
SIM_AUTH = sim_personality("sim-auth", ("auth",))

#: The bundled personalities, by the name profiles and ``jpkikit emulate --personality`` use.
PERSONALITIES: MappingProxyType[str, Personality] = MappingProxyType(
    {p.name: p for p in (MYNUMBER_CARD, GP_SE, SIM, SIM_AUTH)}
)


def get_personality(name: str) -> Personality:
    try:
        return PERSONALITIES[name]
    except KeyError:
        known = ", ".join(sorted(PERSONALITIES))
        raise KitError(f"unknown personality {name!r}; choose one of: {known}") from None
