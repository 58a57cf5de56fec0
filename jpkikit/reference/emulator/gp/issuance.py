"""The GlobalPlatform content of a GP-SE or SIM at issuance: the ISD (default selected), the JPKI APSD with
its own SCP03 key set, and the GP registry data of the JPKI applet. Personalities add these AppletSpecs.

The SCP03 test keys are public test values (40..4F, the usual default of GlobalPlatformPro, GPShell and
yubikey-manager); a profile references them as ``test:`` secrets. KVN 3F starts one step before its sequence
counter runs out, so the exhaustion rule (Amd D §6.2.2.1) can be tested without 2^24 INITIALIZE UPDATEs.
"""

from __future__ import annotations

from typing import Any

from jpkikit.reference.emulator.gp.content import issuance_registry
from jpkikit.reference.emulator.gp.packages import JPKI_PACKAGE, SD_PACKAGE
from jpkikit.reference.emulator.personality import AppletSpec
from jpkikit.vocab.gp.constants import ISD_AID, PRIV_SECURITY_DOMAIN

APSD_AID = bytes.fromhex("A00000015153504A504B4901")  # the JPKI APSD (an SD instance of SD_PACKAGE)
ISD_KEYS = {
    0x30: bytes(range(0x40, 0x50)),  # AES-128
    0x31: bytes(range(0x40, 0x58)),  # AES-192
    0x32: bytes(range(0x40, 0x60)),  # AES-256
    0x3F: bytes(range(0x40, 0x50)),  # AES-128, sequence counter at FFFFFE
}
APSD_KEYS = {0x30: bytes(range(0x60, 0x70))}
EXHAUSTION_KVN = 0x3F


def _keysets(keys: dict[int, bytes]) -> list[dict[str, Any]]:
    return [
        {"kvn": f"{kvn:02X}", "enc": k.hex(), "counter": 0xFFFFFE if kvn == EXHAUSTION_KVN else 0}
        for kvn, k in keys.items()
    ]


def _elf(package: Any) -> dict[str, Any]:
    modules = {m.hex().upper(): t for m, t in package.modules.items()}
    return {"modules": modules, "version": package.version.hex(), "sd": ISD_AID.hex().upper()}


def gp_applets(jpki_aid: bytes) -> tuple[AppletSpec, ...]:
    apps = issuance_registry(
        {APSD_AID: (PRIV_SECURITY_DOMAIN, SD_PACKAGE.aid, ISD_AID), jpki_aid: (0, JPKI_PACKAGE.aid, APSD_AID)}
    )
    isd = {
        "keysets": _keysets(ISD_KEYS),
        "i": "70",
        "modes": ["S8", "S16"],
        "apps": apps,
        "elfs": {p.aid.hex().upper(): _elf(p) for p in (JPKI_PACKAGE, SD_PACKAGE)},
    }
    apsd = {"keysets": _keysets(APSD_KEYS), "i": "70", "modes": ["S8", "S16"], "div": "4A504B49415053440001"}
    return (AppletSpec("gp-isd", ISD_AID, isd), AppletSpec("gp-sd", APSD_AID, apsd))
