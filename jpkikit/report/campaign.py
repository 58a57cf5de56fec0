"""A campaign: the runs of one model of implementation on several units, combined into one certification.

A vendor certifies a model on an ordinary unit, where the tests that cannot be undone are not exercised,
and on a sacrificial unit of the same model, which suffers them. The campaign's verdict per requirement
follows jpkikit.report.verdicts.combine: a test not exercised in one run counts as the run that exercised
it found, and a failure on any unit fails it. The runs must be of the same implementation (name, vendor,
version, class), claim the same things (the same ICS) and come from this kit's version.

A campaign of several models (``jpkikit merge``, jpkikit.report.merge) combines the units of each model
this way and adds a requirement x unit matrix (:func:`matrix`): each unit's own verdict per requirement.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jpkikit.harness.catalogue import Catalogue, load_catalogue
from jpkikit.harness.profile import Profile
from jpkikit.report.certreport import (
    finish_campaign,
    read_unit_state,
    report_of,
    requirement_verdicts,
    resolve_profile,
)
from jpkikit.report.results import ResultsError, RunResults, read_results
from jpkikit.report.verdicts import combine

SAME = ("name", "vendor", "version", "class")


def model_key(profile: Profile) -> tuple[str, ...]:
    """What makes two units units of one model: the implementation's name, vendor, version and class."""
    identity = profile.identity()
    return tuple(identity[key] for key in SAME)


def check_one_model(runs: Sequence[RunResults], profiles: Sequence[Profile]) -> None:
    """Refuse runs that are not of one model or that claim other things (ICS) than the first."""
    first = profiles[0]
    for run, profile in zip(runs[1:], profiles[1:], strict=True):
        for key in SAME:
            if profile.identity()[key] != first.identity()[key]:
                raise ResultsError(
                    f"{run.directory}: implementation {key} {profile.identity()[key]!r} is not "
                    f"{first.identity()[key]!r}: a campaign combines units of one model"
                )
        if profile.redacted()["ics"] != first.redacted()["ics"]:
            raise ResultsError(
                f"{run.directory}: its profile claims other things (ICS) than {runs[0].directory}"
            )


def combine_model(
    runs: Sequence[RunResults], profiles: Sequence[Profile], catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """The certification report of the runs of one model (one run or several), with the runs listed."""
    check_one_model(runs, profiles)
    outcomes = combine(run.outcomes for run in runs)
    where = " + ".join(str(r.directory) for r in runs)
    report = report_of(profiles[0], outcomes, catalogue or load_catalogue(), where)
    report["campaign"] = [
        {
            "results": str(run.directory),
            "profile": profile.identity()["profile"],
            "sha256": profile.sha256,
            "sacrificial": bool(profile.ixit.unit and profile.ixit.unit.sacrificial),
            "unit_state": read_unit_state(run.directory),
        }
        for run, profile in zip(runs, profiles, strict=True)
    ]
    return report


def build_campaign(directories: list[str | Path], lang: str | None = None) -> dict[str, Any]:
    if len(directories) < 2:
        raise ResultsError("a campaign combines at least two results directories")
    runs = [read_results(d) for d in directories]
    profiles = [resolve_profile(run, None) for run in runs]
    catalogue = load_catalogue()
    # in the report's language, each unit's verdicts (the matrix), decisive exchanges, no machine paths
    return finish_campaign(combine_model(runs, profiles, catalogue), runs, profiles, catalogue, lang)


def matrix(
    units: Sequence[tuple[str, Profile, RunResults]],
    catalogue: Catalogue,
    combined: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The requirement x unit table: ``{units: [name...], rows: [{requirement, title, outcomes: {unit:
    verdict}, combined: {model: verdict}}]}``, every requirement of the catalogue in its order.
    ``combined`` (model -> requirement -> verdict) adds each model's combined verdict to the rows."""
    per_unit = {name: requirement_verdicts(profile, run.outcomes, catalogue) for name, profile, run in units}
    rows = []
    for req in catalogue:
        row: dict[str, Any] = {
            "requirement": req.id,
            "title": req.title,
            "outcomes": {name: per_unit[name][req.id] for name, _, _ in units},
        }
        if combined is not None:
            row["combined"] = {model: verdicts[req.id] for model, verdicts in combined.items()}
        rows.append(row)
    return {"units": [name for name, _, _ in units], "rows": rows}
