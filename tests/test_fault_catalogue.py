"""The strict runner: every fault of the catalogue (tests/faults/) is killed by every test it names, at the
check it names, with the kit's verdict fail; every conformance test and parameter kills some fault; every
requirement has faults; and the published kill matrix (docs/fault-matrix.md) is current."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

# Imported once here: pytester's in-process runs drop modules first imported inside a run, and
# re-importing cryptography's Python layer afterwards breaks its class identity checks.
import tests.faulty_aram
import tests.faulty_gp
import tests.faulty_handset
import tests.faulty_iso
import tests.faulty_jpki
import tests.faulty_provisioning
import tests.faulty_tsm  # noqa: F401
from jpkikit.harness.catalogue import load_catalogue
from jpkikit.secrets import scrub

from .fault_catalogue import (
    REPO,
    Fault,
    Kill,
    cases,
    conformance_nodes,
    load,
    render_matrix,
    requirements_of,
    write_profile,
)
from .fault_catalogue import run as run_node

pytest_plugins = ["pytester"]

# Every faulty implementation module is imported once here: pytester's in-process runs drop modules first
# imported inside a run, and re-importing cryptography's Python layer afterwards breaks its class checks.
FAULTY_MODULES = [
    importlib.import_module(f"tests.{p.stem}") for p in sorted((REPO / "tests").glob("faulty_*.py"))
]
# Likewise the modules the kit's runs import late (hypothesis' end-of-run hook) and the conformance modules
# (their state is only functools caches of profile-independent values, e.g. the run's test CA).
importlib.import_module("hypothesis.internal.observability")
CONFORMANCE_MODULES = [
    importlib.import_module(".".join(p.relative_to(REPO).with_suffix("").parts))
    for p in sorted((REPO / "conformance").rglob("*.py"))
]
CASES = list(cases())
_REFERENCE: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(
    ("fault", "kill"), CASES, ids=[f"{f.id}@{k.test.removeprefix('conformance/')}" for f, k in CASES]
)
def test_fault_is_killed_at_its_check(
    pytester: pytest.Pytester, tmp_path: Path, record_property: Any, fault: Fault, kill: Kill
) -> None:
    # tests/conftest.py gathers these into the observed kill matrix of the run
    record_property("fault-kill", f"{fault.id} {kill.test}")  # kept a string: the kit scrubs properties
    key = (fault.profile, kill.test)
    reference = REPO / "profiles" / f"{fault.profile}.yaml"
    if key not in _REFERENCE:
        # every test the catalogue runs on this profile, in one session (as a certification runs them)
        nodes = sorted({k.test for f, k in CASES if f.profile == fault.profile})
        verdicts = run_node(pytester, reference, *nodes).verdicts
        _REFERENCE.update({(fault.profile, node): verdicts.get(node, "not run") for node in nodes})
    if _REFERENCE[key] != "pass":  # confirm alone: a batch may differ from the test's own run
        _REFERENCE[key] = run_node(pytester, reference, kill.test).only()[0]
    assert _REFERENCE[key] == "pass", (
        f"{kill.test} must pass on the reference ({fault.profile}): {_REFERENCE[key]}"
    )
    verdict, text = run_node(pytester, write_profile(fault, tmp_path), kill.test).only()
    assert verdict == "fail", f"{fault.id}: {kill.test} gave {verdict}, not fail:\n{text[-2000:]}"
    # the kit scrubs every secret value the process has seen from its texts: a PIN that a model test drew
    # (e.g. 0000) also scrubs an offset 0000 from a message, so the check is looked for as scrubbed too
    found = kill.check in text or scrub(kill.check) in text
    assert found, f"{fault.id}: {kill.test} failed, but not at {kill.check!r}:\n{text[-2000:]}"


def test_every_conformance_test_and_parameter_kills_a_fault() -> None:
    killers = {kill.test for _, kill in CASES}
    assert conformance_nodes() - killers == set()


def test_every_requirement_with_a_test_has_a_killed_fault() -> None:
    covered = {rid for _, kill in CASES for rid in requirements_of(kill.test)}
    tested = {rid for node in conformance_nodes() for rid in requirements_of(node)}
    assert tested - covered == set()
    assert set(load_catalogue().ids()) - covered == set()


def test_faults_name_real_requirements_and_tests() -> None:
    catalogue = load_catalogue()
    nodes = conformance_nodes()
    for fault in load():
        assert fault.requirement in catalogue, fault.id
        for kill in fault.killed_by:
            assert kill.test in nodes, f"{fault.id}: no conformance test {kill.test}"


def test_the_published_matrix_is_current() -> None:
    published = (REPO / "docs" / "fault-matrix.md").read_text()
    assert published == render_matrix(load()), (
        "regenerate: python -m tests.fault_catalogue > docs/fault-matrix.md"
    )
