"""A campaign merged across hosts: a campaign file lists the units (name, profile, host, role, where its
results are); ``jpkikit merge`` reads every unit's results directory, whatever host made it, and writes one
campaign (docs/ci-matrix.md)::

    OUT/campaign.json            the campaign report: per model the combined certification, per unit its
                                 own verdict, and the requirement x unit matrix
    OUT/campaign.md              the same, as Markdown
    OUT/models/<model>/          the certification report of each model (certification.{md,html,json,pdf})
    OUT/allure-results/          one Allure results directory of every unit (labels parentSuite and host
                                 keep the units apart; history IDs are made per unit)
    OUT/units/<unit>/            a copy of each unit's results (what the signed bundle holds)
    OUT/campaign.yaml            the campaign file merged
    OUT/profile-paths.json       where this host holds each unit's profile (for the bundle; the reports
                                 show no absolute path of the machine)

A results directory that is missing, was written by another kit version, ran another profile than the
campaign file names or on a unit of another role than it says is refused with one clear message.
``jpkikit bundle OUT`` then signs the whole campaign (:func:`campaign_members`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.allure_results import CATEGORIES_FILE, LANG_PROPERTY, write_categories
from jpkikit.harness.bundled import profile_path
from jpkikit.harness.catalogue import Catalogue, load_catalogue
from jpkikit.harness.profile import Profile, load_profile, parse_yaml
from jpkikit.report.campaign import combine_model, matrix, model_key
from jpkikit.report.certreport import finish_campaign, report_of, shown_path, write_reports
from jpkikit.report.results import ENVIRONMENT, RunResults, read_results
from jpkikit.report.verdicts import Certification
from jpkikit.secrets import find_leaks

CAMPAIGN_SCHEMA = "jpkikit-campaign/1"
REPORT_FORMAT = "jpkikit-campaign-report/1"
MERGED = "campaign.json"
PROFILE_PATHS = "profile-paths.json"  # where merge found each unit's profile on this host (for the bundle)
ROLES = ("normal", "sacrificial")
#: Worst first, as jpkikit.report.verdicts decides a profile's certification.
_ORDER = tuple(Certification)


class CampaignError(KitError):
    """A campaign file is invalid, or a unit's results do not belong to the campaign."""


@dataclass(frozen=True)
class CampaignUnit:
    name: str
    profile: str
    host: str
    role: str
    results: str


@dataclass(frozen=True)
class Campaign:
    path: Path
    name: str
    description: str
    units: tuple[CampaignUnit, ...]
    sha256: str

    def profile_path(self, unit: CampaignUnit) -> Path:
        """The unit's profile: a path relative to the campaign file, else a bundled profile by name."""
        given = Path(unit.profile)
        local = given if given.is_absolute() else self.path.parent / given
        path = local if local.is_file() else profile_path(unit.profile)
        if not path.is_file():
            raise CampaignError(
                f"{self.path}: unit {unit.name}: profile {unit.profile!r} is neither a file (relative to the "
                "campaign file) nor a bundled profile"
            )
        return path


@dataclass(frozen=True)
class UnitRun:
    unit: CampaignUnit
    profile: Profile
    run: RunResults

    @property
    def sacrificial(self) -> bool:
        return bool(self.profile.ixit.unit and self.profile.ixit.unit.sacrificial)


# -- the campaign file --------------------------------------------------------------------------------


