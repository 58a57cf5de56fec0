"""``jpkikit merge CAMPAIGN.yaml [--root DIR] -o OUT``: the results of a campaign's units, made on any
number of hosts, merged into one campaign (jpkikit.report.merge; docs/ci-matrix.md), and the evidence
bundle of a merged campaign (``jpkikit bundle OUT``)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "merge",
        help="merge the results of a campaign's units (any number of hosts) into one campaign report, "
        "Allure results and bundle",
    )
    p.add_argument("campaign", help="campaign file (YAML; jpkikit/harness/campaign.schema.json)")
    p.add_argument(
        "--root",
        help="where the units' results directories are (each unit's `results`, relative to this; default: "
        "the campaign file's directory)",
    )
    p.add_argument("-o", "--out", required=True, help="directory of the merged campaign")
    p.add_argument("--format", choices=("md", "json"), help="also print the campaign report (md or json)")
    p.add_argument(
        "--lang",
        choices=("ja", "en"),
        help="language of the models' reports (default: the locale, as report)",
    )
    p.set_defaults(run=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    from jpkikit.report.merge import merge, to_markdown

    merged = merge(args.campaign, args.out, args.root, args.lang)
    report = merged.report
    if args.format == "md":
        sys.stdout.write(to_markdown(report))
    elif args.format == "json":
        sys.stdout.write((merged.out / "campaign.json").read_text(encoding="utf-8"))
    for unit in report["units"]:
        print(
            f"unit {unit['name']} ({unit['role']}, host {unit['host']}): {unit['certification']['verdict']}, "
            f"{unit['tests']} tests, profile {unit['profile']}"
        )
    for model in report["models"]:
        cert = model["certification"]
        print(f"model {model['model']} ({', '.join(model['units'])}): {cert['verdict']} — {cert['rule']}")
    print(f"campaign {report['campaign']['name']}: {report['certification']['verdict']}")
    print(
        f"jpkikit: wrote {merged.out}/ (campaign.json, campaign.md, models/, units/, allure-results/ with "
        f"{merged.allure_results} results)"
    )
    return 0 if report["certification"]["verdict"] == "PASS" else 1


def cmd_bundle_campaign(args: argparse.Namespace) -> int:
    """``jpkikit bundle OUT`` where OUT is a merged campaign: every unit's evidence in one signed bundle."""
    from jpkikit.harness.bundled import vectors_dir
    from jpkikit.report.bundle import load_private_key, write_bundle
    from jpkikit.report.merge import campaign_members

    key = load_private_key(args.key)
    members, report = campaign_members(args.results, vectors_dir())
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = Path(args.out)
    bundle_id = write_bundle(members, key, out, created)
    print(
        f"jpkikit: wrote {out}: {len(members)} members, bundle ID {bundle_id}, campaign "
        f"{report['campaign']['name']} ({len(report['units'])} units), verdict "
        f"{report['certification']['verdict']}"
    )
    return 0
