"""The certification report: a conformance test report (after ISO/IEC 9646-5 / ETSI test report proformas)
built from a results directory and the profile — implementation identity, the claims (ICS), the verdict of
every requirement (with a chart per area), deviations with their decisive APDU exchanges and observations —
as Markdown, HTML, JSON or PDF (the same content), in Japanese or English (jpkikit.report.i18n). No absolute
path of the machine that made it appears in any of them (:func:`relative_paths`)."""

from __future__ import annotations

import datetime as dt
import html
import json
import sys
from pathlib import Path
from typing import Any

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.catalogue import Catalogue, load_catalogue
from jpkikit.harness.language import resolve_lang
from jpkikit.harness.profile import Profile, load_profile
from jpkikit.harness.unit_state import UNIT_STATE_FILE
from jpkikit.harness.verdict import NOT_EXERCISED_PREFIX, Verdict
from jpkikit.report.charts import area_chart, chart_file
from jpkikit.report.claims import claim_sections
from jpkikit.report.exchanges import decisive
from jpkikit.report.i18n import (
    applicability_text,
    certification_name,
    message_text,
    state_item_text,
    state_value_text,
    t,
    verdict_name,
)
from jpkikit.report.results import ResultsError, RunResults, read_results
from jpkikit.report.verdicts import (
    UNTESTED,
    WAIVED,
    Certification,
    TestOutcome,
    aggregate,
    applicable_ids,
    certification,
    rule_text,
)

FORMAT = "jpkikit-certification-report/1"
PROBE_FILE = "probe.json"
_DEVIATIONS = (str(Verdict.FAIL), str(Verdict.INCONCLUSIVE), str(Verdict.KIT_ERROR), UNTESTED)


def resolve_profile(results: RunResults, profile_path: str | Path | None) -> Profile:
    """The profile given, or the one the run recorded; its digest must match the run's."""
    recorded = results.environment.get("profile")
    path = profile_path or recorded
    if not path:
        raise ResultsError(f"{results.directory}: the run records no profile; give --profile")
    try:
        profile = load_profile(path)
    except KitError as exc:
        if profile_path:
            raise
        raise ResultsError(
            f"the profile the run recorded cannot be loaded ({exc}); give it with --profile"
        ) from None
    expected = results.environment.get("profile.sha256")
    if expected and profile.sha256 != expected:
        raise ResultsError(
            f"{path}: this profile (sha256 {profile.sha256[:16]}…) is not the one the run used "
            f"(sha256 {expected[:16]}… in {results.directory}); give the profile of that run with --profile"
        )
    return profile


