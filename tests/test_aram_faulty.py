"""Every ARA-M conformance test passes on the reference emulator and FAILS on a faulty variant."""

from __future__ import annotations

from pathlib import Path

# Imported before any in-process run: pytester drops modules first imported inside a run, and re-importing
# cryptography's Python layer breaks its Rust bindings (the same reason as in test_gp_faulty.py).
import pytest

import tests.faulty_aram  # noqa: F401

from .conformance_runner import assert_fails_on_variant, conformance_test_names

pytest_plugins = ["pytester"]

ARAM = "conformance/aram"
CASES = [
    # (conformance test, base profile, faulty factory in tests.faulty_aram)
    (
        f"{ARAM}/test_get_data.py::test_get_data_all_returns_the_declared_rules",
        "emulator-gpse.yaml",
        "missing_rule",
    ),
    (f"{ARAM}/test_get_data.py::test_long_rule_set_comes_in_chunks", "emulator-sim.yaml", "no_next"),
    (f"{ARAM}/test_get_data.py::test_get_data_specific", "emulator-gpse.yaml", "specific_first_rule"),
    (f"{ARAM}/test_get_data.py::test_refresh_tag_is_stable", "emulator-gpse.yaml", "restless_refresh_tag"),
    (f"{ARAM}/test_get_data.py::test_config", "emulator-gpse.yaml", "no_config"),
    (
        f"{ARAM}/test_store_data.py::test_store_data_adds_and_removes_a_rule",
        "emulator-gpse.yaml",
        "stale_refresh_tag",
    ),
    (
        f"{ARAM}/test_store_data.py::test_store_data_needs_the_secure_channel",
        "emulator-sim.yaml",
        "store_without_secure_channel",
    ),
]


@pytest.mark.parametrize(("node", "base", "fault"), CASES, ids=[c[2] for c in CASES])
def test_conformance_test_fails_on_faulty_variant(
    pytester: pytest.Pytester, tmp_path: Path, node: str, base: str, fault: str
) -> None:
    assert_fails_on_variant(pytester, tmp_path, node, base, f"tests.faulty_aram:{fault}")


def test_every_aram_conformance_test_has_a_faulty_variant() -> None:
    assert conformance_test_names(ARAM) == {c[0] for c in CASES}
