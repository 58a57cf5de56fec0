"""Every provisioning conformance test passes on the reference emulator and fails on a faulty SE variant
(tests/faulty_provisioning.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

# Imported before pytester runs in-process (see tests/test_gp_faulty.py: modules first imported inside a
# run are dropped afterwards, which breaks cryptography's class identity checks).
import tests.faulty_provisioning  # noqa: F401

from .conformance_runner import assert_fails_on_variant, conformance_test_names

pytest_plugins = ["pytester"]

T = "conformance/provisioning/test_se_provisioning.py"
CASES = [
    (f"{T}::test_provisioning_needs_scp03_at_the_claimed_level", "no_scp_level_check"),
    (f"{T}::test_key_pair_generated_on_chip_after_the_commitment", "lying_r"),
    (f"{T}::test_key_pair_generated_on_chip_after_the_commitment", "fixed_key"),
    (f"{T}::test_private_key_never_leaves_the_se", "leaky_key"),
    (f"{T}::test_certificate_written_is_stored_and_must_match_the_key", "cert_not_stored"),
    (f"{T}::test_certificate_written_is_stored_and_must_match_the_key", "any_certificate"),
    (f"{T}::test_temporary_pin_sequence", "block_ignored"),
    (f"{T}::test_temporary_pin_sequence", "temp_pin_reusable"),
    (f"{T}::test_se_identification_id_is_stable", "random_se_id"),
    (f"{T}::test_delete_keys_really_deletes", "delete_keeps_key"),
]


def test_every_provisioning_test_has_a_faulty_variant() -> None:
    assert conformance_test_names("conformance/provisioning") == {node for node, _ in CASES}


@pytest.mark.parametrize(("node", "variant"), CASES, ids=[v for _, v in CASES])
def test_fails_on_faulty_variant(pytester: pytest.Pytester, tmp_path: Path, node: str, variant: str) -> None:
    assert_fails_on_variant(
        pytester, tmp_path, node, "emulator-gpse.yaml", f"tests.faulty_provisioning:{variant}"
    )
