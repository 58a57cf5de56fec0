"""Reading a results directory (``jpkikit certify`` output) back: junit.xml verdicts and the run's
environment (implementation identity, profile path and digest, kit version)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.verdict import Verdict
from jpkikit.report.verdicts import TestOutcome

ENVIRONMENT = "environment.properties"


class ResultsError(KitError):
    """A results directory is missing, incomplete, or from another kit version."""


@dataclass(frozen=True)
class RunResults:
    directory: Path
    environment: dict[str, str]
    outcomes: list[TestOutcome]

    @property
    def kit_version(self) -> str:
        return self.environment.get("kit.version", "")


def read_properties(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.encode("ascii", "backslashreplace").decode("unicode_escape")
    return out


def read_results(directory: str | Path, check_version: bool = True) -> RunResults:
    root = Path(directory)
    if not root.is_dir():
        raise ResultsError(f"{root}: no such results directory (run jpkikit certify --results {root})")
    env_file = root / "allure-results" / ENVIRONMENT
    junit = root / "junit.xml"
    for needed in (junit, env_file):
        if not needed.is_file():
            raise ResultsError(
                f"{root}: not a jpkikit results directory: {needed.relative_to(root)} is missing"
            )
    try:
        environment = read_properties(env_file)
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{env_file}: cannot read: {exc}") from None
    version = environment.get("kit.version")
    if not version:
        raise ResultsError(f"{env_file}: records no kit.version")
    if check_version and version != __version__:
        raise ResultsError(
            f"{root}: results were produced by jpkikit {version}; this is jpkikit {__version__} "
            "(re-run the campaign with this kit, or use the kit that produced them)"
        )
    return RunResults(root, environment, read_junit(junit))


def read_junit(path: Path) -> list[TestOutcome]:
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        raise ResultsError(f"{path}: not a readable junit XML file: {exc}") from None
    outcomes = []
    for case in tree.getroot().iter("testcase"):
        props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
        if "verdict" not in props:
            continue  # not a conformance test (no requirement marker)
        nodeid = f"{case.get('classname', '')}::{case.get('name', '')}"
        try:
            verdict = Verdict(props["verdict"])
        except ValueError:
            raise ResultsError(f"{path}: {nodeid}: unknown verdict {props['verdict']!r}") from None
        message = ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                message = element.get("message", "") or (element.text or "").strip()[:500]
                break
        requirements = tuple(props.get("requirements", "").split())
        seconds = float(case.get("time", "0") or 0)
        outcomes.append(TestOutcome(nodeid, verdict, requirements, message, seconds))
    return outcomes
