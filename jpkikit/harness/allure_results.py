"""What the pytest plugin writes into Allure results: the kit's verdicts as Allure statuses and
categories, and links from a test to its requirement's text (the report layer renders that page,
jpkikit.report.allure). Each test's story and description carry its requirements' titles and statements
in the run's language (``jpkikit certify --lang ja|en``, the plugin's ``--report-lang``).

allure-pytest decides a result's status from the exception alone (an assertion fails, anything else is
broken), which is not the kit's verdict (jpkikit.harness.verdict: a bad R-MAC fails, a timeout is
inconclusive). So every test carries the label ``jpkikit-test`` (its node ID), and at the end of the run
the plugin rewrites each result: status from the verdict, message prefixed with ``[<verdict>]`` (the
verdict's key in both languages; the message after it in the run's language)::

    pass            passed
    fail            failed   "[fail] ..."            -> "Fail: the implementation contradicts the requirement"
    inconclusive    broken   "[inconclusive] ..."    -> "Inconclusive: the test could not decide"
    not applicable  skipped  "[not applicable] ..."  -> "Not applicable (ICS)"
    not exercised   skipped  "[not exercised] ..."   -> "Not exercised on this unit (safety)"
    kit error       broken   "[kit error] ..."       -> "Kit error"

Allure 2 and 3 both read ``categories.json`` from the results directory. The regexes are anchored and
mutually exclusive, because Allure 2 full-matches (Java) and Allure 3 searches (JavaScript) and puts a
result into the first matching category only. The category names are in the run's language
(:data:`CATEGORY_NAMES_JA` for ``ja``); the statuses and regexes are the same in both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jpkikit.harness.kit_phrases import message_text
from jpkikit.harness.verdict import Verdict

CATEGORIES_FILE = "categories.json"
#: The line of ``environment.properties`` that records the run's language (``ja`` or ``en``), for the
#: report step (jpkikit.report.allure: the report's name and the requirements page).
LANG_PROPERTY = "report.lang"
REQUIREMENTS_PAGE = "requirements.html"
#: Link to the requirement text, relative to the generated report's index.html (tools/allure-report.sh
#: writes the page next to it).
LINK_TEMPLATE = REQUIREMENTS_PAGE + "#{id}"
LINK_TYPE = "requirement"
#: The label that ties an Allure result to the test's node ID.
TEST_LABEL = "jpkikit-test"

STATUS = {
    Verdict.PASS: "passed",
    Verdict.FAIL: "failed",
    Verdict.INCONCLUSIVE: "broken",
    Verdict.NOT_APPLICABLE: "skipped",
    Verdict.NOT_EXERCISED: "skipped",
    Verdict.KIT_ERROR: "broken",
}
CATEGORY_NAMES = {
    Verdict.FAIL: "Fail: the implementation contradicts the requirement",
    Verdict.INCONCLUSIVE: "Inconclusive: the test could not decide (no answer, a precondition not met)",
    Verdict.NOT_APPLICABLE: "Not applicable (ICS)",
    Verdict.NOT_EXERCISED: "Not exercised on this unit (the profile does not allow what the test costs)",
    Verdict.KIT_ERROR: "Kit error: the kit itself broke (re-run; report to the kit maintainers)",
}
#: The category names of a Japanese run (the verdict names of jpkikit.report.i18n, docs/certification.md).
CATEGORY_NAMES_JA = {
    Verdict.FAIL: "不合格：実装が要件に反している",
    Verdict.INCONCLUSIVE: "判定不能：試験で判定できなかった（応答なし、前提条件が満たされない）",
    Verdict.NOT_APPLICABLE: "対象外（ICS）",
    Verdict.NOT_EXERCISED: "未実施：この試験体では試験による影響がプロファイルで許可されていない",
    Verdict.KIT_ERROR: "キット不具合：キット自体の不具合（再実行し、キットの保守担当者に報告してください）",
}


def prefix(verdict: Verdict) -> str:
    return f"[{verdict}] "


def categories(lang: str = "en") -> list[dict[str, Any]]:
    """Allure's categories of the kit's verdicts, named in ``lang`` (``ja`` or ``en``)."""
    names = CATEGORY_NAMES_JA if lang == "ja" else CATEGORY_NAMES
    return [
        {
            "name": name,
            "matchedStatuses": [STATUS[verdict]],
            "messageRegex": "^" + re.escape(prefix(verdict)) + r"[\s\S]*$",
        }
        for verdict, name in names.items()
    ]


def apply_verdicts(
    alluredir: Path,
    verdicts: Mapping[str, Verdict],
    lang: str = "en",
    worded: Mapping[str, str] | None = None,
) -> int:
    """Give every result of the run its kit verdict (status and message prefix); returns how many. The
    prefix is the verdict's key (the categories match it in both languages); in a Japanese run the message
    after it is the kit's own framing in Japanese, what the test said quoted as the original
    (jpkikit.harness.kit_phrases.message_text), or what the kit worded itself in the run's language
    (``worded``, by node ID: why a test is not applicable)."""
    names = CATEGORY_NAMES_JA if lang == "ja" else {}
    worded = worded or {}
    changed = 0
    for path in alluredir.glob("*-result.json"):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        nodeid = next(
            (lb.get("value") for lb in result.get("labels", []) if lb.get("name") == TEST_LABEL), None
        )
        verdict = verdicts.get(nodeid) if nodeid else None
        if verdict is None:
            continue
        result["status"] = STATUS[verdict]
        if verdict is not Verdict.PASS:
            details = result.setdefault("statusDetails", {})
            message = str(details.get("message") or "").removeprefix("Skipped: ")
            if nodeid in worded:
                text = worded[nodeid]
            else:
                text = message_text(message, lang) if message else names.get(verdict, str(verdict))
            details["message"] = prefix(verdict) + text
        path.write_text(json.dumps(result), encoding="utf-8")
        changed += 1
    return changed


def write_categories(alluredir: Path, lang: str = "en") -> Path:
    """Write ``categories.json`` (names in ``lang``) into an Allure results directory. The plugin calls this
    at session end, in the run's language."""
    alluredir.mkdir(parents=True, exist_ok=True)
    path = alluredir / CATEGORIES_FILE
    path.write_text(json.dumps(categories(lang), indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def requirement_story(requirement: Any, lang: str) -> str:
    """The Allure story of a requirement: its ID and its title in the run's language (``ja`` or ``en``)."""
    return f"{requirement.id} {requirement.title_in(lang)}"


def requirement_description(requirements: list[Any], lang: str) -> str:
    """The Allure description of a test: the statement of each of its requirements in the run's language."""
    return "\n\n".join(f"**{r.id}**: {r.statement_in(lang)}" for r in requirements)


def requirement_link(requirement_id: str) -> dict[str, str]:
    """Arguments of ``allure.dynamic.link`` for the link from a test to its requirement's text."""
    url = LINK_TEMPLATE.format(id=requirement_id)
    return {"url": url, "link_type": LINK_TYPE, "name": f"{requirement_id} (requirement text)"}
