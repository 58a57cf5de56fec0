"""Every ISO 7816 conformance test passes on the reference emulator and FAILS on a faulty variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conformance_runner import assert_fails_on_variant, conformance_test_names

pytest_plugins = ["pytester"]

ISO = "conformance/iso7816"
CASES = [
    # (conformance test, base profile, faulty factory)
    (f"{ISO}/test_select.py::test_select_present_application", "emulator-gpse.yaml", "select_returns_fci"),
    (f"{ISO}/test_select.py::test_select_absent_application", "emulator-gpse.yaml", "select_anything"),
    (
        f"{ISO}/test_channels.py::test_open_channels_up_to_the_claimed_number",
        "emulator-gpse.yaml",
        "no_channel_limit",
    ),
    (f"{ISO}/test_channels.py::test_selection_is_per_channel", "emulator-gpse.yaml", "shared_selection"),
    (f"{ISO}/test_channels.py::test_closed_channel_is_unusable", "emulator-gpse.yaml", "close_ignored"),
    (f"{ISO}/test_channels.py::test_basic_channel_cannot_be_closed", "emulator-sim.yaml", "close_basic"),
    (
        f"{ISO}/test_channels.py::test_channel_bits_rejected_without_logical_channels",
        "emulator-card.yaml",
        "channel_bits_ignored",
    ),
    (f"{ISO}/test_errors.py::test_unknown_instruction", "emulator-gpse.yaml", "unknown_ins_ok"),
    (f"{ISO}/test_errors.py::test_invalid_class", "emulator-gpse.yaml", "any_class"),
    (f"{ISO}/test_errors.py::test_lc_longer_than_the_data", "emulator-card.yaml", "lenient_length"),
    (f"{ISO}/test_errors.py::test_malformed_apdu_then_recovery", "emulator-gpse.yaml", "malformed_ok"),
    (
        f"{ISO}/test_extended_length.py::test_extended_length_accepted",
        "emulator-gpse.yaml",
        "no_extended_length",
    ),
    (
        f"{ISO}/test_extended_length.py::test_extended_length_rejected_when_not_claimed",
        "emulator-card.yaml",
        "extended_always",
    ),
]


@pytest.mark.parametrize(("node", "base", "fault"), CASES, ids=[c[2] for c in CASES])
def test_conformance_test_fails_on_faulty_variant(
    pytester: pytest.Pytester, tmp_path: Path, node: str, base: str, fault: str
) -> None:
    assert_fails_on_variant(pytester, tmp_path, node, base, f"tests.faulty_iso:{fault}")


def test_every_iso_conformance_test_has_a_faulty_variant() -> None:
    assert conformance_test_names(ISO) == {c[0] for c in CASES}
