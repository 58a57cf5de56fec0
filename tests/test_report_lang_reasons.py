"""No English where the kit itself writes the words of a Japanese report: the applicability reasons (worded
from the structure of the ICS facts, jpkikit.report.i18n.applicability_text), the Allure category names,
and the kit's framing of a test's message (the message itself quoted once as 原文). The English report
stays as it was, word for word."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jpkikit.harness.allure_results import (
    CATEGORY_NAMES,
    CATEGORY_NAMES_JA,
    categories,
    write_categories,
)
from jpkikit.harness.catalogue import Applicability, load_catalogue
from jpkikit.harness.conditions import AllOf, AnyOf, Claim, Condition, Not, parse_condition, show, walk
from jpkikit.harness.plugin import PREFLIGHT_PIN_SKIP
from jpkikit.harness.profile import load_profile
from jpkikit.harness.reachability import UNREACHABLE_PREFIX
from jpkikit.harness.safety import Cost, Effect, Policy
from jpkikit.harness.verdict import NOT_APPLICABLE_PREFIX, NOT_EXERCISED_PREFIX, Verdict
from jpkikit.report.allure import requirements_page
from jpkikit.report.certreport import build_report, report_of, to_html, to_markdown, write_reports
from jpkikit.report.i18n import (
    EFFECTS_JA,
    ORIGINAL,
    applicability_text,
    fact_text,
    message_text,
    refusal_text,
)

from .cli_runner import jpkikit, python_module
from .conformance_runner import REPO
from .test_report_lang import ISO, make_results

SIM_AUTH = REPO / "profiles" / "emulator-sim-auth.yaml"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
#: Words of the English reasons that must not be left in a Japanese one.
ENGLISH_REASON = re.compile(
    r"implementation class|is not among|is among|no ICS condition|is not given|is given"
)

CATALOGUE = load_catalogue()


@pytest.fixture(scope="module")
def sim_auth_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``jpkikit certify`` of the auth-only SIM (many requirements not applicable), in Japanese."""
    results = tmp_path_factory.mktemp("sim-auth") / "r"
    proc = jpkikit("certify", "--profile", str(SIM_AUTH), "--results", str(results), "--lang", "ja")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return results


