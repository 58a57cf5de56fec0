"""Verdicts as conformance testing names them (ISO/IEC 9646-1 §3.6 pass, fail, inconclusive), plus the
two outcomes a certification needs besides them: not applicable (the ICS says the requirement does not
concern this implementation) and not exercised (the test would cost this unit something the profile does
not allow: see jpkikit.harness.safety), and kit error (the kit itself broke).

How one test phase's outcome becomes a verdict (docs/certification.md has examples of each):

* passed -> **pass**.
* skipped with ``not applicable: <reason>`` -> **not applicable**; with ``not exercised: <reason>`` ->
  **not exercised**; any other skip (a precondition the test could not establish) -> **inconclusive**.
* ended by an exception, in set-up, the test body or tear-down alike:

  - a failed assertion, ``pytest.fail``, a ``pytest.raises`` that did not raise, or a
    :class:`~jpkikit.errors.NonConformance` (a cryptogram or R-MAC that does not verify, an answer that
    does not parse, a signature that does not verify, an OMAPI exception the requirement forbids) ->
    **fail**: the implementation contradicts the requirement, whatever the mechanism;
  - a :class:`~jpkikit.errors.TransportError` (no answer in time, the card or reader gone) or an
    :class:`~jpkikit.errors.Inconclusive` (a precondition outside the requirement, such as a profile that
    lacks what the test needs) -> **inconclusive**, with the exception's message as the reason; so is a
    test the ``card`` fixture could not give the unit to because the unit stopped answering earlier and
    did not answer the bounded reconnects (``UnitUnreachable``, a TransportError: "unit unreachable since
    <node id>: ...", jpkikit.harness.reachability);
  - anything else -> **kit error**: a defect of the kit, never blamed on the implementation.
"""

from __future__ import annotations

from enum import StrEnum

import pytest

from jpkikit.errors import Inconclusive, NonConformance, TransportError

NOT_APPLICABLE_PREFIX = "not applicable: "
NOT_EXERCISED_PREFIX = "not exercised: "


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"
    NOT_EXERCISED = "not exercised"
    KIT_ERROR = "kit error"


#: Exceptions that mean "the implementation contradicts the requirement".
FAILING = (AssertionError, pytest.fail.Exception, NonConformance)
#: Exceptions that mean "the test could not decide". Checked first: a broken link is never a fail.
UNDECIDED = (TransportError, Inconclusive)


def verdict_of(outcome: str, when: str, exc: BaseException | None, skip_reason: str = "") -> Verdict:
    """Verdict of one test phase (``when``: setup, call, teardown). ``exc`` is the exception that ended it."""
    del when  # the same rules hold in every phase: a device fault found in set-up is still a fault
    if outcome == "skipped":
        if skip_reason.startswith(NOT_APPLICABLE_PREFIX):
            return Verdict.NOT_APPLICABLE
        if skip_reason.startswith(NOT_EXERCISED_PREFIX):
            return Verdict.NOT_EXERCISED
        return Verdict.INCONCLUSIVE
    if outcome == "passed":
        return Verdict.PASS
    if isinstance(exc, UNDECIDED):
        return Verdict.INCONCLUSIVE
    if isinstance(exc, FAILING):
        return Verdict.FAIL
    return Verdict.KIT_ERROR


#: Worst first is last: the verdict of several phases (or several tests of one requirement) is the one
#: ranked highest.
RANK = {
    Verdict.NOT_APPLICABLE: 0,
    Verdict.PASS: 1,
    Verdict.NOT_EXERCISED: 2,
    Verdict.INCONCLUSIVE: 3,
    Verdict.FAIL: 4,
    Verdict.KIT_ERROR: 5,
}


def worst(*verdicts: Verdict) -> Verdict:
    return max(verdicts, key=RANK.__getitem__)
