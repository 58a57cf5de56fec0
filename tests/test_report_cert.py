"""jpkikit report: the certification report from a results directory, and its precise refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from jpkikit.harness.catalogue import REQUIREMENTS_DIR, Catalogue, load_catalogue
from jpkikit.report.certreport import build_report, render

from .conformance_runner import REPO, faulty_profile
from .test_cli import jpkikit

PROFILE = REPO / "profiles" / "emulator-gpse.yaml"


def error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def iso_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certification run of the emulator restricted to the ISO 7816 area."""
    results = tmp_path_factory.mktemp("iso-run")
    proc = jpkikit("certify", "--profile", str(PROFILE), "--results", str(results), "-k", "iso7816")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("faulty-run")
    profile = faulty_profile(tmp, "emulator-gpse.yaml", "tests.faulty_iso:select_anything")
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp / "r"), "-k", "iso7816")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return tmp / "r"


def iso_catalogue() -> Catalogue:
    return load_catalogue([REQUIREMENTS_DIR / "iso7816.yaml"])


def test_report_of_a_passing_run(iso_run: Path) -> None:
    report = build_report(iso_run, catalogue=iso_catalogue())
    assert report["certification"]["verdict"] == "PASS"
    assert report["implementation"]["name"] == "jpkikit reference emulator"
    assert report["claims"]["iso7816"]["logical_channels"] == 4
    by_id = {r["id"]: r for r in report["requirements"]}
    assert by_id["ISO-SEL-01"]["verdict"] == "pass"
    assert by_id["ISO-CH-05"]["verdict"] == "not applicable"  # only the basic channel: not claimed
    assert "logical_channels" in by_id["ISO-CH-05"]["applicability"]
    assert report["deviations"] == []


def test_full_catalogue_makes_a_partial_run_incomplete(iso_run: Path) -> None:
    report = build_report(iso_run)
    assert report["certification"]["verdict"] == "INCOMPLETE"
    assert "GP-SCP-01" in report["certification"]["rule"]
    untested = [d["requirement"] for d in report["deviations"] if d["verdict"] == "untested"]
    assert "GP-SCP-01" in untested and not any(r.startswith("ISO-") for r in untested)


def test_summary_line_and_the_pass_gate(iso_run: Path) -> None:
    """--format summary gives one line; --require-pass turns a verdict other than PASS into exit status 1."""
    plain = jpkikit("report", str(iso_run), "--lang", "en", "--format", "summary")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.count("\n") == 1 and ": INCOMPLETE: applicable but untested" in plain.stdout
    gated = jpkikit("report", str(iso_run), "--lang", "en", "--format", "summary", "--require-pass")
    assert gated.returncode == 1 and gated.stdout == plain.stdout


def test_report_formats_carry_the_same_content(iso_run: Path, tmp_path: Path) -> None:
    proc = jpkikit("report", str(iso_run), "--lang", "en", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    md = proc.stdout
    for heading in ("# Conformance test report: jpkikit reference emulator", "## 1. Identification",
                    "## 2. Implementation conformance statement", "## 3. Verdicts per requirement",
                    "## 4. Deviations", "## 5. Declared versus observed", "## 6. Observations"):  # fmt: skip
        assert heading in md
    assert "| ISO-SEL-01 |" in md and "**pass**" in md and "`ics.iso7816.logical_channels` | 4" in md
    doc = json.loads((tmp_path / "certification.json").read_text())
    html = (tmp_path / "certification.html").read_text()
    assert doc["certification"]["verdict"] in md and doc["certification"]["verdict"] in html
    assert "<td class='id' id='ISO-SEL-01'>" in html
    assert doc["lang"] == "en" and (tmp_path / "certification.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "charts" / "certification-iso7816.svg").is_file()
    assert (tmp_path / "certification.md").read_text().split("| Generated")[0] == md.split("| Generated")[0]


def test_a_failing_implementation_fails_with_its_deviation(faulty_run: Path) -> None:
    report = build_report(faulty_run, catalogue=iso_catalogue())
    assert report["certification"]["verdict"] == "FAIL"
    assert "ISO-SEL-02" in report["certification"]["rule"]
    [deviation] = [d for d in report["deviations"] if d["requirement"] == "ISO-SEL-02"]
    [test] = deviation["tests"]
    assert test["verdict"] == "fail" and "test_select_absent_application" in test["test"]
    assert test["message"]  # the assertion message, so a reader sees what went wrong
    md = render(report, "md")
    assert "**ISO-SEL-02**" in md and "test_select_absent_application" in md
    # the decisive exchange, from the test's redacted trace: the SELECT of the absent AID answered 9000
    shown = test["exchanges"]
    assert shown["trace"].startswith("traces/test_select_absent_application-") and shown["lines"]
    assert "SELECT" in shown["lines"][-1] and "< 9000" in shown["lines"][-1]
    assert shown["lines"][-1].split("\n")[0] in md


def test_another_profile_is_refused(iso_run: Path) -> None:
    other = REPO / "profiles" / "emulator-sim.yaml"
    err = error(jpkikit("report", str(iso_run), "--profile", str(other)))
    assert "is not the one the run used" in err and "emulator-sim.yaml" in err


def test_results_of_another_kit_version_are_refused(iso_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(iso_run, copy)
    env = copy / "allure-results" / "environment.properties"
    env.write_text(env.read_text().replace("kit.version=", "kit.version=0.0.1-old-"))
    err = error(jpkikit("report", str(copy)))
    assert "results were produced by jpkikit 0.0.1-old-" in err and "this is jpkikit" in err


def _set_env(results: Path, key: str, value: str) -> None:
    env = results / "allure-results" / "environment.properties"
    lines = [
        f"{key}={value}" if line.startswith(f"{key}=") else line for line in env.read_text().splitlines()
    ]
    env.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), "no such results directory"),
        (lambda d: (d / "junit.xml").unlink(), "junit.xml is missing"),
        (lambda d: (d / "junit.xml").write_text("<testsuites"), "not a readable junit XML file"),
        (
            lambda d: (d / "allure-results" / "environment.properties").unlink(),
            "environment.properties is missing",
        ),
        (lambda d: (d / "probe.json").write_text("{"), "probe.json: not a readable probe result"),
        (lambda d: _set_env(d, "profile", "gone.yaml"), "the profile the run recorded cannot be loaded"),
        (lambda d: _set_env(d, "kit.version", ""), "records no kit.version"),
    ],
)
def test_damaged_results_are_refused(iso_run: Path, tmp_path: Path, damage: object, message: str) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(iso_run, copy)
    damage(copy)  # type: ignore[operator]
    assert message in error(jpkikit("report", str(copy)))


def test_probe_findings_appear_in_the_report(iso_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "probed"
    shutil.copytree(iso_run, copy)
    assert jpkikit("probe", "--profile", str(PROFILE), "--results", str(copy)).returncode == 0
    report = build_report(copy)
    items = {f["item"]: f for f in report["declared_vs_observed"]}
    assert items["token label (JPKI EF 0006)"]["status"] == "match"
    assert "| token label (JPKI EF 0006) | **match** | JPKIAPGPSETOKEN | JPKIAPGPSETOKEN |" in render(
        report, "md"
    )
    other = REPO / "profiles" / "emulator-sim.yaml"
    assert jpkikit("probe", "--profile", str(other), "--results", str(copy)).returncode == 0
    assert "probes another profile" in error(jpkikit("report", str(copy)))
