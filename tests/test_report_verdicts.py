"""Verdict aggregation rules and the Allure categories that carry the five verdicts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jpkikit.errors import (
    ApduError,
    CardAbsent,
    DeviceTimeout,
    Inconclusive,
    MalformedResponse,
    NonConformance,
    ProfileError,
    TlvDecodeError,
    TlvError,
    TransportError,
)
from jpkikit.harness.allure_results import (
    CATEGORY_NAMES,
    STATUS,
    TEST_LABEL,
    apply_verdicts,
    categories,
    prefix,
    requirement_link,
    write_categories,
)
from jpkikit.harness.verdict import Verdict, verdict_of
from jpkikit.report.verdicts import (
    UNTESTED,
    WAIVED,
    Certification,
    TestOutcome,
    aggregate,
    certification,
    requirement_verdict,
    worst,
)
from jpkikit.vocab.scp03.errors import AuthenticationError, Scp03AnswerError, SecureChannelError

P, F, INC, NA, NE, K = (
    Verdict.PASS,
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.NOT_APPLICABLE,
    Verdict.NOT_EXERCISED,
    Verdict.KIT_ERROR,
)


def outcomes(*verdicts: Verdict, rid: str = "R-1") -> list[TestOutcome]:
    return [TestOutcome(f"t{n}", v, (rid,)) for n, v in enumerate(verdicts)]


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ((P, P), P),
        ((P, NA), P),
        ((NA, NA), NA),
        ((P, INC), INC),
        ((INC, F), F),
        ((F, K), K),
        ((P, NE), NE),
        ((NE, INC), INC),
        ((P, NA, NE, INC, F, K), K),
    ],
)
def test_worst_order(verdicts: tuple[Verdict, ...], expected: Verdict) -> None:
    assert worst(verdicts) is expected
    assert worst(reversed(verdicts)) is expected


def test_requirement_verdict() -> None:
    assert requirement_verdict(True, None, outcomes(P, F)) == "fail"
    assert requirement_verdict(True, None, outcomes(P, NA)) == "pass"
    assert requirement_verdict(True, None, []) == UNTESTED
    assert requirement_verdict(True, "may be accepted", []) == WAIVED
    assert requirement_verdict(True, None, outcomes(NA)) == UNTESTED  # no test showed it is met
    assert requirement_verdict(False, None, outcomes(P)) == "not applicable"  # the ICS decides
    assert requirement_verdict(True, "may be accepted", outcomes(F)) == "fail"  # a waiver never hides a fail


def reqs(*specs: tuple[str, bool, str | None]) -> list[tuple[str, str, bool, str, str | None]]:
    return [(rid, rid, applicable, "reason", waiver) for rid, applicable, waiver in specs]


def test_aggregate_groups_tests_by_requirement() -> None:
    results = [
        TestOutcome("a", P, ("R-1",)),
        TestOutcome("b", F, ("R-1", "R-2")),
        TestOutcome("c", P, ("R-3",)),
    ]
    verdicts = aggregate(reqs(("R-1", True, None), ("R-2", True, None), ("R-3", True, None)), results)
    assert [v.verdict for v in verdicts] == ["fail", "fail", "pass"]
    assert [t.nodeid for t in verdicts[0].tests] == ["a", "b"]


@pytest.mark.parametrize(
    ("verdicts", "expected", "names"),
    [
        ({"R-1": (P,), "R-2": (P, NA)}, Certification.PASS, ""),
        ({"R-1": (P,), "R-2": ()}, Certification.INCOMPLETE, "R-2"),
        ({"R-1": (P,), "R-2": (INC,), "R-3": ()}, Certification.INCONCLUSIVE, "R-2"),
        ({"R-1": (F,), "R-2": (INC,)}, Certification.FAIL, "R-1"),
        ({"R-1": (F,), "R-2": (K,)}, Certification.KIT_ERROR, "R-2"),
    ],
)
def test_certification_rules(
    verdicts: dict[str, tuple[Verdict, ...]], expected: Certification, names: str
) -> None:
    results = [o for rid, vs in verdicts.items() for o in outcomes(*vs, rid=rid)]
    overall, rule = certification(aggregate(reqs(*((rid, True, None) for rid in verdicts)), results))
    assert overall is expected
    assert names in rule


def test_waivers_and_inapplicable_requirements_in_the_certification() -> None:
    spec = reqs(("R-1", True, None), ("R-2", True, "waived text"), ("R-3", False, None))
    overall, rule = certification(aggregate(spec, outcomes(P, rid="R-1") + outcomes(F, rid="R-3")))
    assert overall is Certification.PASS  # R-2 has a waiver; R-3's fail does not count, it does not apply
    assert "1 waived" in rule
    spec = reqs(("R-1", True, None), ("R-2", True, "waived text"))
    overall, _ = certification(aggregate(spec, outcomes(P, rid="R-1") + outcomes(F, rid="R-2")))
    assert overall is Certification.FAIL


# -- Allure categories: every verdict lands in exactly one category, the one that names it -------------

SAMPLES = [
    (STATUS[verdict], prefix(verdict) + "what the test found", CATEGORY_NAMES[verdict])
    for verdict in CATEGORY_NAMES
]


def matching(status: str, message: str) -> list[str]:
    """Categories a result falls into, the way Allure 2 (full match) and Allure 3 (search) both see it."""
    found = []
    for category in categories():
        if status in category["matchedStatuses"]:
            regex = category["messageRegex"]
            full, search = re.fullmatch(regex, message), re.search(regex, message)
            assert bool(full) == bool(search), regex
            if full:
                found.append(category["name"])
    return found


@pytest.mark.parametrize(("status", "message", "expected"), SAMPLES)
def test_each_verdict_has_exactly_one_category(status: str, message: str, expected: str) -> None:
    names = matching(status, message)
    assert len(names) == 1, names
    assert names[0].startswith(expected)


def test_passed_results_fall_into_no_category() -> None:
    assert matching("passed", "") == []


class _Jammed(TransportError):  # a link error class added later by another module
    pass


VERDICT_CASES = [
    ("passed", "call", None, "", P),
    ("skipped", "setup", None, "not applicable: ISO-CH-05: ics.iso7816.logical_channels is 4", NA),
    ("skipped", "setup", None, "not exercised: blocks a PIN; ixit.unit.allows lacks block-pin", NE),
    ("skipped", "call", None, "the reader was busy", INC),
    ("failed", "call", AssertionError("SELECT answered 9000, expected 6A82"), "", F),
    ("failed", "setup", AssertionError("SELECT of the JPKI application answered 6A82"), "", F),
    ("failed", "teardown", AssertionError("EF 000A differs from the start of the run"), "", F),
    ("failed", "call", pytest.fail.Exception("DID NOT RAISE <class 'SecurityError'>"), "", F),
    ("failed", "call", AuthenticationError("card cryptogram does not verify"), "", F),
    ("failed", "call", SecureChannelError("R-MAC does not verify"), "", F),
    ("failed", "call", Scp03AnswerError("card answered with key set 31, 30 was requested"), "", F),
    ("failed", "call", MalformedResponse("response APDU is 1 bytes"), "", F),
    ("failed", "call", TlvDecodeError("offset 3: length expected, data ended"), "", F),
    ("failed", "call", NonConformance("signature does not verify"), "", F),
    ("failed", "call", DeviceTimeout("no answer within 30 s"), "", INC),
    ("failed", "setup", CardAbsent("card removed"), "", INC),
    ("failed", "call", _Jammed("stuck"), "", INC),
    ("failed", "call", Inconclusive("the profile gives no ixit.applicant"), "", INC),
    ("failed", "call", ProfileError("p.yaml", "ixit.gp", "missing"), "", INC),
    ("failed", "call", KeyError("gp"), "", K),
    ("failed", "call", ApduError("Ne must be 1..65536"), "", K),  # the kit built a bad command
    ("failed", "call", TlvError("tag must be a positive int"), "", K),  # the kit built a bad TLV
]


@pytest.mark.parametrize(("outcome", "when", "exc", "reason", "expected"), VERDICT_CASES)
def test_verdict_of_each_mechanism(
    outcome: str, when: str, exc: BaseException | None, reason: str, expected: Verdict
) -> None:
    assert verdict_of(outcome, when, exc, reason) is expected


def test_apply_verdicts_rewrites_status_and_message(tmp_path: Path) -> None:
    def result(nodeid: str, status: str, message: str) -> dict[str, object]:
        return {
            "status": status,
            "statusDetails": {"message": message},
            "labels": [{"name": TEST_LABEL, "value": nodeid}],
        }

    (tmp_path / "a-result.json").write_text(json.dumps(result("t::a", "broken", "AuthenticationError: x")))
    (tmp_path / "b-result.json").write_text(json.dumps(result("t::b", "failed", "Failed: DID NOT RAISE")))
    (tmp_path / "c-result.json").write_text(json.dumps(result("t::c", "broken", "DeviceTimeout: y")))
    verdicts = {"t::a": F, "t::b": F, "t::c": INC}
    assert apply_verdicts(tmp_path, verdicts) == 3
    for name, verdict in (("a", F), ("b", F), ("c", INC)):
        doc = json.loads((tmp_path / f"{name}-result.json").read_text())
        assert doc["status"] == STATUS[verdict]
        assert matching(doc["status"], doc["statusDetails"]["message"]) == [CATEGORY_NAMES[verdict]]


def test_write_categories(tmp_path: Path) -> None:
    path = write_categories(tmp_path / "allure-results")
    assert json.loads(path.read_text()) == categories()


def test_requirement_link() -> None:
    assert requirement_link("ISO-SEL-01") == {
        "url": "requirements.html#ISO-SEL-01",
        "link_type": "requirement",
        "name": "ISO-SEL-01 (requirement text)",
    }