@pytest.fixture(scope="module")
def reports(sim_auth_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for lang in ("ja", "en"):
        out[lang] = tmp_path_factory.mktemp(f"sim-auth-{lang}")
        write_reports(build_report(sim_auth_run, lang=lang), out[lang], formats=("md", "html", "json"))
    return out


def _verdict_rows(md: str) -> list[list[str]]:
    """The rows of the verdicts-per-requirement table of a Markdown report (five cells, an ID first)."""
    rows = []
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 5 and re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", cells[0]):
            rows.append(cells)
    return rows


def test_a_japanese_report_has_a_japanese_reason_for_every_requirement(reports: dict[str, Path]) -> None:
    doc = json.loads((reports["ja"] / "certification.json").read_text())
    assert doc["lang"] == "ja"
    not_applicable = [r for r in doc["requirements"] if not r["applicable"]]
    assert len(not_applicable) > 50  # the handset, TSM and reader-writer requirements, and more
    for r in doc["requirements"]:
        local = r["applicability_local"]
        assert JAPANESE.search(local) and not ENGLISH_REASON.search(local), (r["id"], local)
        assert r["applicability"].isascii()  # the data keeps the kit's English
    md = (reports["ja"] / "certification.md").read_text()
    rows = _verdict_rows(md)
    assert len(rows) == len(doc["requirements"])
    for row in rows:
        assert JAPANESE.search(row[4]) and not ENGLISH_REASON.search(row[4]), row
    page = (reports["ja"] / "certification.html").read_text()
    cells = re.findall(r"<td class='tests'>([^<]*)</td></tr>", page)
    assert len(cells) == len(doc["requirements"])
    assert all(JAPANESE.search(c) and not ENGLISH_REASON.search(c) for c in cells)
    for sentence in ("is not among", "no ICS condition", " is false", " is true"):
        assert sentence not in md and sentence not in page, sentence


def test_the_japanese_reasons_say_what_the_english_ones_say(reports: dict[str, Path]) -> None:
    doc = json.loads((reports["ja"] / "certification.json").read_text())
    by_id = {r["id"]: r for r in doc["requirements"]}
    handset = next(r for r in doc["requirements"] if r["applicability"].endswith("is not among handset"))
    assert handset["applicability_local"] == "実装クラス 'sim' は要件の対象クラス（handset）に含まれません。"
    ch05 = by_id["ISO-CH-05"]  # {claim: ics.iso7816.logical_channels, equals: 1}, the SIM claims 4
    assert (
        ch05["applicability"]
        == "ics.iso7816.logical_channels == 1 is false: ics.iso7816.logical_channels is 4"
    )
    assert ch05["applicability_local"] == (
        "ics.iso7816.logical_channels == 1 は成り立ちません（ics.iso7816.logical_channels の申告値は 4）。"
    )
    for r in doc["requirements"]:  # every claim the English names, the Japanese names too
        for path in re.findall(r"\b(?:ics|ixit)\.[a-z0-9_.]*[a-z0-9_]", r["applicability"]):
            assert path in r["applicability_local"], (r["id"], path)


def _old_english_reason(condition: Condition, lookup: Any) -> str:
    """The English reason as the kit worded it before reasons had a structure (a copy of that code, with
    the truth of each claim taken from the condition itself)."""
    if isinstance(condition, Claim):
        actual = lookup(condition.path)
        if condition.test == "present":
            given = actual is not None and not (isinstance(actual, (list, tuple, bytes)) and len(actual) == 0)
            return f"{condition.path} is {'given' if given else 'not given'}"
        fact = f"{condition.path} is {show(actual)}"
        if condition.test == "is":
            return fact
        holds, _ = condition.evaluate(lookup)
        return f"{condition.text} is {show(holds)}: {fact}"
    if isinstance(condition, Not):
        return _old_english_reason(condition.operand, lookup)
    assert isinstance(condition, (AllOf, AnyOf))
    reasons = []
    for operand in condition.operands:
        holds, _ = operand.evaluate(lookup)
        if holds is condition.decides:
            return _old_english_reason(operand, lookup)
        reasons.append(_old_english_reason(operand, lookup))
    return "; ".join(reasons)


def _old_applicability(requirement: Any, profile: Any) -> str:
    cls, classes = profile.implementation.class_, ", ".join(requirement.classes)
    if cls not in requirement.classes:
        return f"implementation class {cls!r} is not among {classes}"
    membership = f"implementation class {cls!r} is among {classes}"
    if requirement.applies_if is None:
        return f"{membership}; no ICS condition"
    holds, _ = requirement.applies_if.evaluate(profile.get)
    why = _old_english_reason(requirement.applies_if, profile.get)
    return f"{membership}; {why}" if holds else why


def _profiles() -> Iterator[Any]:
    for path in sorted((REPO / "profiles").glob("*.yaml")):
        try:
            yield load_profile(path)
        except Exception:  # a profile that needs a machine (a reader, a device) is left out
            continue


def test_the_english_reasons_are_word_for_word_as_before() -> None:
    profiles = list(_profiles())
    assert len(profiles) >= 5
    seen = 0
    for profile in profiles:
        for requirement in CATALOGUE:
            applies = CATALOGUE.applicability(requirement, profile)
            assert applies.reason == _old_applicability(requirement, profile), (requirement.id, profile.path)
            assert applicability_text(applies, "en") == applies.reason
            seen += 1
    assert seen > 1000


def test_the_english_report_is_unchanged(reports: dict[str, Path], sim_auth_run: Path) -> None:
    doc = json.loads((reports["en"] / "certification.json").read_text())
    for r in doc["requirements"]:
        assert "applicability_local" not in r
        assert r["applicability"] == CATALOGUE.applicability(r["id"], load_profile(SIM_AUTH)).reason
    for d in doc["deviations"]:
        assert all("message_local" not in x for x in d["tests"])
    md = (reports["en"] / "certification.md").read_text()
    assert not JAPANESE.search(md)
    rows = {row[0]: row for row in _verdict_rows(md)}
    assert rows["ISO-CH-05"][4] == (
        "ics.iso7816.logical_channels == 1 is false: ics.iso7816.logical_channels is 4"
    )
    assert any(row[4] == "implementation class 'sim' is not among handset" for row in rows.values())


def test_every_kind_of_fact_in_japanese() -> None:
    values = {"ics.a.flag": False, "ics.a.n": 4, "ics.a.mode": "card", "ics.a.list": [], "ics.a.gone": None}

    def facts(data: dict[str, Any]) -> list[str]:
        _, found = parse_condition(data).explain(values.__getitem__)
        return [fact_text(f, "ja") for f in found]

    assert facts({"claim": "ics.a.flag"}) == ["ics.a.flag の申告値は false です"]
    assert facts({"claim": "ics.a.gone"}) == ["ics.a.gone は申告されていません"]
    assert facts({"claim": "ics.a.list", "present": True}) == ["ics.a.list は申告されていません"]
    assert facts({"claim": "ics.a.mode", "present": True}) == ["ics.a.mode は申告されています"]
    assert facts({"claim": "ics.a.n", "greater_than": 1}) == [
        "ics.a.n > 1 は成り立ちます（ics.a.n の申告値は 4）"
    ]
    assert facts({"claim": "ics.a.gone", "less_than": 1}) == [
        "ics.a.gone < 1 は成り立ちません（ics.a.gone は申告されていません）"
    ]
    assert facts({"claim": "ics.a.mode", "one_of": ["application", "card"]}) == [
        "ics.a.mode in ['application', 'card'] は成り立ちます（ics.a.mode の申告値は 'card'）"
    ]
    both = {"all": [{"claim": "ics.a.n", "equals": 4}, {"not": {"claim": "ics.a.flag"}}]}
    assert facts(both) == [
        "ics.a.n == 4 は成り立ちます（ics.a.n の申告値は 4）",
        "ics.a.flag の申告値は false です",
    ]
    for data in ({"claim": "ics.a.flag"}, both, {"any": [{"claim": "ics.a.flag"}, {"claim": "ics.a.gone"}]}):
        condition = parse_condition(data)
        holds, found = condition.explain(values.__getitem__)
        assert condition.evaluate(values.__getitem__) == (holds, "; ".join(f.text for f in found))
        assert {f.claim for f in found} <= set(walk(condition))
    # an Applicability made by hand, without its structure, keeps its English sentence
    assert applicability_text(Applicability(True, "made by hand"), "ja") == "made by hand"


def test_the_kit_framing_of_messages_in_japanese() -> None:
    assertion = "AssertionError: SELECT answered 9000, expected 6A82"
    assert message_text(assertion, "ja") == f"{ORIGINAL}：{assertion}"
    assert message_text(assertion, "en") == assertion
    since = "conformance/jpki/test_pin.py::test_verify[auth]"
    lost = f"UnitUnreachable: {UNREACHABLE_PREFIX}{since}: DeviceTimeout: no answer within 5 s"
    for message in (lost, f'failed on setup with "{lost}"'):
        text = message_text(message, "ja")
        assert f"試験体は {since} 以降応答せず" in text and "unreachable" not in text
        assert text.endswith(f"最後のエラー（{ORIGINAL}）：DeviceTimeout: no answer within 5 s")
        assert text.count(ORIGINAL) == 1
    assert message_text(f'failed on setup with "{lost}"', "ja").startswith(
        "試験の準備処理（setup）で中断しました。"
    )
    cut = f'failed on setup with "{lost[:20]}...\n[truncated; full report in element text]'
    assert message_text(cut, "ja") == (
        f"試験の準備処理（setup）で中断しました。{ORIGINAL}：{lost[:20]}..."
        "（以下省略。全文は junit.xml の要素のテキストにあります）"
    )
    na = f"{NOT_APPLICABLE_PREFIX}ISO-CH-05: ics.iso7816.logical_channels == 1 is false"
    assert message_text(na, "ja").startswith(
        "対象外（ICS による）。"
    ) and "not applicable" not in message_text(na, "ja")
    preflight = message_text(f"{PREFLIGHT_PIN_SKIP}GET DATA answered 6D00", "ja")
    assert preflight.startswith("事前確認（pre-flight）") and preflight.endswith(
        f"{ORIGINAL}：GET DATA answered 6D00"
    )


@pytest.mark.parametrize("sacrificial", [True, False])
def test_a_refusal_of_the_safety_policy_in_japanese(sacrificial: bool) -> None:
    policy = Policy(frozenset(), renewable=False, sacrificial=sacrificial)
    for effects in ({Effect.PIN_TRIES}, {Effect.PIN_TRIES, Effect.TERMINATE, Effect.KEY_SETS}, set(Effect)):
        reason = policy.decide(Cost(frozenset(effects)))
        assert reason is not None
        text = message_text(NOT_EXERCISED_PREFIX + reason, "ja")
        assert text == refusal_text(reason, "ja") and ORIGINAL not in text, text
        assert all(EFFECTS_JA[e] in text for e in effects)
        assert ("ixit.unit.allows" in text) is sacrificial and JAPANESE.search(text)
        assert refusal_text(reason, "en") == reason
    assert refusal_text("something else", "ja") == f"{ORIGINAL}：something else"  # not the policy's words
    assert set(EFFECTS_JA) == set(Effect)


def test_deviations_and_observations_of_a_japanese_report(tmp_path: Path) -> None:
    results = make_results(tmp_path / "run-ja")
    doc = build_report(results, catalogue=ISO, lang="ja")
    tests = {x["test"]: x for d in doc["deviations"] for x in d["tests"]}
    failing = tests["conformance.iso7816.test_select::test_select_absent_application"]
    assert failing["message_local"].startswith(f"{ORIGINAL}：AssertionError: SELECT answered 9000")
    md, page = to_markdown(doc), to_html(doc)
    [line] = [ln for ln in md.splitlines() if "test_select_absent_application: 不合格 — " in ln]
    assert line.count(ORIGINAL) == 1 and "AssertionError: SELECT answered 9000, expected 6A82" in line
    assert f"{ORIGINAL}：DeviceTimeout: no answer within 5 s" in md and f"{ORIGINAL}：DeviceTimeout" in page
    [observation] = [o for o in doc["observations"] if o["kind"] == "not exercised"]
    assert observation["text_local"] == f"{ORIGINAL}：costs a PIN try"  # not the policy's words: quoted
    english = build_report(results, catalogue=ISO, lang="en")
    assert all("message_local" not in x for d in english["deviations"] for x in d["tests"])
    assert "— AssertionError: SELECT answered 9000" in to_markdown(english)


def test_a_campaign_keeps_the_language_of_its_reasons(tmp_path: Path) -> None:
    profile = load_profile(SIM_AUTH)
    ja = report_of(profile, [], CATALOGUE, "x", "ja")
    assert all(JAPANESE.search(r["applicability_local"]) for r in ja["requirements"])
    from jpkikit.report.certreport import localise

    back = localise(ja, CATALOGUE, "en", profile)  # localised again (a campaign does so): no stale Japanese
    assert all("applicability_local" not in r for r in back["requirements"])


def test_the_allure_categories_in_the_run_language(sim_auth_run: Path, tmp_path: Path) -> None:
    en, ja = categories("en"), categories("ja")
    assert [c["name"] for c in en] == list(CATEGORY_NAMES.values())
    assert [c["name"] for c in ja] == list(CATEGORY_NAMES_JA.values())
    assert set(CATEGORY_NAMES_JA) == set(CATEGORY_NAMES) and all(
        JAPANESE.search(n) for n in CATEGORY_NAMES_JA.values()
    )
    for a, b in zip(en, ja, strict=True):  # only the names change
        assert {k: v for k, v in a.items() if k != "name"} == {k: v for k, v in b.items() if k != "name"}
    assert categories() == en
    written = json.loads(write_categories(tmp_path, "ja").read_text(encoding="utf-8"))
    assert written == ja
    run = json.loads((sim_auth_run / "allure-results" / "categories.json").read_text(encoding="utf-8"))
    assert run == ja  # certify --lang ja
    na = next(c for c in run if c["matchedStatuses"] == ["skipped"] and "ICS" in c["name"])
    assert na["name"] == CATEGORY_NAMES_JA[Verdict.NOT_APPLICABLE]


def test_the_requirements_page_in_japanese() -> None:
    page = requirements_page(ISO, "ja")
    assert (
        "<h1>jpkikit 要件カタログ</h1>" in page and "<b>適用条件</b>" in page and "<b>対象クラス</b>" in page
    )
    assert "Applies if" not in page and "Classes" not in page
    english = requirements_page(ISO, "en")
    assert "<h1>jpkikit requirement catalogue</h1>" in english and "<b>Applies if</b>" in english


def test_an_item_not_read_back_in_japanese() -> None:
    from jpkikit.harness.plugin import NOT_READ_BACK, UNREADABLE_AT_END
    from jpkikit.report.i18n import state_value_text

    lost = f"{NOT_READ_BACK}UnitUnreachable: {UNREACHABLE_PREFIX}conformance/x.py::t: card removed"
    text = state_value_text(lost, "ja")
    assert text.startswith("読み戻せませんでした。試験体は conformance/x.py::t 以降応答せず")
    assert text.endswith(f"最後のエラー（{ORIGINAL}）：card removed")
    gone = state_value_text(f"{UNREADABLE_AT_END}no reader", "ja")
    assert gone == f"試験終了時に試験体を読み出せませんでした。{ORIGINAL}：no reader"
    assert state_value_text(3, "ja") == "3" and state_value_text(lost, "en") == lost
    state = {"before": {"auth PIN tries left": 3}, "differences": [{"item": "x", "before": 3, "after": lost}]}
    doc = {"unit_state": state}
    from jpkikit.report.certreport import _unit_state_html, _unit_state_lines

    assert any("読み戻せませんでした" in line for line in _unit_state_lines(doc["unit_state"], "ja"))
    assert "読み戻せませんでした" in _unit_state_html(doc["unit_state"], "ja")
    assert any(lost in line for line in _unit_state_lines(doc["unit_state"], "en"))


@pytest.mark.slow
def test_the_allure_report_of_a_japanese_run_names_its_categories_in_japanese(
    sim_auth_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):  # the run's language, not the locale's
        monkeypatch.delenv(name, raising=False)

    from .test_allure_render import generate

    allure = REPO / "tools" / "allure" / "node_modules" / ".bin" / "allure"
    if not shutil.which("node") or not (allure.exists() or shutil.which("npm")):
        pytest.skip("node and Allure Report 3 are not installed (tools/setup.sh installs them)")
    out = tmp_path / "report"
    generate(sim_auth_run, out)
    widget = json.loads((out / "widgets" / "default" / "categories.json").read_text(encoding="utf-8"))
    names = {n.get("name") for n in widget["nodes"].values()}
    assert CATEGORY_NAMES_JA[Verdict.NOT_APPLICABLE] in names  # 175 tests skipped as not applicable
    assert not names & set(CATEGORY_NAMES.values())
    index = (out / "index.html").read_text(encoding="utf-8")
    assert re.search(r"<title>\s*jpkikit 適合性試験：jpkikit reference emulator", index)
    assert '"reportLanguage":"ja"' in index and "jpkikit certification" not in index
    page = (out / "requirements.html").read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "<h1>jpkikit 要件カタログ</h1>" in page


# -- the Allure report of a Japanese run: its name, Allure's words, the requirements page, the messages -----


def _allure_helper(*args: str, lang_env: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m jpkikit.report.allure ...`` with no locale set (or ``LANG=lang_env``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    if lang_env:
        env["LANG"] = lang_env
    return python_module("jpkikit.report.allure", *args, env=env, timeout=120)


def test_the_run_records_its_language_for_the_allure_step(sim_auth_run: Path) -> None:
    from jpkikit.harness.allure_results import LANG_PROPERTY
    from jpkikit.report.allure import recorded_lang
    from jpkikit.report.results import read_properties

    results = sim_auth_run / "allure-results"
    assert read_properties(results / "environment.properties")[LANG_PROPERTY] == "ja"
    assert recorded_lang(results) == "ja"


def test_the_allure_config_of_a_japanese_run_without_a_locale(sim_auth_run: Path, tmp_path: Path) -> None:
    results = sim_auth_run / "allure-results"
    args = ("config", str(results), str(tmp_path / "out"), str(tmp_path / "history.jsonl"))
    proc = _allure_helper(*args)
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert config["name"] == "jpkikit 適合性試験：jpkikit reference emulator (SIM, authentication only)"
    assert config["plugins"] == {"awesome": {"options": {"reportLanguage": "ja"}}}
    assert [c["name"] for c in config["categories"]] == list(CATEGORY_NAMES_JA.values())
    english = json.loads(_allure_helper(*args, "en").stdout)  # an explicit language still wins
    assert english["name"].startswith("jpkikit certification: ")
    assert english["plugins"]["awesome"]["options"]["reportLanguage"] == "en"


def test_the_requirements_page_of_a_japanese_run_without_a_locale(sim_auth_run: Path, tmp_path: Path) -> None:
    results = sim_auth_run / "allure-results"
    page = tmp_path / "requirements.html"
    assert _allure_helper("requirements", str(page), str(results)).returncode == 0
    assert '<html lang="ja">' in page.read_text(encoding="utf-8")
    assert "<h1>jpkikit 要件カタログ</h1>" in page.read_text(encoding="utf-8")
    assert _allure_helper("requirements", str(page), str(results), "en").returncode == 0
    assert "<h1>jpkikit requirement catalogue</h1>" in page.read_text(encoding="utf-8")
    assert _allure_helper("requirements", str(page), "ja").returncode == 0  # the older form
    assert "<h1>jpkikit 要件カタログ</h1>" in page.read_text(encoding="utf-8")
    assert _allure_helper("requirements", str(page)).returncode == 0  # no run, no locale: English
    assert "<h1>jpkikit requirement catalogue</h1>" in page.read_text(encoding="utf-8")
    assert _allure_helper("requirements", str(page), str(tmp_path / "missing")).returncode == 2


def test_the_run_language_wins_over_the_locale_and_merged_results_have_theirs(
    sim_auth_run: Path, tmp_path: Path
) -> None:
    from jpkikit.harness.allure_results import LANG_PROPERTY, write_categories
    from jpkikit.report.allure import allure_config, recorded_lang, run_lang

    english = tmp_path / "en"
    english.mkdir()
    (english / "environment.properties").write_text(f"implementation.name=x\n{LANG_PROPERTY}=en\n")
    proc = _allure_helper("config", str(english), str(tmp_path), str(tmp_path / "h"), lang_env="ja_JP.UTF-8")
    assert json.loads(proc.stdout)["name"] == "jpkikit certification: x"
    merged = tmp_path / "merged"  # jpkikit merge: no language line, categories in the campaign's language
    merged.mkdir()
    (merged / "environment.properties").write_text("implementation.name=campaign c (2 units)\n")
    write_categories(merged, "ja")
    assert recorded_lang(merged) == "ja"
    assert (
        allure_config(merged, tmp_path, tmp_path / "h")["name"] == "jpkikit 適合性試験：campaign c (2 units)"
    )
    assert recorded_lang(tmp_path / "nothing") is None
    assert run_lang(None, None) in ("ja", "en") and run_lang("en", merged) == "en"
    unnamed = allure_config(tmp_path / "nothing", tmp_path, tmp_path / "h", "ja")
    assert unnamed["name"] == "jpkikit 適合性試験：不明な実装"


def test_the_allure_messages_of_a_japanese_run(sim_auth_run: Path) -> None:
    from jpkikit.harness.allure_results import prefix

    messages = []
    for path in (sim_auth_run / "allure-results").glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        message = (result.get("statusDetails") or {}).get("message")
        if message:
            messages.append(message)
    assert len(messages) > 100  # the auth-only SIM: many tests not applicable
    na = prefix(Verdict.NOT_APPLICABLE)
    for message in messages:
        verdict, _, text = message.partition("] ")
        assert verdict.removeprefix("[") in {str(v) for v in Verdict}  # the key the categories match
        assert JAPANESE.search(text.split(ORIGINAL)[0]) or text.startswith(ORIGINAL), message
        assert not text.startswith((NOT_APPLICABLE_PREFIX, NOT_EXERCISED_PREFIX)), message
    worded = [m for m in messages if m.startswith(f"{na}対象外（ICS による）。") and ORIGINAL not in m]
    assert len(worded) > 100  # why, worded from the structure of the reasons, as in the report
    assert not any(ENGLISH_REASON.search(m) for m in worded)
    assert any("実装クラス 'sim' は要件の対象クラス（handset）に含まれません。" in m for m in worded)


def test_the_not_applicable_message_in_each_language() -> None:
    from jpkikit.harness.kit_phrases import not_applicable_text

    profile = load_profile(SIM_AUTH)
    reasons = [(r.id, CATALOGUE.applicability(r, profile)) for r in CATALOGUE]
    reasons = [(rid, a) for rid, a in reasons if not a.applicable][:3]
    english = not_applicable_text(reasons, "en")  # as the plugin's skip (and junit.xml) says it
    assert english == NOT_APPLICABLE_PREFIX + "; ".join(f"{rid}: {a.reason}" for rid, a in reasons)
    japanese = not_applicable_text(reasons, "ja")
    assert japanese == "対象外（ICS による）。" + "".join(
        f"{rid}：{applicability_text(a, 'ja')}" for rid, a in reasons
    )


def test_apply_verdicts_in_each_language(tmp_path: Path) -> None:
    from jpkikit.harness.allure_results import TEST_LABEL, apply_verdicts

    def result(nodeid: str, message: str) -> dict[str, Any]:
        return {"labels": [{"name": TEST_LABEL, "value": nodeid}], "statusDetails": {"message": message}}

    cases = {
        "a": (Verdict.NOT_APPLICABLE, "Skipped: not applicable: X-01: y"),
        "b": (Verdict.FAIL, "AssertionError: SELECT answered 9000"),
        "c": (Verdict.KIT_ERROR, ""),
    }
    for lang in ("en", "ja"):
        where = tmp_path / lang
        where.mkdir()
        for name, (_, message) in cases.items():
            (where / f"{name}-result.json").write_text(json.dumps(result(name, message)))
        assert apply_verdicts(where, {name: v for name, (v, _) in cases.items()}, lang) == 3
        got = {
            p.name[0]: json.loads(p.read_text())["statusDetails"]["message"]
            for p in where.glob("*-result.json")
        }
        if lang == "en":  # as before
            assert got == {
                "a": "[not applicable] not applicable: X-01: y",
                "b": "[fail] AssertionError: SELECT answered 9000",
                "c": "[kit error] kit error",
            }
        else:
            assert got == {
                "a": f"[not applicable] 対象外（ICS による）。理由（{ORIGINAL}）：X-01: y",
                "b": f"[fail] {ORIGINAL}：AssertionError: SELECT answered 9000",
                "c": f"[kit error] {CATEGORY_NAMES_JA[Verdict.KIT_ERROR]}",
            }
