"""The ``jpkikit`` command: certify, emulate, readers, check-profile, replay.

User errors (bad profile, unknown reader, unreachable vpcd port, corrupt state file, malformed trace)
print one clear message and exit with status 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.bundled import profile_path

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="jpkikit: %(message)s")
    try:
        return int(args.run(args) or 0)
    except KitError as exc:
        print(f"jpkikit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jpkikit", description="JPKI smartphone profile conformance kit")
    parser.add_argument("--version", action="version", version=f"jpkikit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("certify", help="run the conformance suite against one implementation (or several)")
    p.add_argument(
        "--profile",
        action="append",
        help="profile file (default: profiles/emulator-gpse.yaml, the emulator); repeat it to certify "
        "several units at once, one worker process each",
    )
    p.add_argument(
        "--results",
        help="results directory (default: results/<profile name>); with several profiles, the directory "
        "that gets one <profile name>/ per unit (default: results)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="with several profiles: at most N units at once (default: every unit at once)",
    )
    p.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    p.add_argument(
        "--plan",
        action="store_true",
        help="list every test with its cost and whether it will run; send nothing",
    )
    p.add_argument(
        "--accept-spent-tries",
        action="store_true",
        help="start although a PIN counter is below its maximum (the pre-flight refuses otherwise)",
    )
    p.add_argument(
        "--lang",
        choices=("ja", "en"),
        help="language of the requirement texts in the Allure results (default: the locale; ja_* -> ja)",
    )
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    p.set_defaults(run=cmd_certify)

    p = sub.add_parser("emulate", help="serve the bundled emulator as a card to pcscd (vsmartcard-vpcd)")
    p.add_argument("--personality", default="gp-se", help="a bundled personality (default gp-se)")
    p.add_argument("--state", help="state file: keys, files, counters, life cycle survive restarts")
    p.add_argument("--host", default="127.0.0.1", help="where the vpcd driver listens (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=35963, help="vpcd port (default 35963)")
    p.add_argument("--factory", help="serve the card made by module:callable instead of a personality")
    p.add_argument(
        "--testbed",
        action="store_true",
        help="honour the kit's factory-reset test command (the kit sets this when it launches the emulator)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up if the driver cannot be reached at all within this time (default 10)",
    )
    p.set_defaults(run=cmd_emulate)

    p = sub.add_parser("readers", help="list PC/SC readers and the cards in them")
    p.set_defaults(run=cmd_readers)

    p = sub.add_parser("check-profile", help="validate a profile file")
    p.add_argument("profile")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also run the pre-flight on the unit: its identity, PIN counters and the profile's PINs",
    )
    p.add_argument("--accept-spent-tries", action="store_true", help="as for certify")
    p.set_defaults(run=cmd_check_profile)

    p = sub.add_parser("replay", help="replay a saved APDU trace against an implementation")
    p.add_argument("trace")
    p.add_argument("--profile", help="implementation to replay against (default: the bundled emulator)")
    p.add_argument("--sw-only", action="store_true", help="compare status words only, not response data")
    p.set_defaults(run=cmd_replay)

    from jpkikit.cli.certification import register  # coverage, report, probe, keygen, bundle, verify

    register(sub)
    from jpkikit.cli.mutation import register as register_mutation  # mutate list / serve / run

    register_mutation(sub)
    return parser


def cache_bytecode_outside_tree() -> None:
    """With PYTHONDONTWRITEBYTECODE set, every run recompiles and re-rewrites (pytest's assertions) every
    module of the suite: 3.1 s of start-up instead of 1.4 s (issue 16). The source tree stays free of
    bytecode, as the variable asks, but the bytecode is cached under the user's cache directory
    (``sys.pycache_prefix``, which pytest's assertion rewriter honours too). An unwritable cache directory
    is skipped silently, as Python does."""
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    sys.pycache_prefix = os.path.join(base, "jpkikit", "pycache")
    sys.dont_write_bytecode = False


def cmd_certify(args: argparse.Namespace) -> int:
    from jpkikit.cli.parallel import refuse_xdist, run_parallel

    if args.profile and len(args.profile) > 1:
        return run_parallel(args, main)  # one worker process per unit (jpkikit/cli/parallel.py)
    refuse_xdist(args.pytest_args)
    cache_bytecode_outside_tree()
    import pytest

    from jpkikit.harness.bundled import suite_dir
    from jpkikit.harness.profile import load_profile
    from jpkikit.harness.seam import check_factories
    from jpkikit.harness.unit_state import UNIT_STATE_FILE

    path = profile_path(args.profile[0] if args.profile else None)
    profile = load_profile(path)  # fail early and clearly on a bad profile
    check_factories(profile)  # one clear error now, not a kit error per test
    suite = suite_dir()
    results = Path(args.results) if args.results else Path("results") / path.stem
    results.mkdir(parents=True, exist_ok=True)
    pytest_args = [
        str(suite),
        f"--profile={path}",
        f"--alluredir={results / 'allure-results'}",
        "--clean-alluredir",
        f"--junitxml={results / 'junit.xml'}",
        f"--trace-dir={results / 'traces'}",
        f"--unit-state={results / UNIT_STATE_FILE}",
        f"--rootdir={suite.parent}",
        "-c",  # no ini file of the checkout or the working directory changes a certification run
        os.devnull,
        "-p",
        "no:cacheprovider",
        "-W",  # the CLI imported jpkikit before pytest could mark it for assertion rewriting: harmless
        "ignore::pytest.PytestAssertRewriteWarning",
        "-q",
        "-rfE",
    ]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.plan:
        pytest_args.append("--plan")
    if args.accept_spent_tries:
        pytest_args.append("--accept-spent-tries")
    from jpkikit.harness.language import resolve_lang

    pytest_args.append(f"--report-lang={resolve_lang(args.lang, profile=profile)}")
    pytest_args += args.pytest_args
    print(f"jpkikit {__version__}: certifying {profile.identity()['name']} with {path}")
    code = pytest.main(pytest_args)
    from jpkikit.harness.redaction import scrub_tree

    scrub_tree(results)  # JUnit XML is written last, by pytest itself: scrub the whole results directory
    print(f"jpkikit: results in {results}/ (allure-results/, junit.xml, traces/)")
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    return int(code)


def cmd_emulate(args: argparse.Namespace) -> int:
    from jpkikit.harness.seam import emulator_card
    from jpkikit.host.vpcd import VpcdServer

    card = emulator_card(args.personality, Path(args.state) if args.state else None, args.factory)
    if args.testbed:
        card.testbed = True  # type: ignore[attr-defined]
    server = VpcdServer(card, host=args.host, port=args.port)

    def stop(signum: int, frame: object) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    what = args.factory or args.personality
    logging.getLogger("jpkikit").info("serving %s to vpcd at %s:%d", what, args.host, args.port)
    server.serve_forever(first_connect_within=args.wait)
    return 0


def cmd_readers(args: argparse.Namespace) -> int:
    from jpkikit.host.pcsc import list_readers
    from jpkikit.host.pcscd import ensure_daemon

    ensure_daemon(start=False)
    readers = list_readers()
    if not readers:
        print("no PC/SC readers")
    for index, info in enumerate(readers):
        card = f"card, ATR {info.atr.hex().upper()}" if info.atr else "no card"
        print(f"{index}: {info.name}: {card}")
    return 0


def cmd_check_profile(args: argparse.Namespace) -> int:
    from jpkikit.harness.profile import load_profile
    from jpkikit.harness.seam import check_factories

    profile = load_profile(args.profile)
    check_factories(profile)
    identity = profile.identity()
    print(f"{args.profile}: valid profile for {identity['name']} ({identity['class']})")
    if not args.probe:
        return 0
    from jpkikit.harness import preflight
    from jpkikit.harness.seam import open_link
    from jpkikit.host.card_session import CardSession

    with open_link(profile) as link:
        result = preflight.run(CardSession(link), profile, args.accept_spent_tries)
    for line in result.lines:
        print(f"pre-flight: {line}")
    if result.stop:
        return EXIT_USAGE
    print("pre-flight: the unit may be certified with this profile")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from jpkikit.harness.profile import load_profile
    from jpkikit.harness.seam import open_link
    from jpkikit.host.tracer import Trace, replay

    trace = Trace.load(args.trace)
    with open_link(load_profile(profile_path(args.profile))) as link:
        steps = replay(trace, link, compare_data=not args.sw_only)
    for step in steps:
        mark = "ok  " if step.match else "DIFF"
        print(f"{mark} #{step.index:<3} {step.name:<28} {step.note}")
    differ = sum(not s.match for s in steps)
    print(f"{len(steps) - differ} of {len(steps)} exchanges matched")
    return 1 if differ else 0
