"""Every handset conformance test passes on the reference handset and FAILS on a faulty variant."""

from __future__ import annotations

import ast
from pathlib import Path

# Imported before any in-process run (pytester drops modules first imported inside a run; see
# test_gp_faulty.py): the handset stack pulls in cryptography through the emulator and SCP03.
import pytest
import yaml

import tests.faulty_handset  # noqa: F401

from .conformance_runner import REPO, outcome, run_conformance

pytest_plugins = ["pytester"]

HS = "conformance/handset"
BASE = REPO / "profiles" / "reference-handset.yaml"
CASES = [
    # (conformance test, faulty factory in tests.faulty_handset)
    (f"{HS}/test_access.py::test_allowed_app_opens_channel", "no_select_response"),
    (f"{HS}/test_access.py::test_denied_app_gets_security_exception", "allow_all"),
    (f"{HS}/test_access.py::test_denied_open_sends_nothing_for_the_applet", "select_before_check"),
    (f"{HS}/test_access.py::test_sha1_and_sha256_hashes_are_matched", "sha1_only"),
    (f"{HS}/test_access.py::test_apdu_filters", "filters_ignored"),
    (f"{HS}/test_access.py::test_select_and_manage_channel_refused_in_transmit", "select_through_transmit"),
    (f"{HS}/test_access.py::test_malformed_commands_are_illegal_arguments", "lenient_transmit"),
    (f"{HS}/test_access.py::test_bad_and_absent_aids", "absent_is_io_error"),
    (f"{HS}/test_precedence.py::test_exact_rule_beats_aid_all_apps", "generic_before_exact"),
    (f"{HS}/test_precedence.py::test_specific_aid_with_other_hash_means_never", "no_aid_shadow"),
    (f"{HS}/test_precedence.py::test_aid_all_apps_beats_all_aids_hash", "c_before_b"),
    (f"{HS}/test_precedence.py::test_all_aids_hash_beats_all_all", "no_rule_c"),
    (f"{HS}/test_precedence.py::test_all_aids_with_other_hash_means_never", "no_all_shadow"),
    (f"{HS}/test_precedence.py::test_all_aids_all_apps", "no_rule_d"),
    (f"{HS}/test_precedence.py::test_no_matching_rule_denies", "allow_unmatched"),
    (f"{HS}/test_precedence.py::test_rules_refresh_after_update", "stale_cache"),
    (f"{HS}/test_channels.py::test_logical_channels_keep_their_selection", "shared_channel"),
    (f"{HS}/test_channels.py::test_basic_channel", "no_basic_channel"),
    (f"{HS}/test_channels.py::test_channel_limit_and_close", "close_leaks_channel"),
    (f"{HS}/test_channels.py::test_session_close_closes_channels", "session_close_keeps_channels"),
    (f"{HS}/test_agent.py::test_malformed_messages_get_protocol_errors", "agent_drops_bad_lines"),
]


def faulty_handset_profile(tmp_path: Path, fault: str) -> Path:
    doc = yaml.safe_load(BASE.read_text())
    doc["ixit"]["handset"]["reference"] = {"personality": "gp-se", "factory": f"tests.faulty_handset:{fault}"}
    doc["implementation"]["name"] = f"faulty handset {fault}"
    path = tmp_path / f"faulty-handset-{fault}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(("node", "fault"), CASES, ids=[c[1] for c in CASES])
def test_conformance_test_fails_on_faulty_variant(
    pytester: pytest.Pytester, tmp_path: Path, node: str, fault: str
) -> None:
    good = run_conformance(pytester, BASE, node)
    assert outcome(good) == {"passed": 1}, f"{node} must pass on the reference handset"
    bad = run_conformance(pytester, faulty_handset_profile(tmp_path, fault), node)
    assert outcome(bad) == {"failed": 1}, f"{node} did not fail on the faulty variant {fault}"


def test_every_handset_conformance_test_has_a_faulty_variant() -> None:
    names = {
        f"{HS}/{path.name}::{node.name}"
        for path in (REPO / HS).glob("test_*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    assert names == {c[0] for c in CASES}


def test_conformance_through_an_agent_address(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """ixit.handset.agent: the kit connects to an agent it did not start (as behind `adb forward`)."""
    from jpkikit.reference.handset.agent import serve
    from jpkikit.reference.handset.handset import ReferenceHandset

    handset = ReferenceHandset.over_emulator("gp-se")
    server = serve(handset)
    try:
        doc = yaml.safe_load(BASE.read_text())
        host, port = server.address
        doc["ixit"]["handset"].pop("reference")
        doc["ixit"]["handset"]["agent"] = {"host": host, "port": port, "timeout": 10}
        path = tmp_path / "agent.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        result = run_conformance(pytester, path, HS)
        assert outcome(result) == {"passed": len(CASES)}
    finally:
        server.stop()
        handset.close()
