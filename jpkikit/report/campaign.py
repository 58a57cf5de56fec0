"""A campaign: the runs of one model of implementation on several units, combined into one certification.

A vendor certifies a model on an ordinary unit, where the tests that cannot be undone are not exercised,
and on a sacrificial unit of the same model, which suffers them. The campaign's verdict per requirement
follows jpkikit.report.verdicts.combine: a test not exercised in one run counts as the run that exercised
it found, and a failure on any unit fails it. The runs must be of the same implementation (name, vendor,
version, class), claim the same things (the same ICS) and come from this kit's version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jpkikit.harness.catalogue import load_catalogue
from jpkikit.report.certreport import read_unit_state, report_of, resolve_profile
from jpkikit.report.results import ResultsError, read_results
from jpkikit.report.verdicts import combine

SAME = ("name", "vendor", "version", "class")


def build_campaign(directories: list[str | Path]) -> dict[str, Any]:
    if len(directories) < 2:
        raise ResultsError("a campaign combines at least two results directories")
    runs = [read_results(d) for d in directories]
    profiles = [resolve_profile(run, None) for run in runs]
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
    outcomes = combine(run.outcomes for run in runs)
    report = report_of(first, outcomes, load_catalogue(), " + ".join(str(r.directory) for r in runs))
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
