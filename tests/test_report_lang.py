"""Reports in Japanese and English (jpkikit.report.i18n): md, html, json and pdf of a small results directory
in both languages, the ICS as tables, the charts, the decisive APDU exchange of a failure, no absolute path
of the machine in any report (campaigns too), the language rule, the PDF check of CI (tools/check-pdf.py),
and the Allure results' requirement texts in the run's language."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.allure_results import requirement_description, requirement_story
from jpkikit.harness.catalogue import REQUIREMENTS_DIR, load_catalogue
from jpkikit.harness.language import locale_lang, resolve_lang
from jpkikit.harness.profile import load_profile
from jpkikit.report.campaign import build_campaign
from jpkikit.report.certreport import build_report, render, write_reports
from jpkikit.report.i18n import CERTIFICATIONS, MESSAGES, VERDICTS, verdict_name

from .cli_runner import jpkikit
from .conformance_runner import REPO
from .tools_loader import load_tool

PROFILE = REPO / "profiles" / "emulator-gpse.yaml"
ISO = load_catalogue([REQUIREMENTS_DIR / "iso7816.yaml"])
FAILING = "conformance.iso7816.test_select::test_select_absent_application"
FAILING_NODEID = "conformance/iso7816/test_select.py::test_select_absent_application"
LAST_COMMAND = "00A4040C0AD392F0002601000000FF"
PIN_CUT = {"what": "PIN", "offset": 5, "length": 4}


def _case(nodeid: str, verdict: str, requirement: str, inner: str = "") -> str:
    classname, _, name = nodeid.rpartition("::")
    return (
        f'<testcase classname="{classname}" name="{name}" time="0.01"><properties>'
        f'<property name="requirements" value="{requirement}" /><property name="verdict" value="{verdict}" />'
        f"</properties>{inner}</testcase>"
    )


def _exchange(command: str, response: str, name: str, meaning: str, redacted: object = None) -> dict:
    sw = response[-4:] if response else ""
    return {"t": 0.0, "ms": 0.1, "command": command, "response": response, "name": name, "sw": sw,
            "meaning": meaning, "redacted": redacted, "event": None, "error": None}  # fmt: skip


def make_results(directory: Path) -> Path:
    """A results directory as jpkikit certify writes it: one pass, one fail (with its redacted trace, a
    VERIFY whose PIN was cut out, and a message naming a path of this machine), one inconclusive, one not
    exercised, one not applicable. The profile is recorded by its absolute path."""
    (directory / "allure-results").mkdir(parents=True)
    profile = load_profile(PROFILE)
    (directory / "allure-results" / "environment.properties").write_text(
        f"implementation.name=jpkikit reference emulator\nprofile={PROFILE}\n"
        f"profile.sha256={profile.sha256}\nkit.version={__version__}\n"
    )
    where = f"{directory}/traces/x.json"
    failure = (
        f'<failure message="AssertionError: SELECT answered 9000, expected 6A82 (see {where})">x</failure>'
    )
    timeout = '<error message="DeviceTimeout: no answer within 5 s">x</error>'
    refused = '<skipped message="not exercised: costs a PIN try">x</skipped>'
    na = '<skipped message="not applicable: ISO-CH-05: logical channels claimed">x</skipped>'
    cases = [
        _case("conformance.iso7816.test_select::test_select_present_application", "pass", "ISO-SEL-01"),
        _case(FAILING, "fail", "ISO-SEL-02", failure),
        _case("conformance.iso7816.test_channels::test_open_channels", "inconclusive", "ISO-CH-01", timeout),
        _case("conformance.iso7816.test_errors::test_unknown", "not exercised", "ISO-ERR-01", refused),
        _case("conformance.iso7816.test_channels::test_channel_bits", "not applicable", "ISO-CH-05", na),
    ]
    (directory / "junit.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        + "".join(cases)
        + "</testsuite></testsuites>"
    )
    traces = directory / "traces"
    traces.mkdir()
    digest = hashlib.sha1(FAILING_NODEID.encode()).hexdigest()[:12]
    exchanges = [
        _exchange("00a4040c0ad392f000260100000001", "9000", "SELECT", "normal processing"),
        _exchange(
            "0020008004", "9000", "VERIFY", "normal processing", {"what": "PIN", "offset": 5, "length": 4}
        ),
        _exchange(LAST_COMMAND.lower(), "9000", "SELECT", "normal processing"),
    ]
    trace = {"format": "jpkikit-trace/1", "description": "test", "atr": "3b00", "exchanges": exchanges}
    (traces / f"test_select_absent_application-{digest}.json").write_text(json.dumps(trace))
    return directory


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("lang") / "run-17")


@pytest.fixture(scope="module", params=["ja", "en"])
def written(request: pytest.FixtureRequest, results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(f"out-{request.param}")
    write_reports(build_report(results, catalogue=ISO, lang=request.param), out)
    return out


def _pdftotext(pdf: Path) -> str | None:
    if not shutil.which("pdftotext"):
        return None
    proc = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True)
    return proc.stdout.decode()


def test_every_format_in_its_language(written: Path) -> None:
    doc = json.loads((written / "certification.json").read_text())
    lang = doc["lang"]
    md = (written / "certification.md").read_text()
    page = (written / "certification.html").read_text()
    by_id = {r["id"]: r for r in doc["requirements"]}
    sel = ISO.get("ISO-SEL-02")
    # the JSON keeps its English keys and values, and adds the language's texts
    assert by_id["ISO-SEL-02"]["verdict"] == "fail" and by_id["ISO-SEL-02"]["title"] == sel.title
    assert by_id["ISO-SEL-02"]["title_local"] == sel.title_in(lang)
    assert by_id["ISO-SEL-02"]["statement_local"] == sel.statement_in(lang)
    assert doc["certification"]["verdict"] == "FAIL" and "ISO-SEL-02" in doc["certification"]["rule"]
    assert doc["certification"]["verdict_local"] == CERTIFICATIONS["FAIL"][lang]
    assert f"<html lang='{lang}'>" in page
    for text in (md, page):
        assert MESSAGES["title"][lang] in text and MESSAGES["s_deviations"][lang] in text
        assert sel.title_in(lang) in text and verdict_name("fail", lang) in text
        assert verdict_name("not exercised", lang) in text and verdict_name("inconclusive", lang) in text
    if lang == "ja":
        assert "不合格" in md and "総合判定" in md and "要件ごとの判定" in md
    else:
        assert "Certification verdict: FAIL" in md and "## 3. Verdicts per requirement" in md
    pdf = (written / "certification.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    text = _pdftotext(written / "certification.pdf")
    if text is not None:
        assert all(r in text for r in by_id)
        assert MESSAGES["title"][lang] in text and CERTIFICATIONS["FAIL"][lang] in text


def test_the_claims_are_tables_not_python_reprs(written: Path) -> None:
    doc = json.loads((written / "certification.json").read_text())
    lang = doc["lang"]
    md = (written / "certification.md").read_text()
    page = (written / "certification.html").read_text()
    for text in (md, page):
        assert "{'" not in text and "[{" not in text and "True" not in text
    heads = [MESSAGES[k][lang] for k in ("aid", "hash", "apdu_access", "filters", "nfc")]
    assert "| " + " | ".join(heads) + " |" in md  # the access rule table
    assert "| D392F000260100000001 | C978F7B1845BBBB76AA2E3D45ECF49A5E158BA09 |" in md
    assert "00A40200/FFFFFF00<br>00B00000/FFFF0000" in md  # the filters of a filtered rule, one a line
    assert "`ics.jpki.auth_pin.min_length` | 4" in md  # a nested mapping as dotted rows
    assert "`ics.gp.levels` | 01, 03, 11, 13, 33" in md  # a list, joined


def test_a_chart_per_area_as_svg(written: Path) -> None:
    lang = json.loads((written / "certification.json").read_text())["lang"]
    svg = written / "charts" / "certification-iso7816.svg"
    root = ET.fromstring(svg.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    [counts] = [a["counts"] for a in json.loads((written / "certification.json").read_text())["areas"]]
    assert {v: counts[v] for v in ("pass", "fail", "inconclusive", "not exercised")} == dict.fromkeys(
        ("pass", "fail", "inconclusive", "not exercised"), 1
    )
    for verdict, n in counts.items():
        assert f"{verdict_name(verdict, lang)} {n}" in text
    assert "iso7816" in text
    page = (written / "certification.html").read_text()
    md = (written / "certification.md").read_text()
    assert "<svg" in page and "](charts/certification-iso7816.svg)" in md


def test_a_failure_shows_its_decisive_exchange_redacted(written: Path) -> None:
    doc = json.loads((written / "certification.json").read_text())
    [deviation] = [d for d in doc["deviations"] if d["requirement"] == "ISO-SEL-02"]
    shown = deviation["tests"][0]["exchanges"]
    assert shown["trace"].startswith("traces/test_select_absent_application-")
    assert shown["shown"] == 3 and shown["of"] == 3
    assert "> 0020008004<PIN redacted, 4 bytes>  VERIFY" in shown["lines"][1]
    md = (written / "certification.md").read_text()
    assert f"    > {LAST_COMMAND}  SELECT" in md and "    < 9000 (normal processing)" in md
    assert LAST_COMMAND in (written / "certification.html").read_text()
    [inconclusive] = [d for d in doc["deviations"] if d["requirement"] == "ISO-CH-01"]
    assert "exchanges" not in inconclusive["tests"][0]  # no trace recorded: nothing made up


MACHINE_PATH = re.compile(r"(?<![\w.])/(?:tmp|home|work|root|usr|var|opt|builds?|runner)/")


def _no_machine_path(where: str, text: str, *roots: Path) -> None:
    for root in roots:
        assert str(root) not in text, f"{where}: {root}"
    assert not MACHINE_PATH.search(text), f"{where}: {MACHINE_PATH.search(text)}"


def test_no_absolute_path_of_the_machine_in_any_report(written: Path, results: Path) -> None:
    for path in written.rglob("*"):
        if path.suffix in (".md", ".html", ".json", ".svg"):
            _no_machine_path(path.name, path.read_text(), results, REPO, Path.home())
    text = _pdftotext(written / "certification.pdf")
    if text is not None:
        _no_machine_path("certification.pdf", text, results, REPO)
    doc = json.loads((written / "certification.json").read_text())
    assert doc["results"] == "run-17" and doc["implementation"]["profile"] == "profiles/emulator-gpse.yaml"
    [deviation] = [d for d in doc["deviations"] if d["requirement"] == "ISO-SEL-02"]
    assert "(see traces/x.json)" in deviation["tests"][0]["message"]  # relative to the results directory


def test_a_campaign_in_japanese_with_its_matrix_and_no_machine_path(results: Path, tmp_path: Path) -> None:
    other = tmp_path / "run-17b"
    shutil.copytree(results, other)
    report = build_campaign([results, other], lang="ja")
    assert report["lang"] == "ja" and report["results"] == "run-17 + run-17b"
    assert [u["results"] for u in report["campaign"]] == ["run-17", "run-17b"]
    assert report["campaign"][0]["verdicts"]["ISO-SEL-02"] == "fail"
    write_reports(report, tmp_path / "c", stem="campaign")
    md = (tmp_path / "c" / "campaign.md").read_text()
    assert "要件 × 試験体" in md and "| ISO-SEL-02 | 不合格 | 不合格 | 不合格 |" in md
    assert "run-17/traces/test_select_absent_application-" in md
    for path in (tmp_path / "c").rglob("*"):
        if path.suffix in (".md", ".html", ".json", ".svg"):
            _no_machine_path(path.name, path.read_text(), results, other, REPO)
    assert (tmp_path / "c" / "campaign.pdf").read_bytes().startswith(b"%PDF")


def load_profile_text(extra: str):  # type: ignore[no-untyped-def]
    """The bundled emulator profile with ``extra`` YAML merged in (extends), loaded."""
    import tempfile

    from jpkikit.harness.bundled import profile_path
    from jpkikit.harness.profile import load_profile

    directory = Path(tempfile.mkdtemp())
    path = directory / "p.yaml"
    path.write_text(f"schema: jpkikit-profile/1\nextends: {profile_path('emulator-gpse')}\n{extra}")
    return load_profile(path)


def test_the_language_rule() -> None:
    assert resolve_lang("ja") == "ja" and resolve_lang("en", {"LANG": "ja_JP.UTF-8"}) == "en"
    assert resolve_lang(None, {"LANG": "ja_JP.UTF-8"}) == "ja"
    assert resolve_lang(None, {"LC_ALL": "C.UTF-8", "LANG": "ja_JP.UTF-8"}) == "en"  # LC_ALL first
    assert locale_lang({"LC_ALL": "ja_JP.eucJP"}) == "ja" and locale_lang({}) == "en"
    japanese = load_profile_text("ixit:\n  report: {lang: ja}\n")
    assert resolve_lang(None, {"LANG": "C"}, profile=japanese) == "ja"  # the profile before the locale
    assert resolve_lang("en", {}, profile=japanese) == "en"  # --lang before the profile
    with pytest.raises(KitError, match="unknown report language 'fr'"):
        resolve_lang("fr")
    for table in (MESSAGES, VERDICTS, CERTIFICATIONS):
        assert all(set(texts) == {"ja", "en"} and all(texts.values()) for texts in table.values())


def test_the_cli_writes_every_format_and_follows_the_locale(results: Path, tmp_path: Path) -> None:
    proc = jpkikit("report", str(results), "--lang", "ja", "-o", str(tmp_path / "ja"))
    assert proc.returncode == 0, proc.stderr
    assert "適合性試験報告書" in proc.stdout
    for name in ("certification.md", "certification.html", "certification.json", "certification.pdf"):
        assert (tmp_path / "ja" / name).is_file()
    assert "Step 2" not in proc.stderr  # WeasyPrint's progress log stays quiet
    import os

    env_proc = subprocess.run(
        [*_python_jpkikit(), "report", str(results), "--format", "json"],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), LANG="ja_JP.UTF-8", LC_ALL="", LC_MESSAGES=""),
        capture_output=True,
        text=True,
        check=False,
    )
    assert env_proc.returncode == 0, env_proc.stderr
    assert json.loads(env_proc.stdout)["lang"] == "ja"


def _python_jpkikit() -> list[str]:
    import sys

    return [sys.executable, "-m", "jpkikit"]


def test_the_ci_pdf_check(written: Path, tmp_path: Path) -> None:
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils is not installed (tools/setup.sh installs it)")
    check = load_tool("check-pdf")
    pdf = written / "certification.pdf"
    lang = json.loads((written / "certification.json").read_text())["lang"]
    assert check.check(pdf, lang) == []
    other = "en" if lang == "ja" else "ja"
    assert any("expected" in p for p in check.check(pdf, other))
    assert check.pgm_ink(b"P5\n4 2\n255\n" + bytes([255] * 8)) == 0
    assert check.pgm_ink(b"P5 2 1 255\n" + bytes([0, 255])) == 0.5


def test_allure_texts_in_the_run_language() -> None:
    req = ISO.get("ISO-SEL-02")
    assert requirement_story(req, "ja") == f"ISO-SEL-02 {req.title_in('ja')}"
    assert requirement_story(req, "en") == f"ISO-SEL-02 {req.title}"
    assert requirement_description([req], "ja") == f"**ISO-SEL-02**: {req.statement_in('ja')}"


def test_certify_lang_reaches_the_allure_results(tmp_path: Path) -> None:
    results = tmp_path / "r"
    proc = jpkikit("certify", "--profile", str(PROFILE), "--results", str(results), "--lang", "ja",
                   "-k", "test_select_absent_application")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [result] = [
        json.loads(p.read_text())
        for p in (results / "allure-results").glob("*-result.json")
        if json.loads(p.read_text())["name"] == "test_select_absent_application"
    ]
    labels = {lb["name"]: lb["value"] for lb in result["labels"]}
    req = ISO.get("ISO-SEL-02")
    assert labels["story"] == f"ISO-SEL-02 {req.title_in('ja')}"
    assert req.statement_in("ja") in result["description"]


def test_render_keeps_its_signature(results: Path) -> None:
    """jpkikit bundle renders md/html/json with render(report, fmt): the report carries its language."""
    report = build_report(results, catalogue=ISO, lang="ja")
    assert "適合性試験報告書" in render(report, "md") and json.loads(render(report, "json"))["lang"] == "ja"
