"""The fault catalogue (tests/faults/<area>.yaml) and its strict runner.

Every requirement has faults: the ways a real implementation plausibly gets it wrong. Each fault is a
faulty implementation (a ``module:callable`` factory of a card, a handset or a TSM service, put into a copy
of a bundled profile) and names the conformance tests (with their parameters) that must catch it, and, for
each, the check that must trip: a piece of the failure message that check raises. A fault counts as killed
by a test only when

* the same test passes on the reference (the unchanged bundled profile), and
* on the faulty implementation the kit's verdict is **fail** — not kit error, not inconclusive — and the
  failure text contains the check.

A file::

    area: jpki
    faults:
      - id: jpki/no-decrement                # unique, stable
        requirement: JPKI-PIN-03             # the requirement the fault breaks
        what: a wrong VERIFY does not decrement the retry counter
        implementation: tests.faulty_jpki:no_decrement
        kind: card                           # card | handset | tsm
        profile: emulator-gpse               # the bundled profile the fault is put into
        ics: {}                              # optional: dotted profile fields to change for this fault
        killed_by:
          - test: conformance/jpki/test_pin.py::test_wrong_verify_costs_one_try_and_right_restores[auth]
            check: "wrong VERIFY 1 answered"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
FAULTS_DIR = REPO / "tests" / "faults"
SCHEMA = REPO / "tests" / "faults" / "faults.schema.json"
KINDS = {"card": ("transport", "factory"), "handset": ("handset", "reference"), "tsm": ("tsm", "reference")}


@dataclass(frozen=True)
class Kill:
    test: str  # conformance node ID, with its parameter ID
    check: str  # a piece of the failure text of the check the fault must trip


@dataclass(frozen=True)
class Fault:
    id: str
    area: str
    requirement: str
    what: str
    implementation: str
    kind: str
    profile: str
    killed_by: tuple[Kill, ...]
    ics: dict[str, Any] = field(default_factory=dict)

    def profile_document(self) -> dict[str, Any]:
        """The bundled profile with this fault's implementation put in (and its ICS changes made)."""
        doc = yaml.safe_load((REPO / "profiles" / f"{self.profile}.yaml").read_text())
        if doc.get("extends"):  # the written copy lives elsewhere: name its base by absolute path
            doc["extends"] = str((REPO / "profiles" / doc["extends"]).resolve())
        doc["implementation"]["name"] = f"faulty {self.id}"
        if self.kind == "card":
            personality = doc["ixit"]["transport"].get("personality") or _personality(self.profile)
            doc["ixit"]["transport"] = {
                "kind": "emulator",
                "factory": self.implementation,
                "personality": personality,
            }
        elif self.kind == "handset":
            reference = doc["ixit"]["handset"].setdefault("reference", {})
            reference["factory"] = self.implementation
        else:
            doc["ixit"]["tsm"]["reference"] = {"factory": self.implementation}
        for dotted, value in self.ics.items():
            node = doc
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return doc


def _personality(profile: str) -> str:
    """ics.personality of a bundled profile, through the profiles it extends."""
    doc = yaml.safe_load((REPO / "profiles" / f"{profile}.yaml").read_text())
    found = doc.get("ics", {}).get("personality")
    if found is None and doc.get("extends"):
        return _personality(Path(doc["extends"]).stem)
    return str(found)


