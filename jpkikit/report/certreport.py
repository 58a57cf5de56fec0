"""The certification report: a conformance test report (after ISO/IEC 9646-5 / ETSI test report proformas)
built from a results directory and the profile — implementation identity, the claims (ICS), the verdict of
every requirement, deviations and observations — as Markdown, HTML or JSON (the same content)."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.catalogue import Catalogue, load_catalogue
from jpkikit.harness.profile import Profile, load_profile
from jpkikit.harness.unit_state import UNIT_STATE_FILE
from jpkikit.harness.verdict import Verdict
from jpkikit.report.results import ResultsError, RunResults, read_results
from jpkikit.report.verdicts import UNTESTED, WAIVED, TestOutcome, aggregate, certification

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
    results_dir: str | Path, profile_path: str | Path | None = None, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    results = read_results(results_dir)
    profile = resolve_profile(results, profile_path)
    report = report_of(profile, results.outcomes, catalogue or load_catalogue(), str(results.directory))
    report["declared_vs_observed"] = _probe_findings(results.directory, profile)
    report["unit_state"] = read_unit_state(results.directory)
    return report


def report_of(
    profile: Profile, outcomes: list[TestOutcome], catalogue: Catalogue, where: str
) -> dict[str, Any]:
    """The certification report of ``outcomes`` (one run's, or a campaign's combined) for ``profile``."""
    requirements = []
    for req in catalogue:
        applies = catalogue.applicability(req, profile)
        requirements.append((req.id, req.title, applies.applicable, applies.reason, req.waiver))
    known = set(catalogue.ids())
    unknown = sorted({r for o in outcomes for r in o.requirements} - known)
    if unknown:
        raise ResultsError(f"{where}: results name requirements this catalogue lacks: {', '.join(unknown)}")
    verdicts = aggregate(requirements, outcomes)
    overall, rule = certification(verdicts)
    counts: dict[str, int] = {}
    for rv in verdicts:
        counts[rv.verdict] = counts.get(rv.verdict, 0) + 1
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
        {"kind": "waived", "requirement": rv.id, "text": f"no test ran; waiver: {rv.waiver}"}
        for rv in verdicts
        if rv.verdict == WAIVED
    ]
    observations += [
        {
            "kind": "not exercised",
            "requirement": rv.id,
            "text": "; ".join(sorted({t.message for t in rv.tests if t.verdict is Verdict.NOT_EXERCISED})),
        }
        for rv in verdicts
        if rv.verdict == str(Verdict.NOT_EXERCISED)
    ]
    return {
        "format": FORMAT,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kit_version": __version__,
        "results": where,
        "implementation": profile.identity(),
        "claims": profile.redacted()["ics"],
        "certification": {"verdict": str(overall), "rule": rule},
        "counts": counts,
        "requirements": [
            {
                "id": rv.id,
                "title": rv.title,
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
    }


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


def _claims_lines(claims: Any, prefix: str = "ics") -> list[tuple[str, str]]:
    if isinstance(claims, dict):
        out: list[tuple[str, str]] = []
        for key, value in claims.items():
            out += _claims_lines(value, f"{prefix}.{key}")
        return out
    if isinstance(claims, list):
        return [(prefix, ", ".join(str(v) for v in claims))]
    return [(prefix, str(claims))]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    ident = report["implementation"]
    cert = report["certification"]
    lines = [
        f"# Conformance test report: {ident['name']}",
        "",
        f"**Certification verdict: {cert['verdict']}** — {cert['rule']}",
        "",
        "## 1. Identification",
        "",
        "| | |",
        "|---|---|",
        f"| Implementation | {_cell(ident['name'])} {_cell(ident['version'])} |",
        f"| Vendor | {_cell(ident['vendor'])} |",
        f"| Class | {_cell(ident['class'])} |",
        f"| Profile | {_cell(ident['profile'])} (sha256 {ident['sha256']}) |",
        f"| Test kit | jpkikit {report['kit_version']} |",
        f"| Results | {_cell(report['results'])} |",
        f"| Generated | {report['generated']} |",
        "",
        "## 2. Implementation conformance statement (claims)",
        "",
        "| Claim | Value |",
        "|---|---|",
        *(f"| `{k}` | {_cell(v)} |" for k, v in _claims_lines(report["claims"])),
        "",
        "## 3. Verdicts per requirement",
        "",
        ", ".join(f"{n} {v}" for v, n in sorted(report["counts"].items())),
        "",
        "| Requirement | Title | Verdict | Tests | Applicability |",
        "|---|---|---|---|---|",
    ]
    for r in report["requirements"]:
        tests = "<br>".join(f"{_cell(t['test'])}: {t['verdict']}" for t in r["tests"]) or "—"
        cells = (r["id"], _cell(r["title"]), f"**{r['verdict']}**", tests, _cell(r["applicability"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## 4. Deviations", ""]
    if not report["deviations"]:
        lines.append("None.")
    for d in report["deviations"]:
        lines.append(f"- **{d['requirement']}** {_cell(d['title'])}: {d['verdict']}")
        for t in d["tests"]:
            lines.append(f"  - {t['test']}: {t['verdict']} — {_cell(t['message'])[:300]}")
        if d["waiver"]:
            lines.append(f"  - waiver available at acceptance: {_cell(d['waiver'])}")
    lines += ["", "## 5. Declared versus observed (jpkikit probe)", ""]
    if not report["declared_vs_observed"]:
        lines.append("Not probed (run jpkikit probe --results RESULTS_DIR).")
    else:
        lines += ["| Item | Status | Declared | Observed | Detail |", "|---|---|---|---|---|"]
        for f in report["declared_vs_observed"]:
            cells = (f["item"], f"**{f['status']}**", f["declared"], f["observed"], f["detail"])
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "## 6. Observations", ""]
    if not report["observations"]:
        lines.append("None.")
    for o in report["observations"]:
        rest = {k: v for k, v in o.items() if k != "kind"}
        lines.append(f"- {o['kind']}: " + "; ".join(f"{k}: {_cell(v)}" for k, v in rest.items()))
    lines += ["", "## 7. The unit as found and as left", ""]
    lines += _unit_state_lines(report.get("unit_state"))
    for run in report.get("campaign", []):
        lines += ["", f"### Unit of {_cell(run['results'])} (sacrificial: {run['sacrificial']})", ""]
        lines += _unit_state_lines(run.get("unit_state"))
    return "\n".join(lines) + "\n"


def _unit_state_lines(state: dict[str, Any] | None) -> list[str]:
    if state is None:
        return ["Not read back (the run did not reach the unit over APDUs)."]
    differences = state.get("differences", [])
    if not differences:
        return [
            f"Left as found: the {len(state.get('before') or {})} items read back at the start read the same."
        ]
    lines = ["**Not left as found:**", "", "| Item | At the start | At the end |", "|---|---|---|"]
    for d in differences:
        lines.append(f"| {_cell(d['item'])} | {_cell(d['before'])} | {_cell(d['after'])} |")
    return lines


def to_html(report: dict[str, Any]) -> str:
    """The Markdown report's content as a standalone HTML page."""
    e = html.escape
    ident, cert = report["implementation"], report["certification"]
    css = (
        "body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}"
        ".pass{color:#060}.fail,.kit-error{color:#b00}.inconclusive,.untested{color:#a60}"
    )
    rows = "".join(
        f"<tr><td id='{e(r['id'])}'>{e(r['id'])}</td><td>{e(r['title'])}</td>"
        f"<td class='{e(r['verdict'].replace(' ', '-'))}'><b>{e(r['verdict'])}</b></td>"
        f"<td>{'<br>'.join(e(t['test'] + ': ' + t['verdict']) for t in r['tests']) or '—'}</td>"
        f"<td>{e(r['applicability'])}</td></tr>"
        for r in report["requirements"]
    )
    claims = "".join(
        f"<tr><td><code>{e(k)}</code></td><td>{e(v)}</td></tr>" for k, v in _claims_lines(report["claims"])
    )
    devs = "".join(
        f"<li><b>{e(d['requirement'])}</b> {e(d['title'])}: {e(d['verdict'])}<ul>"
        + "".join(f"<li>{e(t['test'])}: {e(t['verdict'])} — {e(t['message'][:300])}</li>" for t in d["tests"])
        + (f"<li>waiver available at acceptance: {e(d['waiver'])}</li>" if d["waiver"] else "")
        + "</ul></li>"
        for d in report["deviations"]
    )
    obs = "".join(
        "<li>"
        + e(o["kind"])
        + ": "
        + e("; ".join(f"{k}: {v}" for k, v in o.items() if k != "kind"))
        + "</li>"
        for o in report["observations"]
    )
    probe = (
        "<table><tr><th>Item</th><th>Status</th><th>Declared</th><th>Observed</th><th>Detail</th></tr>"
        + "".join(
            "<tr>"
            + "".join(f"<td>{e(f[k])}</td>" for k in ("item", "status", "declared", "observed", "detail"))
            + "</tr>"
            for f in report["declared_vs_observed"]
        )
        + "</table>"
        if report["declared_vs_observed"]
        else "<p>Not probed.</p>"
    )
    unit_lines = _unit_state_lines(report.get("unit_state"))
    for run in report.get("campaign", []):
        unit_lines += ["", f"Unit of {run['results']} (sacrificial: {run['sacrificial']})"]
        unit_lines += _unit_state_lines(run.get("unit_state"))
    ident_rows = "".join(
        f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>"
        for k, v in (
            ("Implementation", f"{ident['name']} {ident['version']}"),
            ("Vendor", ident["vendor"]),
            ("Class", ident["class"]),
            ("Profile", f"{ident['profile']} (sha256 {ident['sha256']})"),
            ("Test kit", f"jpkikit {report['kit_version']}"),
            ("Results", report["results"]),
            ("Generated", report["generated"]),
        )
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Conformance test report: {e(ident['name'])}"
        f"</title><style>{css}</style></head><body><h1>Conformance test report: {e(ident['name'])}</h1>"
        f"<p><b>Certification verdict: {e(cert['verdict'])}</b> — {e(cert['rule'])}</p>"
        f"<h2>1. Identification</h2><table>{ident_rows}</table>"
        f"<h2>2. Implementation conformance statement (claims)</h2><table>{claims}</table>"
        f"<h2>3. Verdicts per requirement</h2><table><tr><th>Requirement</th><th>Title</th><th>Verdict</th>"
        f"<th>Tests</th><th>Applicability</th></tr>{rows}</table>"
        f"<h2>4. Deviations</h2>{'<ul>' + devs + '</ul>' if devs else '<p>None.</p>'}"
        f"<h2>5. Declared versus observed (jpkikit probe)</h2>{probe}"
        f"<h2>6. Observations</h2>{'<ul>' + obs + '</ul>' if obs else '<p>None.</p>'}"
        f"<h2>7. The unit as found and as left</h2><pre>{e(chr(10).join(unit_lines))}</pre></body></html>\n"
    )


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    raise KitError(f"unknown report format {fmt!r}; expected md, html or json")


def write_reports(report: dict[str, Any], out_dir: Path, stem: str = "certification") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("md", "html", "json"):
        path = out_dir / f"{stem}.{fmt}"
        path.write_text(render(report, fmt), encoding="utf-8")
        written.append(path)
    return written