def build_report(
    results_dir: str | Path,
    profile_path: str | Path | None = None,
    catalogue: Catalogue | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """The certification report of one results directory, in ``lang`` (default: the locale's,
    jpkikit.harness.language)."""
    results = read_results(results_dir)
    profile = resolve_profile(results, profile_path)
    where = results.directory.resolve().name
    lang = resolve_lang(lang, profile=profile)
    report = report_of(profile, results.outcomes, catalogue or load_catalogue(), where, lang)
    report["declared_vs_observed"] = _probe_findings(results.directory, profile)
    report["unit_state"] = read_unit_state(results.directory)
    attach_exchanges(report, [results])
    return relative_paths(report, [results.directory], profile)


def requirement_verdicts(
    profile: Profile, outcomes: list[TestOutcome], catalogue: Catalogue
) -> dict[str, str]:
    """Requirement ID -> verdict of ``outcomes`` for ``profile`` (one unit's column of a campaign)."""
    return {rv.id: rv.verdict for rv in aggregate(applicability_rows(profile, catalogue), outcomes)}


def applicability_rows(
    profile: Profile, catalogue: Catalogue
) -> list[tuple[str, str, bool, str, str | None]]:
    """Per requirement, in catalogue order: (id, title, applicable, reason, waiver), as aggregate takes
    them."""
    rows = []
    for req in catalogue:
        applies = catalogue.applicability(req, profile)
        rows.append((req.id, req.title, applies.applicable, applies.reason, req.waiver))
    return rows


def _localised_rule(requirements: list[dict[str, Any]], overall: str, rule: str, lang: str) -> str:
    """The rule of :func:`jpkikit.report.verdicts.certification` in ``lang``."""
    if lang == "en":
        return rule
    ids = applicable_ids((r["id"], r["verdict"]) for r in requirements if r["applicable"])
    return rule_text(Certification(overall), ids, lang)


def localise(
    report: dict[str, Any], catalogue: Catalogue, lang: str, profile: Profile | None = None
) -> dict[str, Any]:
    """Set the report's language and every localised field (``*_local``) from the catalogue's texts
    (``Requirement.title_in`` / ``statement_in``) and jpkikit.report.i18n; the English fields stay.

    In a report not in English, also each requirement's applicability reason (``applicability_local``,
    worded from the structure of the ICS facts of ``profile``) and each deviation's test message
    (``message_local``: the kit's framing in the language, the message itself quoted as the original); an
    English report has neither field, so it reads as it always did."""
    report["lang"] = lang
    cert = report["certification"]
    cert["verdict_local"] = certification_name(cert["verdict"], lang)
    cert["rule_local"] = _localised_rule(report["requirements"], cert["verdict"], cert["rule"], lang)
    english = lang == "en"
    for entry in report["requirements"]:
        req = catalogue.get(entry["id"])
        entry["title_local"], entry["statement_local"] = req.title_in(lang), req.statement_in(lang)
        entry.pop("applicability_local", None)
        if not english:
            applies = catalogue.applicability(req, profile) if profile is not None else None
            entry["applicability_local"] = (
                applicability_text(applies, lang) if applies is not None else entry["applicability"]
            )
    for entry in report["deviations"]:
        req = catalogue.get(entry["requirement"])
        entry["title_local"], entry["statement_local"] = req.title_in(lang), req.statement_in(lang)
        for test in entry["tests"]:
            test.pop("message_local", None)
            if not english:
                test["message_local"] = message_text(test["message"], lang)
    for o in report["observations"]:
        waiver = catalogue.get(o["requirement"]).waiver
        if o["kind"] == WAIVED:
            o["text_local"] = t("no_test_waiver", lang, waiver=waiver)
        elif english:
            o["text_local"] = o["text"]
        else:  # the not-exercised messages of the requirement's tests, joined by report_of
            messages = o["text"].split("; " + NOT_EXERCISED_PREFIX)
            messages = [messages[0], *(NOT_EXERCISED_PREFIX + m for m in messages[1:])]
            o["text_local"] = "".join(message_text(m, lang) for m in messages)
    return report


def report_of(
    profile: Profile, outcomes: list[TestOutcome], catalogue: Catalogue, where: str, lang: str = "en"
) -> dict[str, Any]:
    """The certification report of ``outcomes`` (one run's, or a campaign's combined) for ``profile``."""
    requirements = applicability_rows(profile, catalogue)
    by_id = {req.id: req for req in catalogue}
    known = set(catalogue.ids())
    unknown = sorted({r for o in outcomes for r in o.requirements} - known)
    if unknown:
        raise ResultsError(f"{where}: results name requirements this catalogue lacks: {', '.join(unknown)}")
    verdicts = aggregate(requirements, outcomes)
    overall, rule = certification(verdicts)
    counts: dict[str, int] = {}
    areas: dict[str, dict[str, int]] = {}
    for rv in verdicts:
        counts[rv.verdict] = counts.get(rv.verdict, 0) + 1
        area = areas.setdefault(by_id[rv.id].area, {})
        area[rv.verdict] = area.get(rv.verdict, 0) + 1
    deviations = [
        {
            "requirement": rv.id,
            "title": rv.title,
            "verdict": rv.verdict,
            "waiver": rv.waiver,
            "tests": [
                {"test": t.nodeid, "verdict": str(t.verdict), "message": t.message}
                for t in rv.tests
                if t.verdict not in (Verdict.PASS, Verdict.NOT_APPLICABLE)
            ],
        }
        for rv in verdicts
        if rv.applicable and rv.verdict in _DEVIATIONS
    ]
    observations = [
        {
            "kind": "waived",
            "requirement": rv.id,
            "text": f"no test ran; waiver: {rv.waiver}",
        }
        for rv in verdicts
        if rv.verdict == WAIVED
    ]
    for rv in verdicts:
        if rv.verdict == str(Verdict.NOT_EXERCISED):
            text = "; ".join(sorted({t.message for t in rv.tests if t.verdict is Verdict.NOT_EXERCISED}))
            observations.append({"kind": "not exercised", "requirement": rv.id, "text": text})
    report = {
        "format": FORMAT,
        "kind": "certification",
        "lang": lang,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kit_version": __version__,
        "results": where,
        "implementation": profile.identity(),
        "claims": profile.redacted()["ics"],
        "certification": {"verdict": str(overall), "rule": rule},
        "counts": counts,
        "areas": [{"area": area, "counts": c} for area, c in areas.items()],
        "requirements": [
            {
                "id": rv.id,
                "area": by_id[rv.id].area,
                "title": rv.title,
                "statement": by_id[rv.id].statement,
                "applicable": rv.applicable,
                "applicability": rv.applicability,
                "verdict": rv.verdict,
                "waiver": rv.waiver,
                "tests": [{"test": t.nodeid, "verdict": str(t.verdict)} for t in rv.tests],
            }
            for rv in verdicts
        ],
        "deviations": deviations,
        "declared_vs_observed": [],
        "observations": observations,
        "unit_state": None,
        "bundle": None,
    }
    return localise(report, catalogue, lang, profile)


def attach_exchanges(report: dict[str, Any], runs: list[RunResults]) -> None:
    """Give every failed or inconclusive test of the deviations its decisive APDU exchanges (the last of
    its redacted trace), from the run whose verdict of that test is the report's."""
    wanted = (str(Verdict.FAIL), str(Verdict.INCONCLUSIVE))
    for deviation in report["deviations"]:
        for test in deviation["tests"]:
            if test["verdict"] not in wanted:
                continue
            for run in runs:
                mine = [
                    o for o in run.outcomes if o.nodeid == test["test"] and str(o.verdict) == test["verdict"]
                ]
                if mine:
                    found = decisive(run.directory, test["test"])
                    if found is not None:
                        if len(runs) > 1:
                            found["trace"] = f"{run.directory.resolve().name}/{found['trace']}"
                        test["exchanges"] = found
                        break


def finish_campaign(
    report: dict[str, Any],
    runs: list[RunResults],
    profiles: list[Profile],
    catalogue: Catalogue,
    lang: str | None = None,
) -> dict[str, Any]:
    """The campaign's additions to a combined report: its language, each unit's verdict per requirement
    (the requirement x unit matrix), the decisive exchanges, and no path of the machine."""
    first = profiles[0] if profiles else None
    localise(report, catalogue, resolve_lang(lang, profile=first), first)
    report["kind"] = "campaign"
    report["results"] = " + ".join(run.directory.resolve().name for run in runs)
    for entry, run, profile in zip(report.get("campaign", []), runs, profiles, strict=False):
        entry["results"] = run.directory.resolve().name
        entry["verdicts"] = requirement_verdicts(profile, run.outcomes, catalogue)
    attach_exchanges(report, runs)
    return relative_paths(report, [run.directory for run in runs], *profiles)


def _roots(results_dirs: list[Path], profiles: tuple[Profile, ...]) -> list[tuple[str, str]]:
    """(absolute prefix, what replaces it), longest first: a results directory becomes its name, any other
    directory of the machine (the profile's, the working directory, the kit's, the home directory) goes."""
    import jpkikit

    pairs: dict[str, str] = {}
    others = [Path.cwd(), Path(jpkikit.__file__).resolve().parent.parent, Path.home(), Path(sys.prefix)]
    others += [Path(p.path).resolve().parent for p in profiles]
    for directory in others:
        text = str(directory)
        if len(Path(text).parts) > 1:
            pairs[text + "/"] = ""
    for directory in results_dirs:
        resolved = directory.resolve()
        pairs[str(resolved) + "/"] = ""
        pairs[str(resolved)] = resolved.name
        if directory.is_absolute() and str(directory) != str(resolved):
            pairs[str(directory) + "/"] = ""
            pairs[str(directory)] = directory.name
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def relative_paths(report: dict[str, Any], results_dirs: list[Path], *profiles: Profile) -> dict[str, Any]:
    """The report with no absolute path of this machine in any text: paths under a results directory
    become relative to it, the directory itself its name, the profile its path relative to the working
    directory (or its file name)."""
    roots = _roots(results_dirs, profiles)

    def strip(value: Any) -> Any:
        if isinstance(value, str):
            for prefix, replacement in roots:
                if prefix in value:
                    value = value.replace(prefix, replacement)
            return value
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    profile = Path(report["implementation"]["profile"])
    out = strip(report)
    if profile.is_absolute():
        out["implementation"]["profile"] = shown_path(profile)
    return out


def shown_path(path: Path) -> str:
    """A profile's path as the report shows it: relative to the working directory or the kit's checkout
    when under one of them, else its file name."""
    import jpkikit

    resolved = path.resolve()
    for base in (Path.cwd(), Path(jpkikit.__file__).resolve().parent.parent):
        if resolved.is_relative_to(base.resolve()):
            return resolved.relative_to(base.resolve()).as_posix()
    return path.name


def _probe_findings(directory: Path, profile: Profile) -> list[dict[str, str]]:
    probe_file = directory / PROBE_FILE
    if not probe_file.is_file():
        return []
    try:
        probe = json.loads(probe_file.read_text(encoding="utf-8"))
        findings = probe["findings"]
        if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
            raise TypeError("findings must be a list of objects")
        probed = probe["implementation"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ResultsError(f"{probe_file}: not a readable probe result: {exc}") from None
    if probed != profile.sha256:
        raise ResultsError(
            f"{probe_file}: probes another profile (sha256 {probed[:16]}…); re-run jpkikit probe"
        )
    return [
        {k: str(f.get(k, "")) for k in ("item", "status", "declared", "observed", "detail")} for f in findings
    ]


def read_unit_state(directory: Path) -> dict[str, Any] | None:
    """The unit's state at the start and end of the run and their differences (unit-state.json), if any."""
    path = directory / UNIT_STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state.get("differences"), list):
            raise TypeError("differences must be a list")
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ResultsError(f"{path}: not a readable unit state: {exc}") from None
    return state


# -- rendering ------------------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def _lang(report: dict[str, Any]) -> str:
    return report.get("lang") or "en"


def _ident_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    lang, ident = _lang(report), report["implementation"]
    rows = [
        (t("implementation", lang), f"{ident['name']} {ident['version']}"),
        (t("vendor", lang), ident["vendor"]),
        (t("class", lang), ident["class"]),
        (t("profile", lang), f"{ident['profile']} (sha256 {ident['sha256']})"),
        (t("test_kit", lang), f"jpkikit {report['kit_version']}"),
        (t("results", lang), report["results"]),
        (t("generated", lang), report["generated"]),
        (t("language", lang), t("lang_name", lang)),
    ]
    bundle = report.get("bundle")
    if bundle:
        note = t("bundle_note", lang)
        rows += [
            (t("bundle", lang), f"{bundle['file']}: {bundle['bundle_id']} ({note})"),
            (t("signer", lang), bundle["key_id"]),
        ]
    return rows


def _title(report: dict[str, Any]) -> str:
    key = "campaign_title" if report.get("kind") == "campaign" else "title"
    return f"{t(key, _lang(report))}: {report['implementation']['name']}"


def _counts_line(report: dict[str, Any]) -> str:
    lang = _lang(report)
    return ", ".join(f"{verdict_name(v, lang)} {n}" for v, n in sorted(report["counts"].items()))


def _tests_cell(tests: list[dict[str, Any]], lang: str) -> list[str]:
    return [f"{x['test']}: {verdict_name(x['verdict'], lang)}" for x in tests]


def _local_message(test: dict[str, Any], limit: int = 300) -> str:
    """A deviation's test message in a report not in English (``message_local``), cut as the English one is
    (its first ``limit`` characters), the Japanese framing not counted."""
    local: str = test["message_local"]
    return local[: limit + max(0, len(local) - len(test["message"]))]


def _matrix(report: dict[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """The campaign's requirement x unit matrix: heads and rows (applicable requirements only)."""
    units = report.get("campaign") or []
    if not units or not all("verdicts" in u for u in units):
        return None
    lang = _lang(report)
    heads = [t("requirement", lang)]
    for u in units:
        kind = t("sacrificial" if u.get("sacrificial") else "ordinary", lang)
        heads.append(f"{u['results']} ({kind})")
    heads.append(t("combined", lang))
    rows = []
    for r in report["requirements"]:
        if not r["applicable"]:
            continue
        rows.append(
            [r["id"]]
            + [verdict_name(u["verdicts"].get(r["id"], UNTESTED), lang) for u in units]
            + [verdict_name(r["verdict"], lang)]
        )
    return heads, rows


def _unit_kind(run: dict[str, Any], lang: str) -> str:
    return t("sacrificial" if run.get("sacrificial") else "ordinary", lang)


def to_markdown(report: dict[str, Any]) -> str:
    lang = _lang(report)
    cert = report["certification"]
    stem = report.get("kind", "certification")
    lines = [
        f"# {_title(report)}",
        "",
        f"**{t('certification_verdict', lang)}: {cert['verdict_local']}** — {cert['rule_local']}",
        "",
        f"## {t('s_identification', lang)}",
        "",
        "| | |",
        "|---|---|",
        *(f"| {_cell(k)} | {_cell(v)} |" for k, v in _ident_rows(report)),
        "",
        f"## {t('s_claims', lang)}",
    ]
    for section in claim_sections(report["claims"], lang):
        lines += ["", f"### `{section.area}`", ""]
        if section.rows:
            lines += [f"| {t('claim', lang)} | {t('value', lang)} |", "|---|---|"]
            lines += [f"| `{section.area}.{k}` | {_cell(v)} |" for k, v in section.rows]
        for table in section.tables:
            lines += ["", f"**{_cell(table.caption)}**", ""]
            lines += ["| " + " | ".join(_cell(c) for c in table.columns) + " |"]
            lines += ["|" + "---|" * len(table.columns)]
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    lines += [
        "",
        f"## {t('s_verdicts', lang)}",
        "",
        _counts_line(report),
        "",
        f"### {t('s_charts', lang)}",
        "",
    ]
    for area in report.get("areas", []):
        lines.append(f"![{area['area']}]({chart_file(stem, area['area'])})")
    lines += [
        "",
        f"| {t('requirement', lang)} | {t('title_col', lang)} | {t('verdict', lang)} | {t('tests', lang)} "
        f"| {t('applicability', lang)} |",
        "|---|---|---|---|---|",
    ]
    for r in report["requirements"]:
        tests = "<br>".join(_cell(x) for x in _tests_cell(r["tests"], lang)) or "—"
        cells = (
            r["id"],
            _cell(r["title_local"]),
            f"**{verdict_name(r['verdict'], lang)}**",
            tests,
            _cell(r.get("applicability_local", r["applicability"])),
        )
        lines.append("| " + " | ".join(cells) + " |")
    matrix = _matrix(report)
    if matrix:
        heads, rows = matrix
        lines += ["", f"### {t('s_matrix', lang)}", "", t("matrix_note", lang), ""]
        lines += ["| " + " | ".join(_cell(h) for h in heads) + " |", "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    lines += ["", f"## {t('s_deviations', lang)}", ""]
    if not report["deviations"]:
        lines.append(t("none", lang))
    for d in report["deviations"]:
        lines.append(
            f"- **{d['requirement']}** {_cell(d['title_local'])}: {verdict_name(d['verdict'], lang)}"
        )
        lines.append(f"  - {t('statement', lang)}: {_cell(d['statement_local'])}")
        for x in d["tests"]:
            verdict = verdict_name(x["verdict"], lang)
            shown = _cell(x["message"])[:300] if "message_local" not in x else _cell(_local_message(x))
            lines.append(f"  - {x['test']}: {verdict} — {shown}")
            found = x.get("exchanges")
            if found:
                caption = t("decisive", lang, n=found["shown"], file=found["trace"])
                lines += ["", f"    {caption}:", "", "    ```"]
                lines += ["    " + part for ln in found["lines"] for part in ln.split("\n")]
                lines += ["    ```", ""]
        if d["waiver"]:
            lines.append(f"  - {t('waiver_available', lang)}: {_cell(d['waiver'])}")
    lines += ["", f"## {t('s_probe', lang)}", ""]
    if not report["declared_vs_observed"]:
        lines.append(t("not_probed", lang))
    else:
        heads = [t(k, lang) for k in ("item", "status", "declared", "observed", "detail")]
        lines += ["| " + " | ".join(heads) + " |", "|---|---|---|---|---|"]
        for f in report["declared_vs_observed"]:
            cells = (f["item"], f"**{f['status']}**", f["declared"], f["observed"], f["detail"])
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", f"## {t('s_observations', lang)}", ""]
    if not report["observations"]:
        lines.append(t("none", lang))
    for o in report["observations"]:
        text = o.get("text_local", o["text"])
        lines.append(f"- {verdict_name(o['kind'], lang)}: {o['requirement']}: {_cell(text)}")
    lines += ["", f"## {t('s_unit_state', lang)}", ""]
    lines += _unit_state_lines(report.get("unit_state"), lang)
    for run in report.get("campaign", []):
        heading = t("unit_of", lang, results=run["results"], kind=_unit_kind(run, lang))
        lines += ["", f"### {_cell(heading)}", ""]
        lines += _unit_state_lines(run.get("unit_state"), lang)
    return "\n".join(lines) + "\n"


def _unit_state_lines(state: dict[str, Any] | None, lang: str = "en") -> list[str]:
    if state is None:
        return [t("not_read_back", lang)]
    differences = state.get("differences", [])
    if not differences:
        return [t("left_as_found", lang, n=len(state.get("before") or {}))]
    lines = [
        f"**{t('not_left_as_found', lang)}**",
        "",
        f"| {t('item', lang)} | {t('at_start', lang)} | {t('at_end', lang)} |",
        "|---|---|---|",
    ]
    for d in differences:
        item, before = state_item_text(d["item"], lang), state_value_text(d["before"], lang)
        after = state_value_text(d["after"], lang)
        lines.append(f"| {_cell(item)} | {_cell(before)} | {_cell(after)} |")
    return lines


def _unit_state_html(state: dict[str, Any] | None, lang: str) -> str:
    e = html.escape
    if state is None:
        return f"<p>{e(t('not_read_back', lang))}</p>"
    differences = state.get("differences", [])
    if not differences:
        return f"<p>{e(t('left_as_found', lang, n=len(state.get('before') or {})))}</p>"
    heads = "".join(f"<th>{e(t(k, lang))}</th>" for k in ("item", "at_start", "at_end"))
    rows = "".join(
        f"<tr><td>{e(state_item_text(d['item'], lang))}</td><td>{e(state_value_text(d['before'], lang))}</td>"
        f"<td>{e(state_value_text(d['after'], lang))}</td></tr>"
        for d in differences
    )
    return f"<p><b>{e(t('not_left_as_found', lang))}</b></p><table><tr>{heads}</tr>{rows}</table>"


CSS = (
    "body{font-family:'Noto Sans CJK JP','Noto Sans',sans-serif;max-width:72em;margin:auto;line-height:1.4}"
    "table{border-collapse:collapse;margin:.4em 0}"
    "td,th{border:1px solid #bbb;padding:.15em .45em;vertical-align:top;text-align:left}"
    "th{background:#f0f0f0}code,pre{font-family:'Noto Sans Mono CJK JP','DejaVu Sans Mono',monospace}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:.4em;white-space:pre-wrap;overflow-wrap:anywhere}"
    ".id{white-space:nowrap}.tests{overflow-wrap:anywhere;font-size:.85em}"
    ".pass{color:#1b5e20}.fail,.kit-error,.untested{color:#b71c1c}.inconclusive{color:#e65100}"
    ".not-exercised{color:#4527a0}.not-applicable{color:#616161}"
    ".verdict{font-size:1.15em;border:2px solid #333;padding:.3em .6em;display:inline-block}"
    ".charts svg{display:inline-block;margin:.3em 1em .6em 0;vertical-align:top}"
)
PRINT_CSS = (
    "@page{size:A4;margin:16mm 13mm 18mm 13mm;"
    "@bottom-right{content:counter(page) ' / ' counter(pages);font:8pt 'Noto Sans CJK JP',sans-serif;"
    "color:#555}@bottom-left{content:string(doctitle);font:8pt 'Noto Sans CJK JP',sans-serif;color:#555}}"
    "body{max-width:none;font-size:8.5pt}h1{string-set:doctitle content();font-size:15pt}"
    "h2{font-size:12pt;break-after:avoid}h3{font-size:10pt;break-after:avoid}"
    "tr,pre,svg{break-inside:avoid}thead{display:table-header-group}"
    "table{table-layout:fixed;width:100%}td,th{overflow-wrap:anywhere}.id{white-space:nowrap;font-size:.78em}"
    ".charts svg{display:inline-block;width:8.7cm;height:auto;margin:0 .3cm .2cm 0;vertical-align:top}"
)


def _colgroup(widths: list[int] | None) -> str:
    """Column widths in per cent: the PDF lays tables out fixed (fast, and long hex strings wrap)."""
    return (
        "<colgroup>" + "".join(f"<col style='width:{w}%'>" for w in widths) + "</colgroup>" if widths else ""
    )


def _table(
    heads: list[str],
    rows: list[list[str]],
    classes: list[str] | None = None,
    widths: list[int] | None = None,
) -> str:
    e = html.escape
    cls = classes or [""] * len(heads)
    head = "".join(f"<th>{e(h)}</th>" for h in heads)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{f' class={chr(39)}{c}{chr(39)}' if c else ''}>{e(v).replace(chr(10), '<br>')}</td>"
            for v, c in zip(row, cls, strict=False)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{_colgroup(widths)}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: dict[str, Any], for_print: bool = False) -> str:
    """The Markdown report's content as a standalone HTML page (``for_print``: the page CSS of the PDF,
    jpkikit.report.pdf)."""
    e = html.escape
    lang = _lang(report)
    cert = report["certification"]
    ident = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in _ident_rows(report))
    claims = []
    for section in claim_sections(report["claims"], lang):
        claims.append(f"<h3><code>{e(section.area)}</code></h3>")
        if section.rows:
            rows = [[f"{section.area}.{k}", v] for k, v in section.rows]
            claims.append(_table([t("claim", lang), t("value", lang)], rows, ["claim", ""], [45, 55]))
        for table in section.tables:
            widths = [22, 30, 13, 23, 12] if len(table.columns) == 5 and section.area != "ics" else None
            caption = f"<p><b>{e(table.caption)}</b></p>"
            claims.append(caption + _table(table.columns, table.rows, widths=widths))
    charts = "".join(
        area_chart(a["area"], a["counts"], lang).removesuffix("\n") for a in report.get("areas", [])
    )
    rows = "".join(
        f"<tr><td class='id' id='{e(r['id'])}'>{e(r['id'])}</td><td>{e(r['title_local'])}</td>"
        f"<td class='{e(r['verdict'].replace(' ', '-'))}'><b>{e(verdict_name(r['verdict'], lang))}</b></td>"
        f"<td class='tests'>{'<br>'.join(e(x) for x in _tests_cell(r['tests'], lang)) or '—'}</td>"
        f"<td class='tests'>{e(r.get('applicability_local', r['applicability']))}</td></tr>"
        for r in report["requirements"]
    )
    heads = "".join(
        f"<th>{e(t(k, lang))}</th>" for k in ("requirement", "title_col", "verdict", "tests", "applicability")
    )
    matrix = _matrix(report)
    matrix_html = ""
    if matrix:
        mheads, mrows = matrix
        matrix_html = f"<h3>{e(t('s_matrix', lang))}</h3><p>{e(t('matrix_note', lang))}</p>" + _table(
            mheads, mrows, ["id"] + [""] * (len(mheads) - 1)
        )
    devs = []
    for d in report["deviations"]:
        items = [f"<li>{e(t('statement', lang))}: {e(d['statement_local'])}</li>"]
        for x in d["tests"]:
            shown = e(x["message"][:300]) if "message_local" not in x else e(_local_message(x))
            item = f"<li>{e(x['test'])}: {e(verdict_name(x['verdict'], lang))} — {shown}"
            found = x.get("exchanges")
            if found:
                caption = t("decisive", lang, n=found["shown"], file=found["trace"])
                item += f"<br>{e(caption)}:<pre>{e(chr(10).join(found['lines']))}</pre>"
            items.append(item + "</li>")
        if d["waiver"]:
            items.append(f"<li>{e(t('waiver_available', lang))}: {e(d['waiver'])}</li>")
        devs.append(
            f"<li><b>{e(d['requirement'])}</b> {e(d['title_local'])}: "
            f"<span class='{e(d['verdict'].replace(' ', '-'))}'>{e(verdict_name(d['verdict'], lang))}</span>"
            f"<ul>{''.join(items)}</ul></li>"
        )
    obs = "".join(
        f"<li>{e(verdict_name(o['kind'], lang))}: {e(o['requirement'])}: "
        f"{e(o.get('text_local', o['text']))}</li>"
        for o in report["observations"]
    )
    keys = ("item", "status", "declared", "observed", "detail")
    probe = (
        _table([t(k, lang) for k in keys], [[f[k] for k in keys] for f in report["declared_vs_observed"]])
        if report["declared_vs_observed"]
        else f"<p>{e(t('not_probed', lang))}</p>"
    )
    units = _unit_state_html(report.get("unit_state"), lang)
    for run in report.get("campaign", []):
        heading = t("unit_of", lang, results=run["results"], kind=_unit_kind(run, lang))
        units += f"<h3>{e(heading)}</h3>" + _unit_state_html(run.get("unit_state"), lang)
    style = CSS + (PRINT_CSS if for_print else "")
    none = f"<p>{e(t('none', lang))}</p>"
    verdict_class = cert["verdict"].lower().replace(" ", "-")
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{e(_title(report))}</title>"
        f"<style>{style}</style></head><body><h1>{e(_title(report))}</h1>"
        f"<p class='verdict {verdict_class}'><b>{e(t('certification_verdict', lang))}: "
        f"{e(cert['verdict_local'])}</b></p><p>{e(cert['rule_local'])}</p>"
        f"<h2>{e(t('s_identification', lang))}</h2><table>{_colgroup([28, 72])}{ident}</table>"
        f"<h2>{e(t('s_claims', lang))}</h2>{''.join(claims)}"
        f"<h2>{e(t('s_verdicts', lang))}</h2><p>{e(_counts_line(report))}</p>"
        f"<h3>{e(t('s_charts', lang))}</h3><div class='charts'>{charts}</div>"
        f"<table>{_colgroup([16, 27, 9, 28, 20])}<thead><tr>{heads}</tr></thead><tbody>{rows}</tbody>"
        f"</table>{matrix_html}"
        f"<h2>{e(t('s_deviations', lang))}</h2>{'<ul>' + ''.join(devs) + '</ul>' if devs else none}"
        f"<h2>{e(t('s_probe', lang))}</h2>{probe}"
        f"<h2>{e(t('s_observations', lang))}</h2>{'<ul>' + obs + '</ul>' if obs else none}"
        f"<h2>{e(t('s_unit_state', lang))}</h2>{units}</body></html>\n"
    )


def summary_line(report: dict[str, Any]) -> str:
    """One line: the implementation, its certification verdict and the rule that gave it (a CI log's line)."""
    cert = report["certification"]
    verdict = cert.get("verdict_local", cert["verdict"])
    return f"{report['implementation']['name']}: {verdict}: {cert.get('rule_local', cert['rule'])}\n"


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    if fmt == "summary":
        return summary_line(report)
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    raise KitError(f"unknown report format {fmt!r}; expected md, html, json or summary")


FORMATS = ("md", "html", "json", "pdf")


def write_reports(
    report: dict[str, Any], out_dir: Path, stem: str = "certification", formats: tuple[str, ...] = FORMATS
) -> list[Path]:
    """``stem``.md/.html/.json/.pdf and the charts (``charts/<stem>-<area>.svg``) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    lang = _lang(report)
    for area in report.get("areas", []):
        path = out_dir / chart_file(stem, area["area"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(area_chart(area["area"], area["counts"], lang), encoding="utf-8")
        written.append(path)
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "pdf":
            from jpkikit.report.pdf import to_pdf

            path.write_bytes(to_pdf(to_html(report, for_print=True)))
        else:
            path.write_text(render(report, fmt), encoding="utf-8")
        written.append(path)
    return written
