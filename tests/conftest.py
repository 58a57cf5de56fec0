"""The kit's own test run. The strict runner (tests/test_fault_catalogue.py) records, for every row of the
fault catalogue, whether the run proved the kill; at the end of the run this prints the observed kill
matrix per area (faults, rows, kill rate, requirements covered) and writes the full observed matrix to
build/fault-matrix.md (the same page as docs/fault-matrix.md, with a column for what this run saw).
Also the fixtures several test modules share."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .fault_catalogue import REPO, load, render_matrix

_OBSERVED: dict[tuple[str, str], bool] = {}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory of this test's own, outside pytest's numbered base directories: pytest keeps only the
    last three of those, and another pytest session started meanwhile (another engineer's, on a shared
    machine) would delete it while a long run still writes there."""
    with tempfile.TemporaryDirectory(prefix="jpkikit-mutation-") as name:
        yield Path(name)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # with pytest-xdist the controller sees each worker's reports, user properties included
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "fault-kill":
            fault_id, _, test = str(value).partition(" ")
            _OBSERVED[(fault_id, test)] = report.passed


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _OBSERVED:
        return
    faults = load()
    write = terminalreporter.write_line
    terminalreporter.section("fault catalogue: kills observed in this run")
    write(f"{'area':<14}{'faults':>7}{'killed':>8}{'rows':>6}{'proven':>8}{'rate':>8}  requirements covered")
    for area in sorted({f.area for f in faults}):
        mine = [f for f in faults if f.area == area]
        rows = [(f, k) for f in mine for k in f.killed_by if (f.id, k.test) in _OBSERVED]
        if not rows:
            continue
        proven = [(f, k) for f, k in rows if _OBSERVED[(f.id, k.test)]]
        killed = {f.id for f, _ in proven}
        ran = {f.id for f, _ in rows}
        covered = {f.requirement for f in mine if f.id in killed}
        write(
            f"{area:<14}{len(ran):>7}{len(killed):>8}{len(rows):>6}{len(proven):>8}"
            f"{len(proven) / len(rows):>8.0%}  {len(covered)} of {len({f.requirement for f in mine})}"
        )
    missed = sorted(key for key, killed in _OBSERVED.items() if not killed)
    for fault_id, test in missed:
        write(f"NOT KILLED: {fault_id} by {test}")
    out = REPO / "build" / "fault-matrix.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(render_matrix(faults, _OBSERVED))
    write(f"observed matrix: {out.relative_to(REPO)}")