def _schema() -> dict[str, Any]:
    text = files("jpkikit.harness").joinpath("campaign.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _where(path: Sequence[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "<document>"


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file (jpkikit/harness/campaign.schema.json). Raises CampaignError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read the campaign file: {exc.strerror or exc}") from None

    def fail(where: str, problem: str) -> CampaignError:
        return CampaignError(f"{path}: {where}: {problem}")

    try:
        document = parse_yaml(raw.decode("utf-8"), fail)
    except UnicodeDecodeError:
        raise fail("<document>", "not UTF-8 text") from None
    errors = sorted(
        jsonschema.Draft202012Validator(_schema()).iter_errors(document),
        key=lambda e: (len(e.absolute_path), _where(list(e.absolute_path))),
    )
    if errors:
        first = errors[0]
        raise fail(
            _where(list(first.absolute_path)), f"{first.message} (jpkikit/harness/campaign.schema.json)"
        )
    units = tuple(CampaignUnit(**u) for u in document["units"])
    for attr in ("name", "results"):
        seen: set[str] = set()
        for index, unit in enumerate(units):
            value = getattr(unit, attr)
            if value in seen:
                raise fail(f"units[{index}].{attr}", f"{value!r} names two units; each unit has its own")
            seen.add(value)
    return Campaign(
        path,
        document["name"],
        document.get("description", ""),
        units,
        hashlib.sha256(raw).hexdigest(),
    )


# -- reading the units' results --------------------------------------------------------------------------


def read_unit(campaign: Campaign, unit: CampaignUnit, root: Path) -> UnitRun:
    directory = root / unit.results
    if not directory.is_dir():
        raise CampaignError(
            f"unit {unit.name} (host {unit.host}): its results directory {directory} is missing; copy the "
            f"results that jpkikit certify wrote on {unit.host} there (or give --root)"
        )
    try:
        run = read_results(directory)  # refuses results of another kit version
    except KitError as exc:
        raise CampaignError(f"unit {unit.name}: {exc}") from None
    profile = load_profile(campaign.profile_path(unit))
    recorded = run.environment.get("profile", "?")
    digest = run.environment.get("profile.sha256", "")
    if digest != profile.sha256:
        raise CampaignError(
            f"unit {unit.name}: {directory} holds a run of profile {Path(recorded).name} (sha256 "
            f"{digest[:16]}…), not of {unit.profile} (sha256 {profile.sha256[:16]}…) as {campaign.path} says"
        )
    unit_run = UnitRun(unit, profile, run)
    if unit_run.sacrificial != (unit.role == "sacrificial"):
        said = "sacrificial: true" if unit_run.sacrificial else "sacrificial: false"
        raise CampaignError(
            f"unit {unit.name}: the campaign file says role {unit.role}, but its profile {unit.profile} says "
            f"ixit.unit.{said}"
        )
    return unit_run


def read_units(campaign: Campaign, root: Path | None = None) -> list[UnitRun]:
    base = root if root is not None else campaign.path.parent
    return [read_unit(campaign, unit, base) for unit in campaign.units]


def recorded_host(run: RunResults) -> str:
    """The host name pytest wrote into the run's junit.xml (where the run really ran)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(run.directory / "junit.xml").getroot()
    except (OSError, ET.ParseError):
        return ""
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    return suite.get("hostname", "") if suite is not None else ""


# -- the campaign report -------------------------------------------------------------------------------


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "._-" else "-" for c in text.lower())
    return "-".join(part for part in out.split("-") if part) or "model"


def worst_certification(verdicts: Sequence[str]) -> str:
    return str(next((c for c in _ORDER if str(c) in verdicts), Certification.PASS))


def build_merged(
    campaign: Campaign, units: Sequence[UnitRun], catalogue: Catalogue | None = None, lang: str | None = None
) -> dict[str, Any]:
    """The campaign report (a dict; ``campaign.json``): models, units, and the requirement x unit matrix."""
    catalogue = catalogue or load_catalogue()
    groups: dict[tuple[str, ...], list[UnitRun]] = {}
    for unit_run in units:
        groups.setdefault(model_key(unit_run.profile), []).append(unit_run)
    models = []
    combined: dict[str, dict[str, str]] = {}
    slugs: dict[tuple[str, ...], str] = {}
    for key, group in groups.items():
        slug = _slug(f"{key[0]} {key[2]}")
        while slug in combined:
            slug += "-2"
        slugs[key] = slug
        runs, profiles = [u.run for u in group], [u.profile for u in group]
        # as jpkikit campaign reports a model: its language, each unit's verdicts, no path of this machine
        report = finish_campaign(combine_model(runs, profiles, catalogue), runs, profiles, catalogue, lang)
        for entry, unit_run in zip(report["campaign"], group, strict=True):
            entry.update(unit=unit_run.unit.name, host=unit_run.unit.host, role=unit_run.unit.role)
        names = [u.unit.name for u in group]
        report["matrix"] = matrix([(u.unit.name, u.profile, u.run) for u in group], catalogue)
        combined[slug] = {r["id"]: r["verdict"] for r in report["requirements"]}
        identity = {k: v for k, v in report["implementation"].items() if k not in ("profile", "sha256")}
        models.append(
            {
                "model": slug,
                "implementation": identity,
                "units": names,
                "certification": report["certification"],
                "counts": report["counts"],
                "report": report,
            }
        )
    unit_rows = []
    for unit_run in units:
        alone = report_of(unit_run.profile, unit_run.run.outcomes, catalogue, str(unit_run.run.directory))
        unit_rows.append(
            {
                "name": unit_run.unit.name,
                "host": unit_run.unit.host,
                "recorded_host": recorded_host(unit_run.run),
                "role": unit_run.unit.role,
                "model": slugs[model_key(unit_run.profile)],
                "implementation": unit_run.profile.identity()["name"],
                "profile": unit_run.unit.profile,
                "profile_path": str(unit_run.profile.path.resolve()),
                "sha256": unit_run.profile.sha256,
                "results": unit_run.unit.results,
                "certification": alone["certification"],
                "counts": alone["counts"],
                "tests": len(unit_run.run.outcomes),
            }
        )
    verdict = worst_certification([m["certification"]["verdict"] for m in models])
    rule = "; ".join(f"{m['model']}: {m['certification']['verdict']}" for m in models)
    return {
        "format": REPORT_FORMAT,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kit_version": __version__,
        "campaign": {
            "name": campaign.name,
            "description": campaign.description,
            "file": str(campaign.path),
            "sha256": campaign.sha256,
        },
        "certification": {"verdict": verdict, "rule": rule},
        "models": models,
        "units": unit_rows,
        "matrix": matrix([(u.unit.name, u.profile, u.run) for u in units], catalogue, combined),
    }


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(merged: dict[str, Any]) -> str:
    """A plain Markdown view of the campaign report (the models' own reports are in models/)."""
    camp = merged["campaign"]
    cert = merged["certification"]
    lines = [
        f"# Campaign: {camp['name']}",
        "",
        f"**Campaign verdict: {cert['verdict']}** — {cert['rule']}",
        "",
        f"jpkikit {merged['kit_version']}, generated {merged['generated']}, "
        f"campaign file sha256 {camp['sha256']}",
        "",
        "## Models",
        "",
        "| Model | Implementation | Units | Verdict | Rule |",
        "|---|---|---|---|---|",
    ]
    for model in merged["models"]:
        ident = model["implementation"]
        name = f"{_cell(ident['name'])} {_cell(ident['version'])} ({_cell(ident['class'])})"
        lines.append(
            f"| {model['model']} | {name} "
            f"| {', '.join(model['units'])} | {model['certification']['verdict']} "
            f"| {_cell(model['certification']['rule'])} |"
        )
    lines += ["", "## Units", "", "| Unit | Host | Role | Profile | Verdict alone |", "|---|---|---|---|---|"]
    for unit in merged["units"]:
        host = unit["host"] + (f" (ran on {unit['recorded_host']})" if unit["recorded_host"] else "")
        lines.append(
            f"| {unit['name']} | {_cell(host)} | {unit['role']} | {_cell(unit['profile'])} "
            f"| {unit['certification']['verdict']} |"
        )
    names = merged["matrix"]["units"]
    lines += ["", "## Requirements x units", "", "| Requirement | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---|" * len(names))
    for row in merged["matrix"]["rows"]:
        cells = " | ".join(row["outcomes"][n] for n in names)
        lines.append(f"| {row['requirement']} | {cells} |")
    return "\n".join(lines) + "\n"


# -- Allure: one results directory of every unit -------------------------------------------------------


def _unit_id(unit: str, value: str | None) -> str | None:
    return hashlib.md5(f"{unit}\n{value}".encode()).hexdigest() if value else value


def _relabel(result: dict[str, Any], unit: CampaignUnit) -> dict[str, Any]:
    labels = result.get("labels", [])
    old = {lb.get("name"): lb.get("value") for lb in labels}
    suite = ".".join(str(v) for v in (old.get("parentSuite"), old.get("suite")) if v)
    kept = [lb for lb in labels if lb.get("name") not in ("host", "parentSuite", "suite", "unit", "role")]
    kept += [
        {"name": "parentSuite", "value": unit.name},
        {"name": "host", "value": unit.host},
        {"name": "unit", "value": unit.name},
        {"name": "role", "value": unit.role},
    ]
    if suite:
        kept.append({"name": "suite", "value": suite})
    result["labels"] = kept
    # Allure takes results with one history ID for retries of one test: one ID per unit keeps the units apart
    result["historyId"] = _unit_id(unit.name, result.get("historyId"))
    result["testCaseId"] = _unit_id(unit.name, result.get("testCaseId"))
    return result


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").encode("unicode_escape").decode("ascii")


def merge_allure(campaign: Campaign, units: Sequence[UnitRun], out: Path, lang: str = "en") -> int:
    """Write one Allure results directory of every unit into ``out`` (category names in ``lang``); returns
    the number of test results."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    count = 0
    for unit_run in units:
        source = unit_run.run.directory / "allure-results"
        for path in sorted(source.iterdir()):
            if not path.is_file() or path.name in (ENVIRONMENT, CATEGORIES_FILE):
                continue
            target = out / path.name
            if target.exists():
                raise CampaignError(
                    f"unit {unit_run.unit.name}: Allure file {path.name} is in two units' results"
                )
            if path.name.endswith("-result.json"):
                result = _relabel(json.loads(path.read_text(encoding="utf-8")), unit_run.unit)
                target.write_text(json.dumps(result), encoding="utf-8")
                count += 1
            else:
                shutil.copyfile(path, target)
    env = {
        "campaign": campaign.name,
        "implementation.name": f"campaign {campaign.name} ({len(units)} units)",
        "kit.version": __version__,
        "units": ", ".join(u.unit.name for u in units),
        LANG_PROPERTY: lang,
    }
    for unit_run in units:
        prefix = f"unit.{unit_run.unit.name}"
        env[f"{prefix}.implementation"] = unit_run.profile.identity()["name"]
        env[f"{prefix}.host"] = unit_run.unit.host
        env[f"{prefix}.role"] = unit_run.unit.role
        env[f"{prefix}.profile.sha256"] = unit_run.profile.sha256
    text = "".join(f"{k}={_escape(v)}\n" for k, v in env.items())
    (out / ENVIRONMENT).write_text(text, encoding="utf-8")
    write_categories(out, lang)
    return count


# -- the whole merge -----------------------------------------------------------------------------------

_COPY_IGNORE = shutil.ignore_patterns("allure-report", "*.partial", "*.tar")


@dataclass(frozen=True)
class Merged:
    out: Path
    report: dict[str, Any]
    allure_results: int


def merge(
    campaign_path: str | Path, out: str | Path, root: str | Path | None = None, lang: str | None = None
) -> Merged:
    """Read, check and merge every unit of the campaign into ``out`` (see the module docstring)."""
    campaign = load_campaign(campaign_path)
    units = read_units(campaign, Path(root) if root is not None else None)
    out = Path(out)
    for unit_run in units:
        unit_dir = unit_run.run.directory.resolve()
        if out.resolve() == unit_dir or unit_dir in out.resolve().parents:
            raise CampaignError(
                f"-o {out}: is inside the results of unit {unit_run.unit.name}; merge elsewhere"
            )
    report = build_merged(campaign, units, lang=lang)
    out.mkdir(parents=True, exist_ok=True)
    # no absolute path of this machine in the report: profiles and the campaign file as the report shows
    # a profile (relative to the working directory or the kit), the paths the bundle needs kept aside
    where = {row["name"]: row["profile_path"] for row in report["units"]}
    (out / PROFILE_PATHS).write_text(json.dumps(where, indent=1) + "\n", encoding="utf-8")
    for row in report["units"]:
        row["profile_path"] = shown_path(Path(row["profile_path"]))
    report["campaign"]["file"] = shown_path(Path(report["campaign"]["file"]))
    for owned in ("units", "models"):
        if (out / owned).exists():
            shutil.rmtree(out / owned)
    for unit_run in units:
        shutil.copytree(unit_run.run.directory, out / "units" / unit_run.unit.name, ignore=_COPY_IGNORE)
    shown_lang = next((m["report"].get("lang") for m in report["models"]), None) or "en"  # as resolved
    count = merge_allure(campaign, units, out / "allure-results", shown_lang)
    for model in report["models"]:
        write_reports(model["report"], out / "models" / model["model"])
    shutil.copyfile(campaign.path, out / "campaign.yaml")
    (out / MERGED).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "campaign.md").write_text(to_markdown(report), encoding="utf-8")
    return Merged(out, report, count)


# -- the signed bundle of a merged campaign ---------------------------------------------------------------


def is_merged(directory: str | Path) -> bool:
    """Whether ``directory`` is the output of ``jpkikit merge`` (rather than one unit's results)."""
    path = Path(directory) / MERGED
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == REPORT_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def campaign_members(directory: str | Path, vectors: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The members of the evidence bundle of a merged campaign, and its report. Each unit's results go in
    as ``units/<unit>/...`` exactly as a one-unit bundle holds them (jpkikit.report.bundle.collect_members,
    which refuses any secret of that unit's profile); the campaign's own files are searched for the
    secrets of every unit's profile."""
    from jpkikit.report.bundle import BundleError, collect_members
    from jpkikit.report.certreport import resolve_profile

    root = Path(directory)
    report = json.loads((root / MERGED).read_text(encoding="utf-8"))
    where = json.loads((root / PROFILE_PATHS).read_text()) if (root / PROFILE_PATHS).is_file() else {}
    members: dict[str, bytes] = {}
    secrets: dict[str, str] = {}
    for unit in report["units"]:
        unit_dir = root / "units" / unit["name"]
        run = read_results(unit_dir)
        kept = where.get(unit["name"])  # the profile merge loaded on this host (merge)
        path = kept if kept and Path(kept).is_file() else None
        profile = resolve_profile(run, path)  # the digest must be the one the run used
        for name, data in collect_members(unit_dir, profile, vectors).items():
            if name.startswith("results/") or name == "profile.json":
                members[f"units/{unit['name']}/{name}"] = data
            else:
                members[name] = data  # the catalogue and kit.json: the same for every unit
        for extra in ("unit-state.json", "ledger.json"):
            if (unit_dir / extra).is_file():
                members[f"units/{unit['name']}/results/{extra}"] = (unit_dir / extra).read_bytes()
        secrets.update({s.reveal(): n for n, s in profile.ixit.secrets.items()})
    own = [root / "campaign.json", root / "campaign.md", root / "campaign.yaml"]
    own += sorted((root / "models").rglob("*")) + sorted((root / "allure-results").glob("*"))
    own += [root / "allure-history.jsonl"]
    for path in own:
        if path.is_file():
            name = path.relative_to(root).as_posix()
            data = path.read_bytes()
            leaked = find_leaks(data.decode("utf-8", "replace"), secrets)
            if leaked:
                raise BundleError(
                    f"{root}: {name} contains the value of secret {leaked[0]!r}; refusing to bundle it "
                    "(secrets must never leave the lab)"
                )
            members[name] = data
    return members, report
