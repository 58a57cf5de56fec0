"""Certification subcommands of ``jpkikit``: coverage, report, probe, keygen, bundle, verify.

``register(sub)`` adds them to the main parser (jpkikit/cli/main.py). User errors raise KitError subclasses,
which the main program prints as one line (exit status 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("coverage", help="fail when a requirement has no test and no waiver (CI gate)")
    p.add_argument("--suite", help="conformance test directory (default: the kit's conformance/)")
    p.add_argument("--catalogue", action="append", help="requirement file or directory (repeatable)")
    p.set_defaults(run=cmd_coverage)

    lang_help = "language of the report: ja or en (default: the locale, LANG/LC_ALL ja_* -> ja, else en)"
    p = sub.add_parser(
        "report", help="certification report (Markdown, HTML, JSON, PDF) from a results directory"
    )
    p.add_argument("results", help="results directory written by jpkikit certify")
    p.add_argument("--profile", help="profile of the run (default: the one the run recorded)")
    p.add_argument(
        "--format",
        choices=("md", "html", "json", "summary"),
        default="md",
        help="what to print (default md; summary: one line with the certification verdict)",
    )
    p.add_argument("--lang", choices=("ja", "en"), help=lang_help)
    p.add_argument(
        "-o", "--out", help="also write certification.{md,html,json,pdf} and charts/ into this directory"
    )
    p.add_argument(
        "--require-pass",
        action="store_true",
        help="exit with status 1 unless the certification verdict is PASS (a CI gate)",
    )
    p.add_argument(
        "--bundle",
        help="an evidence bundle of these results (jpkikit bundle): its ID and signer go on the first page",
    )
    p.add_argument("--pubkey", help="the lab's public key the bundle must verify with (with --bundle)")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser(
        "campaign", help="combine the runs on several units of one model (a normal and a sacrificial unit)"
    )
    p.add_argument("results", nargs="+", help="results directories written by jpkikit certify")
    p.add_argument(
        "--format", choices=("md", "html", "json"), default="md", help="what to print (default md)"
    )
    p.add_argument("--lang", choices=("ja", "en"), help=lang_help)
    p.add_argument(
        "-o", "--out", help="also write campaign.{md,html,json,pdf} and charts/ into this directory"
    )
    p.set_defaults(run=cmd_campaign)

    p = sub.add_parser("probe", help="compare what the implementation reports with what its profile declares")
    p.add_argument("--profile", help="profile (default: profiles/emulator-gpse.yaml)")
    p.add_argument("--results", help="write probe.json and traces/probe.json into this results directory")
    p.set_defaults(run=cmd_probe)

    p = sub.add_parser("keygen", help="make an Ed25519 lab key pair for signing evidence bundles")
    p.add_argument(
        "-o", "--out", default="lab", help="writes OUT.key (private, 0600) and OUT.pub (default lab)"
    )
    p.set_defaults(run=cmd_keygen)

    p = sub.add_parser("bundle", help="signed, content-addressed evidence bundle of a campaign")
    p.add_argument("results", help="results directory written by jpkikit certify, or by jpkikit merge")
    p.add_argument("--key", required=True, help="the lab's Ed25519 private key (PEM, from jpkikit keygen)")
    p.add_argument("-o", "--out", required=True, help="bundle file to write, e.g. campaign.tar")
    p.add_argument("--profile", help="profile of the run (default: the one the run recorded)")
    p.set_defaults(run=cmd_bundle)

    from jpkikit.cli.merge import register as register_merge  # merge (campaigns across hosts)

    register_merge(sub)

    p = sub.add_parser("verify", help="verify an evidence bundle offline")
    p.add_argument("bundle")
    p.add_argument("--pubkey", required=True, help="the lab's public key (PEM)")
    p.set_defaults(run=cmd_verify)


def cmd_coverage(args: argparse.Namespace) -> int:
    from jpkikit.harness.catalogue import load_catalogue
    from jpkikit.report.coverage import check_coverage, collect_tests, default_suite

    suite = Path(args.suite) if args.suite else default_suite()
    result = check_coverage(load_catalogue(args.catalogue), collect_tests(suite))
    print(result.text())
    return 0 if result.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    from jpkikit.errors import KitError
    from jpkikit.report.certreport import build_report, render, write_reports

    if bool(args.bundle) != bool(args.pubkey):
        raise KitError("--bundle and --pubkey go together: the bundle is verified with the lab's public key")
    report = build_report(args.results, args.profile, lang=args.lang)
    if args.bundle:
        from jpkikit.report.pdf import bundle_facts

        report["bundle"] = bundle_facts(args.bundle, args.pubkey, args.results)
    sys.stdout.write(render(report, args.format))
    if args.out:
        for path in write_reports(report, Path(args.out)):
            print(f"jpkikit: wrote {path}", file=sys.stderr)
    return 1 if args.require_pass and report["certification"]["verdict"] != "PASS" else 0


def cmd_campaign(args: argparse.Namespace) -> int:
    from jpkikit.report.campaign import build_campaign
    from jpkikit.report.certreport import render, write_reports

    report = build_campaign(args.results, lang=args.lang)
    sys.stdout.write(render(report, args.format))
    if args.out:
        for path in write_reports(report, Path(args.out), stem="campaign"):
            print(f"jpkikit: wrote {path}", file=sys.stderr)
    return 0 if report["certification"]["verdict"] == "PASS" else 1


def cmd_probe(args: argparse.Namespace) -> int:
    from jpkikit.harness.bundled import profile_path
    from jpkikit.harness.profile import load_profile
    from jpkikit.report.probe import probe, save

    profile = load_profile(profile_path(args.profile))
    findings, trace = probe(profile)
    print(f"probe of {profile.identity()['name']} ({profile.path}):")
    for finding in findings:
        print("  " + finding.line())
    if args.results:
        print(f"jpkikit: wrote {save(findings, trace, profile, Path(args.results))}")
    mismatches = [f for f in findings if f.status == "mismatch"]
    unanswered = [f for f in findings if f.status == "not answered"]
    print(f"{len(mismatches)} mismatches, {len(unanswered)} not answered, {len(findings)} findings")
    return 1 if any(f.problem for f in findings) else 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from jpkikit.report.bundle import keygen

    private, public = Path(args.out + ".key"), Path(args.out + ".pub")
    kid = keygen(private, public)
    print(f"jpkikit: lab key {private} (keep it private), public key {public}, key ID {kid}")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from jpkikit.harness.bundled import vectors_dir
    from jpkikit.report.bundle import collect_members, load_private_key, write_bundle
    from jpkikit.report.certreport import build_report, render, resolve_profile
    from jpkikit.report.merge import is_merged
    from jpkikit.report.results import read_results

    if is_merged(args.results):  # the output of jpkikit merge: the whole campaign
        from jpkikit.cli.merge import cmd_bundle_campaign

        return cmd_bundle_campaign(args)
    key = load_private_key(args.key)
    results = read_results(args.results)  # refuses another kit version's results
    profile = resolve_profile(results, args.profile)
    members = collect_members(results.directory, profile, vectors_dir())
    report = build_report(results.directory, profile.path)
    for fmt in ("md", "html", "json"):
        members[f"results/certification.{fmt}"] = render(report, fmt).encode()
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = Path(args.out)
    bundle_id = write_bundle(members, key, out, created)
    verdict = report["certification"]["verdict"]
    print(
        f"jpkikit: wrote {out}: {len(members)} members, bundle ID {bundle_id}, "
        f"certification verdict {verdict}"
    )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from jpkikit.report.bundle import load_public_key, verify_bundle

    verified = verify_bundle(args.bundle, load_public_key(args.pubkey))
    print(
        f"{args.bundle}: OK: bundle ID {verified.bundle_id}, {verified.members} members, signed by key "
        f"{verified.key_id[:16]}…, jpkikit {verified.kit_version}, created {verified.created}"
    )
    return 0
