"""Every GP conformance test passes on the reference emulator and FAILS on a faulty variant of it."""

from __future__ import annotations

from pathlib import Path

import pytest

# Import the kit's crypto (and with it cryptography's Rust-backed classes) here, before pytester runs
# in-process: pytester drops modules first imported inside a run, and re-importing cryptography's Python
# wrappers afterwards breaks its class identity checks ("Expected instance of BlockCipherAlgorithm").
import tests.faulty_gp  # noqa: F401

from .conformance_runner import assert_fails_on_variant, conformance_test_names

pytest_plugins = ["pytester"]

GP = "conformance/gp"
CASES = [
    (f"{GP}/test_scp03.py::test_sessions_at_every_claimed_level_length_and_mode", "no_r_mac"),
    (f"{GP}/test_scp03.py::test_wrong_host_cryptogram", "any_host_cryptogram"),
    (f"{GP}/test_scp03.py::test_bad_c_mac_aborts_session", "no_abort"),
    (f"{GP}/test_scp03.py::test_replayed_and_reordered_commands", "no_chaining"),
    (f"{GP}/test_scp03.py::test_command_below_session_level", "plain_accepted"),
    (f"{GP}/test_scp03.py::test_unknown_kvn", "unknown_kvn_uses_default"),
    (f"{GP}/test_scp03.py::test_skipped_external_authenticate", "no_external_authenticate"),
    (f"{GP}/test_scp03.py::test_sequence_counter_and_pseudo_random_challenge", "counter_stuck"),
    (f"{GP}/test_scp03.py::test_exhausted_counter", "counter_wraps"),
    (f"{GP}/test_scp03.py::test_apsd_has_its_own_key_set", "apsd_uses_isd_keys"),
    (f"{GP}/test_content.py::test_get_data_identifiers", "wrong_i"),
    (f"{GP}/test_content.py::test_load_install_and_make_selectable", "install_not_selectable"),
    (f"{GP}/test_content.py::test_install_then_make_selectable", "make_selectable_ignored"),
    (f"{GP}/test_content.py::test_personalization_reaches_application", "perso_dropped"),
    (f"{GP}/test_content.py::test_delete", "delete_ignores_instances"),
    (f"{GP}/test_lifecycle.py::test_lock_and_unlock_application", "lock_ignored"),
    (f"{GP}/test_lifecycle.py::test_illegal_transitions", "any_card_transition"),
    (f"{GP}/test_lifecycle.py::test_card_locked", "card_lock_ignored"),
]
BASE = "emulator-gpse.yaml"


@pytest.mark.parametrize(("node", "fault"), CASES, ids=[c[1] for c in CASES])
def test_gp_conformance_test_fails_on_faulty_variant(
    pytester: pytest.Pytester, tmp_path: Path, node: str, fault: str
) -> None:
    assert_fails_on_variant(pytester, tmp_path, node, BASE, f"tests.faulty_gp:{fault}")


def test_every_gp_conformance_test_has_a_faulty_variant() -> None:
    assert conformance_test_names(GP) == {c[0] for c in CASES}
