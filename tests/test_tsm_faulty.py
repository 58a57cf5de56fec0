"""Every TSM conformance test passes on the reference TSM (profiles/reference-tsm.yaml) and fails on a
faulty TSM variant (tests/faulty_tsm.py), everything over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# Imported before pytester runs in-process (see tests/test_gp_faulty.py).
import jpkikit.reference.backend
import jpkikit.reference.emulator.observed_se
import jpkikit.reference.tsm.wiring  # noqa: F401
import tests.faulty_tsm  # noqa: F401

from .conformance_runner import REPO, conformance_test_names, outcome, run_conformance

pytest_plugins = ["pytester"]

T = "conformance/tsm/test_tsm.py"
CASES = [
    (f"{T}::test_every_provisioning_command_under_scp03_at_the_required_level", "low_level"),
    (f"{T}::test_no_key_import_and_certificates_for_the_generated_keys", "imports_key"),
    (f"{T}::test_refuses_an_se_that_lies_about_r", "no_commitment_check"),
    (f"{T}::test_temporary_pins_are_random_and_never_reused", "fixed_temp_pin"),
    (f"{T}::test_pin_initialisation_refused_for_an_se_that_is_not_bound", "no_binding_check"),
    (f"{T}::test_double_issuance_refused_before_key_generation", "late_double_issuance_check"),
    (f"{T}::test_device_change_revokes_the_old_device", "no_old_revocation"),
    (f"{T}::test_remote_deletion_after_revocation_and_its_failure", "no_remote_deletion"),
]


def faulty_tsm_profile(tmp_path: Path, variant: str) -> Path:
    doc = yaml.safe_load((REPO / "profiles" / "reference-tsm.yaml").read_text())
    doc["ixit"]["tsm"] = {"reference": {"factory": f"tests.faulty_tsm:{variant}"}}
    doc["implementation"]["name"] = f"faulty TSM {variant}"
    path = tmp_path / f"faulty-tsm-{variant}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


def test_every_tsm_test_has_a_faulty_variant() -> None:
    assert conformance_test_names("conformance/tsm") == {node for node, _ in CASES}


@pytest.mark.parametrize(("node", "variant"), CASES, ids=[v for _, v in CASES])
def test_fails_on_faulty_tsm(pytester: pytest.Pytester, tmp_path: Path, node: str, variant: str) -> None:
    good = run_conformance(pytester, REPO / "profiles" / "reference-tsm.yaml", node)
    assert outcome(good) == {"passed": 1}, f"{node} must pass on the reference TSM"
    bad = run_conformance(pytester, faulty_tsm_profile(tmp_path, variant), node)
    assert outcome(bad) == {"failed": 1}, f"{node} did not fail on the faulty TSM {variant}"
