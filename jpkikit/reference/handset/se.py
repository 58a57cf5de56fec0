"""The Secure Elements of the reference handset: the kit's emulator personalities with what a handset test bed
adds (docs/handset-agent-protocol.md, "The reference handset"):

- the OMAPI test applets (jpkikit.reference.emulator.omapi_test_applets): the CTS applet and the kit's own;
- access rules for the JPKI applet (seed 004 p.13: the JPKI app in full, a reader app read-only) and for the
  test applets (every app), held by the ARA-M (on the UICC alongside its PKCS#15 ARF, as the SIM personality
  has both), by the ARF alone (a UICC without ARA-M, seed 000 p.60), or by neither;
- on the GP-SE, eight logical channels, so that channels 4-7 use the further interindustry CLA coding.

The personality keeps its name, so a state file of the emulator still fits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from jpkikit.reference.emulator.aram import jpki_rules
from jpkikit.reference.emulator.omapi_test_applets import APPLET_CLASSES, specs
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.personality import AppletSpec, Personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.jpki.card import JPKI_AID
from jpkikit.vocab.omapi import test_applets

AccessRules = Literal["aram", "arf", "none"]
ACCESS_RULES: tuple[AccessRules, ...] = ("aram", "arf", "none")
#: Logical channels of the handset's SE, the basic one included.
CHANNELS = {"gp-se": 8, "sim": 4, "sim-auth": 4}


def handset_rules(jpki_aid: bytes = JPKI_AID, sha256: bool = True) -> list[dict[str, Any]]:
    """The rules of the reference handset's SE (JSON form of jpkikit.vocab.gp.seac): the JPKI applet's, then
    every test applet and the default application (the basic channel without AID, as CTS OmapiTest opens it)
    open to every app. Without ``sha256`` (an SE issued for Android 9, which cannot parse a 32-byte
    Hash-REF-DO)
    only the SHA-1 rules."""
    aids = [test_applets.CTS_SELECTABLE, test_applets.CTS_LONG_SELECT, test_applets.CTS_NON_SELECTABLE,
            test_applets.KIT_SINGLE,
            test_applets.KIT_ECHO_CLA, *test_applets.KIT_SELECT_SW.values()]  # fmt: skip
    generic = [{"aid": a.hex().upper(), "hash": "", "apdu": "always"} for a in aids]
    jpki = [r for r in jpki_rules(jpki_aid) if sha256 or len(str(r["hash"])) != 64]
    return [*jpki, *generic, {"aid": "default", "hash": "", "apdu": "always"}]


def personality(
    name: str, access_rules: AccessRules = "aram", channels: int | None = None, sha256: bool = True
) -> Personality:
    base = get_personality(name)
    rules = handset_rules(sha256=sha256)
    applets = []
    for spec in base.applets:
        if spec.type_name == "aram":
            if access_rules == "aram":
                applets.append(AppletSpec("aram", spec.aid, {**spec.params, "rules": rules}))
        elif spec.type_name == "pkcs15-arf":
            if access_rules != "none":
                applets.append(AppletSpec(spec.type_name, spec.aid, {**spec.params, "rules": rules}))
        else:
            applets.append(spec)
    applets += [AppletSpec(kind, aid, params) for kind, aid, params in specs()]
    types = dict(base.applet_types)
    types.update({cls.type_name: cls for cls in APPLET_CLASSES})
    return dataclasses.replace(
        base,
        description=f"{base.description}; handset test bed (access rules: {access_rules})",
        logical_channels=channels or CHANNELS.get(name, base.logical_channels),
        applets=tuple(applets),
        applet_types=MappingProxyType(types),
    )


def make_se(
    name: str = "gp-se",
    state: str | Path | None = None,
    access_rules: AccessRules = "aram",
    channels: int | None = None,
    sha256: bool = True,
) -> Card:
    chosen = personality(name, access_rules, channels, sha256)
    card_class = getattr(chosen, "card_class", None) or Card
    card: Card = card_class(chosen, Path(state) if state else None)
    return card
