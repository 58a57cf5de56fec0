"""The pytest plugin: requirement markers, applicability, verdicts, coverage, Allure output, traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conformance_runner import QUIET, REPO, faulty_profile

pytest_plugins = ["pytester"]

GPSE = REPO / "profiles" / "emulator-gpse.yaml"
SELECT_TESTS = REPO / "conformance" / "iso7816" / "test_select.py"
TWO_SELECTS = ("-k", "test_select_present_application or test_select_absent_application")
CHANNEL_TESTS = REPO / "conformance" / "iso7816" / "test_channels.py"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*args, *QUIET, "-rs")


def test_allure_labels_trace_and_environment(pytester: pytest.Pytester, tmp_path: Path) -> None:
    alluredir = tmp_path / "allure"
    result = run(pytester, str(SELECT_TESTS), *TWO_SELECTS, f"--profile={GPSE}", f"--alluredir={alluredir}")
    result.assert_outcomes(passed=2)
    results = [json.loads(p.read_text()) for p in alluredir.glob("*-result.json")]
    by_name = {r["name"]: r for r in results}
    absent = by_name["test_select_absent_application"]
    labels = {(label["name"], label["value"]) for label in absent["labels"]}
    assert ("requirement", "ISO-SEL-02") in labels
    assert ("feature", "iso7816") in labels
    assert any(name == "story" and value.startswith("ISO-SEL-02 ") for name, value in labels)
    assert "6A82" in absent["description"] or "absent" in absent["description"]
    (attachment,) = absent["attachments"]
    trace = (alluredir / attachment["source"]).read_text()
    assert attachment["name"] == "APDU trace (redacted)"
    assert "SELECT" in trace and "D392F0002601000000FF" in trace and "6A82" in trace
    env = (alluredir / "environment.properties").read_text()
    assert "implementation.name=jpkikit reference emulator" in env
    assert "profile.sha256=" in env and "kit.version=" in env


def test_not_applicable_with_reason_and_coverage_listing(pytester: pytest.Pytester) -> None:
    result = run(
        pytester, f"{CHANNEL_TESTS}::test_channel_bits_rejected_without_logical_channels", f"--profile={GPSE}"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*not applicable: ISO-CH-05: ics.iso7816.logical_channels == 1 is false*is 4*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*0 pass, 0 fail, 0 inconclusive, 1 not applicable, 0 not exercised, 0 kit error*",
            "*requirements that apply to this profile but have no test*",
            "*ISO-SEL-01*",
        ]
    )


def test_unknown_requirement_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.requirement("ISO-NOPE-99")
        def test_x(card):
            pass
    """
    )
    result = run(pytester, f"--profile={GPSE}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_x.py::test_x: unknown requirement ID 'ISO-NOPE-99'*"])


def test_bad_profile_is_a_usage_error_naming_the_field(pytester: pytest.Pytester, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GPSE.read_text().replace("logical_channels: 4", "logical_channels: 0"))
    result = run(pytester, str(SELECT_TESTS), f"--profile={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad.yaml: ics.iso7816.logical_channels: *"])
    assert "Traceback" not in result.stderr.str()


def test_garbage_answer_fails_and_the_run_goes_on(pytester: pytest.Pytester, tmp_path: Path) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.faulty_link:garbage")
    result = run(
        pytester,
        str(REPO / "conformance" / "iso7816" / "test_errors.py"),
        f"--profile={profile}",
        f"--junitxml={tmp_path / 'j.xml'}",
    )
    result.stdout.fnmatch_lines(["*0 pass, 5 fail, 0 inconclusive*"])  # a malformed answer is a fault
    assert "response APDU too short (1 bytes)" in result.stdout.str()
    junit = (tmp_path / "j.xml").read_text()
    assert junit.count('name="verdict" value="fail"') == 5


def test_device_that_dies_is_inconclusive_each_test_reopens(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.faulty_link:dies")
    traces = f"--trace-dir={tmp_path / 'traces'}"
    result = run(pytester, str(SELECT_TESTS), *TWO_SELECTS, f"--profile={profile}", traces)
    result.stdout.fnmatch_lines(["*2 inconclusive*"])
    assert "simulated card raised ConnectionError" in result.stdout.str()
    traces = list((tmp_path / "traces").glob("*.json"))
    assert len(traces) == 2
    assert all("simulator lost its device" in t.read_text() for t in traces), "the error is in the trace"


def test_unreachable_reader_stops_the_run_with_one_message(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PIN_1", "0000")
    monkeypatch.setenv("NO_PIN_2", "AAAAAA")
    profile = tmp_path / "nowhere.yaml"
    text = (REPO / "profiles" / "example-real-reader.yaml").read_text()
    text = text.replace('reader: "ACS ACR1252"', 'reader: "No Such Reader 99"')
    text = text.replace("env:JPKI_AUTH_PIN", "env:NO_PIN_1").replace("env:JPKI_SIGN_PIN", "env:NO_PIN_2")
    profile.write_text(text)
    result = run(pytester, str(SELECT_TESTS), f"--profile={profile}")
    assert result.ret == 2
    assert "jpkikit: cannot reach the implementation:" in result.stdout.str() + result.stderr.str()