def load() -> list[Fault]:
    schema = json.loads(SCHEMA.read_text())
    faults: list[Fault] = []
    seen: set[str] = set()
    for path in sorted(FAULTS_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        jsonschema.validate(doc, schema)
        for entry in doc["faults"]:
            if entry["id"] in seen:
                raise ValueError(f"{path.name}: fault {entry['id']} is defined twice")
            seen.add(entry["id"])
            kills = tuple(Kill(k["test"], k["check"]) for k in entry["killed_by"])
            faults.append(
                Fault(
                    entry["id"],
                    doc["area"],
                    entry["requirement"],
                    entry["what"],
                    entry["implementation"],
                    entry.get("kind", "card"),
                    entry.get("profile", "emulator-gpse"),
                    kills,
                    entry.get("ics", {}),
                )
            )
    return faults


def cases() -> Iterator[tuple[Fault, Kill]]:
    for fault in load():
        for kill in fault.killed_by:
            yield fault, kill


# -- running one conformance test with the kit's verdicts ------------------------------------------------

QUIET = (
    "-p",
    "no:cacheprovider",
    f"--rootdir={REPO}",
    "-q",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)


@dataclass(frozen=True)
class Outcome:
    verdicts: dict[str, str]  # node ID -> the kit's verdict
    text: dict[str, str]  # node ID -> the failure text of the phase that failed

    def only(self) -> tuple[str, str]:
        assert len(self.verdicts) == 1, f"expected one test, ran {sorted(self.verdicts)}"
        ((node, verdict),) = self.verdicts.items()
        return verdict, self.text.get(node, "")


def run(pytester: pytest.Pytester, profile: Path, *nodes: str) -> Outcome:
    """Run conformance nodes against ``profile`` in-process, in one session; the kit's verdicts and texts."""
    result = pytester.runpytest_inprocess(*(str(REPO / n) for n in nodes), f"--profile={profile}", *QUIET)
    verdicts: dict[str, str] = {}
    text: dict[str, str] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):
        props = dict(report.user_properties)
        if report.failed:
            text[report.nodeid] = text.get(report.nodeid, "") + str(report.longrepr)
        if report.when == "teardown" and "verdict" in props:
            verdicts[report.nodeid] = str(props["verdict"])
    return Outcome(verdicts, text)


def write_profile(fault: Fault, directory: Path) -> Path:
    path = directory / f"{fault.id.replace('/', '-')}.yaml"
    path.write_text(yaml.safe_dump(fault.profile_document(), sort_keys=False))
    return path


def conformance_nodes() -> set[str]:
    """Every conformance test node, parameters included, relative to the repository."""
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            str(REPO / "conformance"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    ).stdout
    return {line.strip() for line in out.splitlines() if "::" in line and line.startswith("conformance/")}


# -- coverage and the published matrix ------------------------------------------------------------------


def requirements_of(node: str) -> tuple[str, ...]:
    """The requirement IDs a conformance node names (its ``requirement`` marker), read from the source."""
    import ast

    path, _, name = node.partition("::")
    name = name.split("[")[0]
    if not (REPO / path).is_file():  # a stale row: test_faults_name_real_requirements_and_tests says so
        return ()
    for item in ast.parse((REPO / path).read_text()).body:
        if isinstance(item, ast.FunctionDef) and item.name == name:
            return tuple(
                arg.value
                for d in item.decorator_list
                if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "requirement"
                for arg in d.args
                if isinstance(arg, ast.Constant)
            )
    return ()


def render_matrix(faults: list[Fault], observed: dict[tuple[str, str], bool] | None = None) -> str:
    """docs/fault-matrix.md: per requirement, its faults and the test and check that kill each.

    With ``observed`` ((fault id, test) -> killed, from a strict-runner run) the page is that run's matrix: a
    column says, row by row, whether the run proved the kill."""
    by_requirement: dict[str, list[tuple[Fault, Kill]]] = {}
    for fault in faults:
        for kill in fault.killed_by:
            for rid in requirements_of(kill.test) or (fault.requirement,):
                by_requirement.setdefault(rid, []).append((fault, kill))
    areas = sorted({f.area for f in faults})
    lines = [
        "# Fault catalogue and kill matrix",
        "",
        "Generated from `tests/faults/*.yaml` by `python -m tests.fault_catalogue > docs/fault-matrix.md`;",
        "`tests/test_fault_catalogue.py` runs every row (the strict runner) and checks this page is current.",
        "A fault is killed by a test only when that test passes on the reference and, on the faulty",
        "implementation, the kit's verdict is **fail** with the named check in the failure text.",
        "",
        f"{len(faults)} faults over {len(by_requirement)} requirements "
        f"({len(faults) / max(1, len(by_requirement)):.1f} per requirement on average); per area:",
        "",
        "| Area | Faults |",
        "|---|---|",
        *(f"| {a} | {sum(f.area == a for f in faults)} |" for a in areas),
        "",
        "| Requirement | Fault | What the faulty implementation does | Killed by | Check |"
        + (" Observed |" if observed is not None else ""),
        "|---|---|---|---|---|" + ("---|" if observed is not None else ""),
    ]
    for rid in sorted(by_requirement):
        for fault, kill in by_requirement[rid]:
            test = kill.test.removeprefix("conformance/")
            cells: tuple[str, ...] = (rid, f"`{fault.id}`", fault.what, f"`{test}`", kill.check)
            if observed is not None:
                seen = observed.get((fault.id, kill.test))
                cells += ("not run" if seen is None else "killed" if seen else "**NOT KILLED**",)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_matrix(load()))
