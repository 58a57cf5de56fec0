"""The safety kernel: what each conformance test costs the unit under test, what the unit may suffer, and
whether the test runs.

Every conformance test that changes the unit declares it with ``@pytest.mark.effects("pin-tries", ...)``;
a test without the marker only reads. The profile says what the unit may suffer (``ixit.unit``): a unit
that is not sacrificial allows the reversible effects, which the tests undo themselves; a sacrificial unit
(``sacrificial: true``) allows everything, or the effects its ``allows`` list names. Where the kit can
renew the implementation (its own emulator, in-process or launched with ``--testbed``), a test whose marker
says ``renewable=True`` does its damage on a new card and the unit is never touched.

A test the unit may not suffer is skipped before it touches anything, with the reason; its verdict is
*not exercised* (jpkikit.harness.verdict), never inconclusive. ``jpkikit certify --plan`` lists every test
with its cost and whether it will run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Effect(StrEnum):
    """What a test does to the unit. The first group is undone by the test itself."""

    PIN_TRIES = "pin-tries"  # wrong VERIFYs, then a right one restores the counter (ISO/IEC 7816-4)
    PIN_CHANGE = "pin-change"  # CHANGE REFERENCE DATA to another value and back
    APPLET_LOCK = "applet-lock"  # an application LOCKED and unlocked again (GPCS §5.3, SET STATUS)
    CONTENT = "content"  # the kit's test package loaded, installed and deleted again (GPCS §9)
    ACCESS_RULES = "access-rules"  # ARA-M rules changed and put back (SEAC v1.1 §5.1)
    # -- cannot be undone over the card interface, or destroy what the unit holds
    PIN_BLOCK = "pin-block"  # a PIN blocked: only the issuer's unblock opens it again
    CARD_LOCK = "card-lock"  # the card CARD_LOCKED (unlocking needs the ISD's card lock privilege)
    TERMINATE = "terminate"  # the card or an application TERMINATED: final (GPCS §5.1)
    IDENTITY_WRITE = "identity-write"  # IIN, CIN or card data written (GPCS §11.11)
    KEY_SETS = "key-sets"  # SCP03 key sets replaced (PUT KEY, GPCS §11.8)
    SCP_COUNTER = "scp-counter"  # a key set's sequence counter run to exhaustion (Amd D §6.2.2.1)
    CREDENTIALS = "credentials"  # key pairs generated on chip, certificates written or deleted (seed 004)


#: The effects that spend PIN tries: none runs unless the pre-flight checked the profile's PINs.
PIN_EFFECTS = frozenset({Effect.PIN_TRIES, Effect.PIN_CHANGE, Effect.PIN_BLOCK})
REVERSIBLE = frozenset(
    {Effect.PIN_TRIES, Effect.PIN_CHANGE, Effect.APPLET_LOCK, Effect.CONTENT, Effect.ACCESS_RULES}
)
#: Irreversible effects in the order a sacrificial unit suffers them: what leaves the unit usable for the
#: tests after it first, terminating it last.
ORDER = (
    Effect.IDENTITY_WRITE,
    Effect.KEY_SETS,
    Effect.SCP_COUNTER,
    Effect.CREDENTIALS,
    Effect.CARD_LOCK,
    Effect.PIN_BLOCK,
    Effect.TERMINATE,
)
DESCRIPTION = {
    Effect.PIN_TRIES: "spends PIN tries (restored by a right VERIFY)",
    Effect.PIN_CHANGE: "changes a PIN and changes it back",
    Effect.APPLET_LOCK: "locks an application and unlocks it",
    Effect.CONTENT: "loads, installs and deletes the kit's test package",
    Effect.ACCESS_RULES: "changes the ARA-M rules and puts them back",
    Effect.PIN_BLOCK: "blocks a PIN",
    Effect.CARD_LOCK: "locks the card",
    Effect.TERMINATE: "terminates the card or an application",
    Effect.IDENTITY_WRITE: "writes the IIN, CIN or card data",
    Effect.KEY_SETS: "replaces SCP03 key sets",
    Effect.SCP_COUNTER: "exhausts an SCP03 key set's sequence counter",
    Effect.CREDENTIALS: "generates key pairs and writes or deletes certificates",
}


@dataclass(frozen=True)
class Cost:
    """A test's declared effects, and whether it does them on a new card where the kit can renew one."""

    effects: frozenset[Effect] = frozenset()
    renewable: bool = False

    @property
    def irreversible(self) -> frozenset[Effect]:
        return self.effects - REVERSIBLE

    def describe(self) -> str:
        if not self.effects:
            return "reads only"
        words = "; ".join(DESCRIPTION[e] for e in sorted(self.effects, key=_rank))
        return words + (" (on a new card where the kit can renew one)" if self.renewable else "")

    def rank(self) -> int:
        """Position in a run: reading and reversible tests first, then the irreversible ones by ORDER."""
        return max((_rank(e) for e in self.irreversible), default=-1)


def _rank(effect: Effect) -> int:
    return ORDER.index(effect) if effect in ORDER else -1


def cost_of(args: tuple[object, ...], renewable: bool = False) -> Cost:
    """The Cost of an ``effects`` marker's arguments; ValueError names an unknown effect."""
    effects = set()
    for name in args:
        try:
            effects.add(Effect(str(name)))
        except ValueError:
            known = ", ".join(e.value for e in Effect)
            raise ValueError(f"unknown effect {name!r}; the effects are: {known}") from None
    return Cost(frozenset(effects), renewable)


#: The wording of a refusal (Policy.decide), which the reports recognise (jpkikit.harness.kit_phrases):
#: "<what>: this unit does not allow it; <hint>", the hint either a sacrificial unit or "add <effects> to
#: ixit.unit.allows".
REFUSED = ": this unit does not allow it; "
SACRIFICIAL_HINT = "run it on a sacrificial unit of the same model (ixit.unit.sacrificial: true)"
ALLOW_HINT = ("add ", " to ixit.unit.allows")


@dataclass(frozen=True)
class Policy:
    """What the unit under test may suffer: from ``ixit.unit``, and whether the kit can renew it."""

    allowed: frozenset[Effect]
    renewable: bool  # the kit launched the implementation and can give a test a new card
    sacrificial: bool

    def decide(self, cost: Cost) -> str | None:
        """None when the test may run; otherwise why not and what would exercise it."""
        if cost.renewable and self.renewable:
            return None
        refused = sorted(cost.effects - self.allowed, key=_rank)
        if not refused:
            return None
        what = "; ".join(DESCRIPTION[e] for e in refused)
        if self.sacrificial:
            add, to_allows = ALLOW_HINT
            hint = f"{add}{', '.join(e.value for e in refused)}{to_allows}"
        else:
            hint = SACRIFICIAL_HINT
        return f"{what}{REFUSED}{hint}"


def policy(unit: object | None, renewable: bool) -> Policy:
    """The Policy of a profile's ``ixit.unit`` section (None: an ordinary unit, reversible effects only)."""
    sacrificial = bool(getattr(unit, "sacrificial", False))
    allows = getattr(unit, "allows", None)
    if allows:
        allowed = frozenset(Effect(a) for a in allows)
    elif sacrificial:
        allowed = frozenset(Effect)
    else:
        allowed = REVERSIBLE
    return Policy(allowed, renewable, sacrificial)
