"""Every JPKI conformance test passes on the reference emulator and FAILS on a deliberately faulty applet
(tests/faulty_jpki.py), run through a profile whose ixit.transport.factory builds the faulty card."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from . import faulty_jpki
from .conformance_runner import REPO, faulty_profile, outcome, run_conformance

# faulty_jpki (and through it the emulator, jpkikit.vocab.jpki.pkcs1 and cryptography) is imported here so
# that it
# stays in sys.modules across pytester's in-process runs: re-importing cryptography's Python layer would
# make new classes (NoDigestInfo, KeyUsage, ...) that its Rust core does not recognise.

pytest_plugins = ["pytester"]

JPKI = "conformance/jpki"
GPSE, CARD = "emulator-gpse.yaml", "emulator-card.yaml"
FILES, PIN, MODEL = f"{JPKI}/test_files.py", f"{JPKI}/test_pin.py", f"{JPKI}/test_pin_model.py"
SIGN, CERTS, CHANNELS = f"{JPKI}/test_sign.py", f"{JPKI}/test_certs.py", f"{JPKI}/test_channels.py"

CASES = [
    # (conformance test, base profile, faulty variant)
    (f"{FILES}::test_every_ef_can_be_selected", GPSE, "missing_ef"),
    (f"{FILES}::test_free_efs_are_read_without_verify", GPSE, "ca_cert_protected"),
    (f"{FILES}::test_sign_certificate_needs_the_sign_password", GPSE, "sign_cert_free"),
    (f"{FILES}::test_sign_certificate_needs_the_sign_password", CARD, "any_pin_opens"),
    (f"{FILES}::test_auth_certificate_needs_the_auth_pin", GPSE, "auth_cert_free"),
    (f"{FILES}::test_auth_certificate_needs_the_auth_pin", GPSE, "any_pin_opens"),
    (f"{FILES}::test_read_binary_takes_a_15_bit_offset", GPSE, "offset_8bit"),
    (f"{FILES}::test_read_at_or_past_the_end_answers_6b00", GPSE, "past_end_ok"),
    (f"{FILES}::test_certificate_efs_start_with_a_30_82_header", GPSE, "cert_filler_first"),
    (f"{FILES}::test_token_label_is_the_claimed_one", GPSE, "wrong_label"),
    (f"{PIN}::test_retry_query_reports_tries_and_spends_none", GPSE, "query_spends"),
    (f"{PIN}::test_retry_query_with_le_answers_6700", GPSE, "query_with_le"),
    (f"{PIN}::test_wrong_verify_costs_one_try_and_right_restores", GPSE, "no_decrement"),
    (f"{PIN}::test_wrong_verify_costs_one_try_and_right_restores", GPSE, "no_reset_on_success"),
    (f"{PIN}::test_wrong_verify_costs_one_try_and_right_restores", CARD, "lowercase_ok"),
    (f"{PIN}::test_exhausted_pin_blocks_with_63c0_then_6984", GPSE, "blocked_6983"),
    (f"{PIN}::test_exhausted_pin_blocks_with_63c0_then_6984", CARD, "blocked_accepts_right"),
    (f"{PIN}::test_reselect_and_reset_clear_the_verified_state", CARD, "state_kept"),
    (f"{PIN}::test_change_reference_data_only_after_verify", GPSE, "change_without_verify"),
    (f"{PIN}::test_change_reference_data_only_after_verify", GPSE, "change_ignored"),
    (f"{PIN}::test_change_refuses_values_outside_the_rules", GPSE, "change_any_value"),
    (f"{PIN}::test_verify_longer_than_16_bytes_answers_6700", GPSE, "overlong_spends"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "no_decrement"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "no_reset_on_success"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "blocked_6983"),
    (f"{MODEL}::test_pin_state_machine", CARD, "blocked_accepts_right"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "state_kept"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "sign_without_pin"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "query_spends"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "change_ignored"),
    (f"{MODEL}::test_pin_state_machine", CARD, "change_without_verify"),
    (f"{MODEL}::test_pin_state_machine", GPSE, "lowercase_ok"),
    (f"{SIGN}::test_signature_verifies_with_the_certificate", GPSE, "bare_hash"),
    (f"{SIGN}::test_no_signature_without_verify", GPSE, "sign_without_pin"),
    (f"{SIGN}::test_data_that_cannot_be_padded_is_refused", CARD, "no_length_check"),
    (f"{CERTS}::test_ca_certificate_profile", GPSE, "root_ku_not_critical"),
    (f"{CERTS}::test_auth_certificate_profile", CARD, "auth_cert_personal"),
    (f"{CERTS}::test_sign_certificate_profile", GPSE, "sign_policy_production"),
    (f"{CHANNELS}::test_jpki_on_a_logical_channel", GPSE, "state_kept"),
]

_GOOD: dict[tuple[str, str], dict[str, int]] = {}


@pytest.mark.parametrize(
    ("node", "base", "fault"), CASES, ids=[f"{c[0].rpartition('::')[2]}-{c[2]}" for c in CASES]
)
def test_conformance_test_fails_on_faulty_variant(
    pytester: pytest.Pytester, tmp_path: Path, node: str, base: str, fault: str
) -> None:
    if (node, base) not in _GOOD:
        _GOOD[(node, base)] = outcome(run_conformance(pytester, REPO / "profiles" / base, node))
    good = _GOOD[(node, base)]
    assert set(good) == {"passed"}, f"{node} must pass on the reference emulator ({base}): {good}"
    bad = outcome(
        run_conformance(pytester, faulty_profile(tmp_path, base, f"tests.faulty_jpki:{fault}"), node)
    )
    assert bad.get("failed", 0) >= 1 and "errors" not in bad, f"{node} did not fail on {fault}: {bad}"


def test_every_jpki_conformance_test_has_a_faulty_variant() -> None:
    names = {
        f"{JPKI}/{path.name}::{node.name}"
        for path in (REPO / JPKI).glob("test_*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    assert names == {c[0] for c in CASES}


def test_every_fault_is_used() -> None:
    assert set(faulty_jpki.FAULTS) == {c[2] for c in CASES}
