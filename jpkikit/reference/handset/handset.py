"""The reference handset: Android's SecureElement service over a simulated SE, as AOSP behaves at the Android
API
level it is built for (jpkikit.vocab.omapi.android; default the newest), with the test bed the handset agent
protocol offers (docs/handset-agent-protocol.md §3.6):

- the SE trace: every APDU that reached the SE (a denied app must cause no SELECT of its target);
- the SE's access rules replaced (the test bed's stand-in for the SE issuer's TSM registering rules, seed 004
  p.13), in the ARA-M or, on a UICC without ARA-M, in the ARF; their sources locked or unlocked;
- SE faults: an ARA-M without refresh tag, without rules, with rules that do not parse, whose [Next] fails;
- the SE reset (the HAL reports the SE gone and back);
- the NFC service's side of transaction events: apps register for an SE application's events, an event from
  the SE reaches only those the ACE allows (isNfcEventAllowed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jpkikit.errors import KitError
from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset.hal import SecureElementHal, SimulatedSe
from jpkikit.reference.handset.omapi import SEService
from jpkikit.reference.handset.se import AccessRules, make_se
from jpkikit.reference.handset.service import SecureElementService
from jpkikit.reference.handset.terminal import Terminal
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.arf import PKCS15_AID
from jpkikit.vocab.omapi.android import ESE_PREFIX, LATEST_API, UICC_PREFIX, Android

SE_FAULTS = ("no-refresh-tag", "no-rules", "malformed-rules", "next-error")
LOCKED = 0x83  # GP life cycle SELECTABLE + LOCKED (GPCS Table 11-5): SELECT answers 6A82


class FaultySe:
    """The test bed's SE faults, between the HAL and the SE: what an ARA-M that misbehaves answers."""

    def __init__(self, se: SimulatedSe) -> None:
        self.se = se
        self.fault: str | None = None

    @property
    def atr(self) -> bytes:
        return self.se.atr

    def reset(self) -> bytes:
        return self.se.reset()

    def process(self, command: bytes) -> bytes:
        if self.fault and len(command) >= 4 and command[0] & 0x80 and command[1] == 0xCA:
            p1p2 = command[2] << 8 | command[3]
            if self.fault == "no-refresh-tag" and p1p2 == seac.T_REFRESH:
                return b"\x6a\x88"
            if self.fault == "no-rules" and p1p2 == seac.T_ALL:
                return b"\x6a\x88"
            if self.fault == "malformed-rules" and p1p2 == seac.T_ALL:
                return bytes.fromhex("FF4006E204E100E3009000")
            if self.fault == "next-error" and p1p2 == seac.T_ALL:
                answer = self.se.process(command)
                head = answer[:-2]
                return head[: max(3, len(head) // 2)] + answer[-2:] if len(head) > 3 else answer
            if self.fault == "next-error" and p1p2 == 0xFF60:
                return b"\x69\x85"
        return self.se.process(command)


@dataclass
class NfcService:
    """The NFC service's part of transaction events (android.nfc.action.TRANSACTION_DETECTED)."""

    registrations: dict[str, tuple[AppIdentity, set[tuple[str, bytes]]]] = field(default_factory=dict)
    events: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def register(self, app: AppIdentity, reader: str, aid: bytes) -> None:
        key = app.package or app.name
        known = self.registrations.setdefault(key, (app, set()))
        known[1].add((reader, bytes(aid)))

    def take(self, app: AppIdentity) -> list[dict[str, str]]:
        return self.events.pop(app.package or app.name, [])


class ReferenceHandset:
    #: The classes the handset builds (the kit's faulty variants swap them in).
    terminal_class: type[Terminal] = Terminal
    hal_class: type[SecureElementHal] = SecureElementHal
    service_class: type[SecureElementService] = SecureElementService
    omapi_class: type[SEService] = SEService
    agent_class: type | None = None

    def __init__(
        self,
        se: SimulatedSe,
        *,
        uicc: bool = False,
        android: Android | None = None,
        card: object | None = None,
    ) -> None:
        self.android = android or Android()
        self.faults = FaultySe(se)
        self.hal = self.hal_class(self.faults)
        self.card = card  # the emulator behind the HAL, when there is one (the test bed's rule store)
        self.reader_name = f"{UICC_PREFIX if uicc else ESE_PREFIX}1"
        self.terminal = self.terminal_class(self.reader_name, self.hal, self.android)
        self.service = self.service_class([self.terminal])
        self.nfc = NfcService()
        self.apps: dict[str, SEService] = {}

    @classmethod
    def over_emulator(
        cls,
        personality: str = "gp-se",
        state: str | Path | None = None,
        *,
        android_api: int | None = None,
        access_rules: AccessRules = "aram",
    ) -> ReferenceHandset:
        android = Android(android_api or LATEST_API)
        card = make_se(personality, state, access_rules, sha256=android.sha256_hashes)
        uicc = personality.startswith("sim")
        return cls(card, uicc=uicc, android=android, card=card)

    # -- apps ----------------------------------------------------------------------------------------------

    def se_service(self, app: AppIdentity) -> SEService:
        """The SEService the app binds (one per app; a new one after shutdown)."""
        key = app.package or app.name
        service = self.apps.get(key)
        if service is None or not service.is_connected() or service.app != app:
            service = self.apps[key] = self.omapi_class(self.service, app, self.android)
        return service

    @property
    def reader(self) -> Terminal:
        return self.terminal

    # -- the test bed: the SE side ---------------------------------------------------------------------

    def se_trace(self) -> list[bytes]:
        return list(self.hal.log)

    def clear_se_trace(self) -> None:
        self.hal.log.clear()

    def _registry(self) -> dict[bytes, object]:
        registry = getattr(self.card, "registry", None)
        if registry is None:
            raise KitError("this handset's SE is not the kit's emulator: the test bed cannot change it")
        return registry

    def rule_store(self) -> str:
        """Where the SE's rules live: "aram" when it has a selectable ARA-M, else "arf", else "none"."""
        registry = self._registry()
        aram = registry.get(seac.ARAM_AID)
        if aram is not None and aram.selectable:  # type: ignore[attr-defined]
            return "aram"
        arf = registry.get(PKCS15_AID)
        return "arf" if arf is not None and arf.selectable else "none"  # type: ignore[attr-defined]

    def store_rules(self, rules: Sequence[seac.Rule]) -> str:
        """Replace the SE's access rules (a new refresh tag follows, SEAC v1.1 §4.1.4); returns the store."""
        registry = self._registry()
        store = self.rule_store()
        if store in ("aram", "arf"):
            aid = seac.ARAM_AID if store == "aram" else PKCS15_AID
            registry[aid].applet.replace_rules(list(rules))  # type: ignore[attr-defined]
        else:
            raise KitError("this handset's SE holds no access rules (no ARA-M, no ARF)")
        self.card.save()  # type: ignore[attr-defined]
        return store

    def set_rule_sources(self, selectable: bool) -> None:
        """Lock (or unlock) the ARA-M and the ARF of the SE, as its issuer can (GP SET STATUS): locked, their
        SELECT answers 6A82."""
        registry = self._registry()
        for aid in (seac.ARAM_AID, PKCS15_AID):
            entry = registry.get(aid)
            if entry is not None:
                entry.life_cycle = 0x07 if selectable else LOCKED  # type: ignore[attr-defined]
        self.card.save()  # type: ignore[attr-defined]

    def set_se_fault(self, fault: str | None) -> None:
        if fault is not None and fault not in SE_FAULTS:
            raise KitError(f"unknown SE fault {fault!r}; known: {', '.join(SE_FAULTS)}")
        self.faults.fault = fault

    def reset_se(self) -> None:
        """The SE power-cycled under the service (HAL onStateChange false, then true)."""
        self.hal.reset()

    # -- the test bed: NFC -------------------------------------------------------------------------------

    def nfc_transaction(self, reader: str, aid: bytes, data: bytes = b"") -> list[str]:
        """An EVT_TRANSACTION of ``aid`` from the SE (a reader in the field talked to it): the NFC service
        asks
        the SE service which registered apps may have it and delivers it to them. Returns their names."""
        registered = [
            app for app, wanted in self.nfc.registrations.values() if (reader, bytes(aid)) in wanted
        ]
        if not registered:
            return []
        allowed = self.service.is_nfc_event_allowed(reader, aid, list(registered)) or [False] * len(
            registered
        )
        delivered = []
        for app, ok in zip(registered, allowed, strict=True):
            if ok:
                event = {"reader": reader, "aid": aid.hex().upper(), "data": data.hex().upper()}
                self.nfc.events.setdefault(app.package or app.name, []).append(event)
                delivered.append(app.name)
        return delivered

    def close(self) -> None:
        for service in self.apps.values():
            service.shutdown()
