"""Verdict aggregation: per requirement (worst of its tests) and per profile (the certification verdict).

Requirement verdict — the worst verdict of the tests that name the requirement, in this order::

    kit error > fail > inconclusive > not exercised > pass > not applicable

so one failing test fails the requirement, a requirement with one passing test and one test that does not
apply to the profile passes, and a requirement one of whose tests this unit may not suffer is not
exercised: a run on another unit of the model must complete it (:func:`combine` merges such runs). A
requirement no test ran on gets ``untested`` (or ``waived`` when the catalogue gives it a waiver); a
requirement whose applicability (from the ICS) is false is ``not applicable`` whatever its tests did.

Certification verdict of a profile, first rule that holds:

1. ``KIT ERROR``    — an applicable requirement has a kit error: the campaign is invalid, re-run it;
2. ``FAIL``         — an applicable requirement failed (a waiver never turns a fail into a pass; the failure
                      is listed as a deviation, with the waiver text the lab may apply at acceptance);
3. ``INCONCLUSIVE`` — an applicable requirement is inconclusive (the device stopped answering ...);
4. ``INCOMPLETE``   — an applicable requirement has no passing test and no waiver (untested);
5. ``PASS``         — otherwise: every applicable requirement passed, or has no test but a written waiver,
                      or was not exercised on this unit; the verdict then names those requirements ("N
                      left for another unit"), and a campaign that adds a run on a unit that exercises
                      them (a sacrificial unit of the same model, a reader with the other card type)
                      completes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from jpkikit.harness.verdict import Verdict
from jpkikit.report.i18n import t

#: Worst first.
REQUIREMENT_ORDER: tuple[Verdict, ...] = (
    Verdict.KIT_ERROR,
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.NOT_EXERCISED,
    Verdict.PASS,
    Verdict.NOT_APPLICABLE,
)
UNTESTED = "untested"
WAIVED = "waived"


class Certification(StrEnum):
    KIT_ERROR = "KIT ERROR"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    INCOMPLETE = "INCOMPLETE"
    PASS = "PASS"


def worst(verdicts: Iterable[Verdict]) -> Verdict | None:
    """The worst verdict by :data:`REQUIREMENT_ORDER`; None for no verdicts."""
    seen = set(verdicts)
    return next((v for v in REQUIREMENT_ORDER if v in seen), None)


@dataclass(frozen=True)
class TestOutcome:
    """One test of a run as the results record it."""

    __test__ = False  # not a pytest test class

    nodeid: str
    verdict: Verdict
    requirements: tuple[str, ...]
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class RequirementVerdict:
    id: str
    title: str
    applicable: bool
    applicability: str  # the reason, from the catalogue and the ICS
    verdict: str  # a Verdict value, UNTESTED or WAIVED
    waiver: str | None
    tests: tuple[TestOutcome, ...] = field(default=())


def requirement_verdict(applicable: bool, waiver: str | None, tests: Iterable[TestOutcome]) -> str:
    """Aggregate the tests of one requirement (see the module docstring)."""
    if not applicable:
        return str(Verdict.NOT_APPLICABLE)
    found = worst(t.verdict for t in tests)
    if found is None or found is Verdict.NOT_APPLICABLE:
        # applicable by the profile, but no test of it ran (or every test was skipped as not applicable
        # through another of its requirements): nothing shows it is met
        return WAIVED if waiver else UNTESTED
    return str(found)


def aggregate(
    requirements: Iterable[tuple[str, str, bool, str, str | None]], outcomes: Iterable[TestOutcome]
) -> list[RequirementVerdict]:
    """``requirements``: (id, title, applicable, reason, waiver) in catalogue order."""
    by_requirement: dict[str, list[TestOutcome]] = {}
    for outcome in outcomes:
        for rid in outcome.requirements:
            by_requirement.setdefault(rid, []).append(outcome)
    out = []
    for rid, title, applicable, reason, waiver in requirements:
        tests = tuple(by_requirement.get(rid, ()))
        verdict = requirement_verdict(applicable, waiver, tests)
        out.append(RequirementVerdict(rid, title, applicable, reason, verdict, waiver, tests))
    return out


#: The certification verdicts that one verdict of an applicable requirement decides, worst first (a PASS is
#: what remains).
_DECIDING: tuple[tuple[str, Certification], ...] = (
    (str(Verdict.KIT_ERROR), Certification.KIT_ERROR),
    (str(Verdict.FAIL), Certification.FAIL),
    (str(Verdict.INCONCLUSIVE), Certification.INCONCLUSIVE),
    (UNTESTED, Certification.INCOMPLETE),
)


def certification(verdicts: Iterable[RequirementVerdict]) -> tuple[Certification, str]:
    """The certification verdict of a profile, and the rule that decided it (in English)."""
    ids = applicable_ids((rv.id, rv.verdict) for rv in verdicts if rv.applicable)
    result = next((cert for key, cert in _DECIDING if ids.get(key)), Certification.PASS)
    return result, rule_text(result, ids, "en")


def applicable_ids(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Requirement IDs by verdict, in order, from (ID, verdict) pairs of the applicable requirements."""
    ids: dict[str, list[str]] = {}
    for rid, verdict in pairs:
        ids.setdefault(verdict, []).append(rid)
    return ids


def rule_text(result: Certification, ids: dict[str, list[str]], lang: str) -> str:
    """The rule that gave ``result``, in ``lang``: the requirements that decided it, or for PASS the counts
    and the requirements left for another unit."""
    key = next((key for key, cert in _DECIDING if cert is result), None)
    if key is not None:
        return t(f"rule_{result}", lang, ids=", ".join(ids.get(key, [])))
    text = t("rule_PASS", lang, passed=len(ids.get(str(Verdict.PASS), [])), waived=len(ids.get(WAIVED, [])))
    left = ids.get(str(Verdict.NOT_EXERCISED), [])
    if left:
        text += t("rule_left", lang, n=len(left), ids=", ".join(left))
    return text


def combine(runs: Iterable[Iterable[TestOutcome]]) -> list[TestOutcome]:
    """The outcomes of a campaign: several runs on units of one model (a normal unit and a sacrificial one).

    Per test: what a run did not exercise (not exercised, not applicable) is taken from a run that did;
    of the runs that exercised it the worst verdict stands, so a failure on any unit fails the test. A test
    no run exercised stays not exercised (or not applicable).
    """
    by_test: dict[str, list[TestOutcome]] = {}
    for outcomes in runs:
        for outcome in outcomes:
            by_test.setdefault(outcome.nodeid, []).append(outcome)
    combined = []
    skipped = (Verdict.NOT_EXERCISED, Verdict.NOT_APPLICABLE)
    for nodeid, seen in by_test.items():
        exercised = [o for o in seen if o.verdict not in skipped]
        pool = exercised or [o for o in seen if o.verdict is Verdict.NOT_EXERCISED] or seen
        verdict = worst(o.verdict for o in pool)
        chosen = next(o for o in pool if o.verdict is verdict)
        combined.append(
            TestOutcome(nodeid, chosen.verdict, chosen.requirements, chosen.message, chosen.seconds)
        )
    return combined
