"""Allure integration on the report side: the requirements page the tests' links point to, and the
configuration of the Allure report generator. The categories and links themselves are written during the
run (jpkikit.harness.allure_results).

How allure-pytest records each verdict (status, and the message it keeps), and the category that picks it::

    pass            passed
    fail            failed   "AssertionError: ..."                          -> "Fail: requirement not met"
    inconclusive    broken   "jpkikit.errors.DeviceTimeout: ..." (a transport, APDU or TLV error)
                    skipped  "Skipped: <reason>" (a skip without an applicability reason)
                                                                            -> "Inconclusive"
    not applicable  skipped  "Skipped: not applicable: <reason from the ICS>" -> "Not applicable (ICS)"
    kit error       broken   any other exception; failed "Failed: ..." (pytest.fail) -> "Kit error"

Allure 2 and 3 both read ``categories.json`` from the results directory. Regexes are anchored and mutually
exclusive, because Allure 2 full-matches (Java) and Allure 3 searches (JavaScript) and puts a result into
the first matching category only. The category names are in the run's language (``jpkikit certify --lang``:
jpkikit.harness.allure_results.CATEGORY_NAMES_JA for ``ja``); the statuses and regexes do not change.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from jpkikit.harness.allure_results import (
    CATEGORIES_FILE,
    CATEGORY_NAMES,
    CATEGORY_NAMES_JA,
    LANG_PROPERTY,
    categories,
)
from jpkikit.harness.language import LANGS, resolve_lang
from jpkikit.report.i18n import t
from jpkikit.report.results import ENVIRONMENT, read_properties

#: The fixed words of the requirements page, per language.
PAGE_WORDS = {
    "en": {"title": "jpkikit requirement catalogue", "applies": "Applies if", "classes": "Classes",
           "waiver": "Waiver"},
    "ja": {"title": "jpkikit 要件カタログ", "applies": "適用条件", "classes": "対象クラス",
           "waiver": "免除事由"},
}  # fmt: skip


def requirements_page(catalogue: Any, lang: str = "en") -> str:
    """A standalone HTML page with every requirement, one anchor per ID, in ``lang`` (``ja``: the Japanese
    title and statement, the English ones under them)."""
    words = PAGE_WORDS["ja" if lang == "ja" else "en"]
    rows = []
    for req in catalogue:
        other = ""
        if lang == "ja" and req.title_ja:
            other = (
                f"<p lang='en' class='en'><b>{html.escape(req.title)}</b><br>{html.escape(req.statement)}</p>"
            )
        sources = "".join(f"<li>{html.escape(s.citation)}</li>" for s in req.source)
        cond = (
            f"<p><b>{words['applies']}</b> <code>{html.escape(req.applies_if.text)}</code></p>"
            if req.applies_if
            else ""
        )
        waiver = f"<p><b>{words['waiver']}</b>: {html.escape(req.waiver)}</p>" if req.waiver else ""
        rows.append(
            f'<section id="{html.escape(req.id)}">'
            f"<h2>{html.escape(req.id)} {html.escape(req.title_in(lang))}</h2>"
            f"<p>{html.escape(req.statement_in(lang))}</p>{other}"
            f"<p><b>{words['classes']}</b>: {html.escape(', '.join(req.classes))}</p>"
            f"{cond}<ul>{sources}</ul>{waiver}</section>"
        )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{words['title']}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}section{border-bottom:1px solid #ccc}"
        ".en{color:#555;font-size:.9em}"
        f":target{{background:#ffd}}</style></head><body><h1>{words['title']}</h1>"
        + "".join(rows)
        + "</body></html>\n"
    )


def recorded_lang(results: Path) -> str | None:
    """The language a run's Allure results were written in: the ``report.lang`` line of its
    ``environment.properties`` (jpkikit certify), else the language its categories are named in (results
    merged by ``jpkikit merge`` record no language line); None when neither says."""
    env_file = results / ENVIRONMENT
    if env_file.is_file():
        lang = read_properties(env_file).get(LANG_PROPERTY)
        if lang in LANGS:
            return lang
    cats_file = results / CATEGORIES_FILE
    try:
        names = {c.get("name") for c in json.loads(cats_file.read_text(encoding="utf-8"))}
    except (OSError, ValueError, AttributeError):
        return None
    for lang, known in (("ja", CATEGORY_NAMES_JA), ("en", CATEGORY_NAMES)):
        if names and names <= set(known.values()):
            return lang
    return None


def run_lang(given: str | None, results: Path | None) -> str:
    """The language of the Allure report of ``results``: ``given`` (checked), else the run's
    (:func:`recorded_lang`), else the locale's (jpkikit.harness.language)."""
    if given:
        return resolve_lang(given)
    recorded = recorded_lang(results) if results is not None else None
    return recorded or resolve_lang(None)


def allure_config(results: Path, out: Path, history: Path, lang: str | None = None) -> dict[str, Any]:
    """The Allure 3 configuration tools/allure-report.sh generates with: report name from the run's
    implementation, in ``lang`` (default: the run's language, :func:`run_lang`), Allure's own words in that
    language too (the awesome report's ``reportLanguage``), history kept across runs, and the verdict
    categories (Allure 3 takes them from the configuration; ``categories.json`` in the results is for
    Allure 2): those the run wrote, in its language, else the kit's, named in ``lang``."""
    lang = run_lang(lang, results)
    env_file = results / ENVIRONMENT
    env = read_properties(env_file) if env_file.is_file() else {}
    name = env.get("implementation.name")
    if name is None:
        name = t("allure_unknown_implementation", lang)
    cats_file = results / CATEGORIES_FILE
    if cats_file.is_file():
        cats = json.loads(cats_file.read_text(encoding="utf-8"))
    else:
        cats = categories(lang)
    return {
        "name": t("allure_name", lang, name=name),
        "output": str(out),
        "historyPath": str(history),
        "categories": cats,
        "plugins": {"awesome": {"options": {"reportLanguage": lang}}},
    }


def main(argv: list[str] | None = None) -> int:
    """Helpers of tools/allure-report.sh::

    python -m jpkikit.report.allure requirements OUT.html [RESULTS_DIR] [ja|en]
    python -m jpkikit.report.allure config RESULTS_DIR OUT_DIR HISTORY_FILE [ja|en]   (JSON on stdout)

    The language, when not given: the run's (RESULTS_DIR's, jpkikit certify --lang), else the locale's.
    """
    import sys

    from jpkikit.harness.catalogue import load_catalogue

    args = sys.argv[1:] if argv is None else argv
    if 2 <= len(args) <= 4 and args[0] == "requirements":
        rest = args[2:]
        given = rest.pop() if rest and rest[-1] in LANGS else None
        if len(rest) > 1 or (len(rest) == 1 and not Path(rest[0]).is_dir()):
            print(main.__doc__, file=sys.stderr)
            return 2
        lang = run_lang(given, Path(rest[0]) if rest else None)
        Path(args[1]).write_text(requirements_page(load_catalogue(), lang), encoding="utf-8")
        return 0
    if len(args) in (4, 5) and args[0] == "config":
        lang = args[4] if len(args) == 5 else None
        print(json.dumps(allure_config(Path(args[1]), Path(args[2]), Path(args[3]), lang), indent=1))
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
