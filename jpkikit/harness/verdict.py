"""Verdicts as conformance testing names them (ISO/IEC 9646-1 §3.6; design.md).

pass, fail, inconclusive (the test could not decide: the device stopped answering, answered garbage),
not applicable (from the ICS), and kit error (the kit itself broke). Derived from a pytest report.
"""

from __future__ import annotations

from enum import StrEnum

NOT_APPLICABLE_PREFIX = "not applicable: "


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"
    KIT_ERROR = "kit error"


def verdict_of(outcome: str, when: str, exc: BaseException | None, skip_reason: str = "") -> Verdict:
    """Verdict of one test phase. ``exc`` is the exception that ended it, if any."""
    from jpkikit.errors import ApduError, TlvError, TransportError

    if outcome == "skipped":
        applicable = not skip_reason.startswith(NOT_APPLICABLE_PREFIX)
        return Verdict.INCONCLUSIVE if applicable else Verdict.NOT_APPLICABLE
    if outcome == "passed":
        return Verdict.PASS
    if isinstance(exc, AssertionError) and when == "call":
        return Verdict.FAIL
    if isinstance(exc, TransportError | ApduError | TlvError):
        return Verdict.INCONCLUSIVE  # the device did not answer, or answered bytes that do not parse
    return Verdict.KIT_ERROR
