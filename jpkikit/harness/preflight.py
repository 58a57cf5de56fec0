"""Pre-flight: before a run spends anything on a unit, make sure it is the declared unit, that its PIN
counters are full, and that the profile's PINs are right.

1. **Identity interlock.** The profile may declare the unit (``ixit.unit.identity``: ATR, CPLC IC serial
   number, ICCID); any declared item that differs stops the run before a test touches the unit.
2. **Counters.** Each PIN's retry counter is read with the retry query (VERIFY with no data, case 1, which
   spends nothing: OpenSC card-jpki.c relies on it). A counter below the claimed tries stops the run,
   unless the operator accepts it (``ixit.unit.accept_spent_tries`` or ``certify --accept-spent-tries``):
   a later test would otherwise block that PIN sooner than it counts on.
3. **PINs.** Each profile PIN is verified once. A wrong one stops the run at once, with the try it spent
   and the tries left, before a test spends more of them.

The outcome is a :class:`Preflight` the plugin prints, records in the unit's ledger and, when it stops
the run, turns into a clear exit (status 2): the fault is the profile's or the unit's, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jpkikit.errors import KitError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW, retries_left
from jpkikit.vocab.jpki.card import PAIRS, KeyPair

JPKI_CLASSES = ("gp-se", "sim")


def claimed_pairs(profile: Profile) -> tuple[KeyPair, ...]:
    """The key pairs the applet holds: both, or user authentication alone (ics.jpki.sign_function false)."""
    return tuple(p for p in PAIRS if p.name != "sign" or profile.ics.jpki.sign_function)


@dataclass
class Preflight:
    identity: dict[str, str] = field(default_factory=dict)  # what was read of the unit's identity
    counters: dict[str, int] = field(default_factory=dict)  # PIN name -> tries left at the start
    lines: list[str] = field(default_factory=list)  # what the operator is told
    stop: str | None = None  # why the run must not start
    incomplete: str | None = None  # why the PINs could not be checked (the unit answered garbage, or not)

    def refuse(self, why: str) -> Preflight:
        self.stop = why
        self.lines.append(f"STOP: {why}")
        return self


def _cplc_serial(session: CardSession, profile: Profile) -> str | None:
    """The IC serial number of the CPLC data (GET DATA 9F7F; OP 2.0.1 §6.12.1: bytes 13-16 of the value)."""
    if profile.ixit.gp is not None:
        session.select(profile.ixit.gp.isd, p2=0x00)
    r = session.send(0x80, 0xCA, 0x9F, 0x7F, ne=256)
    if not r.ok or len(r.data) < 3 + 17:
        return None
    value = r.data[3:]  # 9F 7F 2A <value>
    return value[13:17].hex().upper()


def _iccid(session: CardSession) -> str | None:
    """EF ICCID (2FE2) under the MF of a UICC (ETSI TS 102 221 §13.2), as the hex of its BCD bytes."""
    if not session.send(0x00, 0xA4, 0x00, 0x04, b"\x2f\xe2", ne=256).ok:
        return None
    r = session.read_binary(0, 10)
    return r.data.hex().upper() if r.ok else None


def identity_of(session: CardSession, profile: Profile) -> dict[str, str]:
    """What the kit reads of the unit's identity (only the items the profile declares, plus the ATR)."""
    declared = _declared(profile)
    found = {"atr": session.reset().hex().upper()}
    if "cplc_ic_serial" in declared and (serial := _cplc_serial(session, profile)) is not None:
        found["cplc_ic_serial"] = serial
    if "iccid" in declared and (iccid := _iccid(session)) is not None:
        found["iccid"] = iccid
    session.reset()
    return found


def _declared(profile: Profile) -> dict[str, str]:
    unit = profile.ixit.unit
    identity = unit.identity if unit is not None else None
    if identity is None:
        return {}
    return {k: v.hex().upper() for k, v in vars(identity).items() if v is not None}


def run(session: CardSession, profile: Profile, accept_spent_tries: bool = False) -> Preflight:
    result = Preflight()
    try:
        result.identity = identity_of(session, profile)
    except KitError as exc:
        if _declared(profile):
            return result.refuse(f"cannot read the unit's identity, which the profile declares: {exc}")
        result.identity = {"atr": "unreadable"}
    for item, expected in _declared(profile).items():
        got = result.identity.get(item)
        if got != expected:
            shown = got if got is not None else "nothing (the unit does not answer it)"
            return result.refuse(
                f"this is not the declared unit: ixit.unit.identity.{item} is {expected}, "
                f"the unit gives {shown}"
            )
    if profile.identity()["class"] not in JPKI_CLASSES:
        return result
    accept = accept_spent_tries or bool(profile.ixit.unit and profile.ixit.unit.accept_spent_tries)
    jpki = JpkiClient(session, profile.ixit.aids.jpki)
    try:
        selected = jpki.select_ap()
        if not selected.ok:  # the unit's fault (the tests will fail on it), not a reason to stop
            result.incomplete = f"SELECT of the JPKI application (ixit.aids.jpki) answered {selected.sw:04X}"
            result.lines.append(f"pre-flight incomplete: {result.incomplete}; no PIN try will be spent")
            return result
        for pair in claimed_pairs(profile):
            claimed = getattr(profile.ics.jpki, f"{pair.name}_pin").tries
            r = jpki.retry_query(pair.pin_ef)
            left = retries_left(r.sw)
            if left is None:
                return result.refuse(f"the {pair.name} PIN's retry query answered {r.sw:04X}, not 63Cx")
            result.counters[pair.name] = left
            result.lines.append(f"{pair.name} PIN: {left} of {claimed} tries left")
            if left == 0:
                return result.refuse(
                    f"the {pair.name} PIN is blocked; this unit cannot be certified as it is"
                )
            if left < claimed and not accept:
                return result.refuse(
                    f"the {pair.name} PIN has {left} of {claimed} tries left: an earlier session spent some. "
                    "Refusing to start; restore it with a right VERIFY, or accept it (--accept-spent-tries)"
                )
        for pair in claimed_pairs(profile):
            r = jpki.verify(pair.pin_ef, profile.secret(f"{pair.name}_pin"))
            if r.sw == SW.OK:
                result.counters[pair.name] = getattr(profile.ics.jpki, f"{pair.name}_pin").tries
                continue
            left = retries_left(r.sw)
            spent = f"1 try spent, {left} left" if left is not None else f"VERIFY answered {r.sw:04X}"
            return result.refuse(
                f"the profile's {pair.name} PIN (ixit.secrets.{pair.name}_pin) is wrong: {spent}. "
                "Nothing else was sent; correct the profile before any run"
            )
        result.lines.append("the profile PINs verified (each counter back at its maximum)")
        jpki.select_ap()  # nothing stays verified
    except KitError as exc:
        # Not the profile's fault: the run goes on (its tests will say what the unit does), but no test
        # that spends PIN tries runs on PINs the kit could not check.
        result.incomplete = f"the unit did not answer the pre-flight as a JPKI application would: {exc}"
        result.lines.append(f"pre-flight incomplete: {result.incomplete}")
    return result
