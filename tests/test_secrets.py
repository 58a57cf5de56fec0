"""Secrets never render, derived values are secrets, and the scrubber finds every form of every secret
(jpkikit.secrets, jpkikit.harness.redaction)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

from jpkikit.harness.redaction import scrub_report, scrub_tree
from jpkikit.secrets import REDACTED, Secret, find_leaks, forms, reveal_bytes, scrub


def test_a_secret_never_renders() -> None:
    s = Secret("auth_pin", "4711", "env:PIN")
    for text in (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>10}", "{}".format(s)):  # noqa: UP032
        assert "4711" not in text and "auth_pin" in text
    assert reveal_bytes(s) == b"4711"


def test_derived_values_are_secrets_and_are_scrubbed() -> None:
    s = Secret("auth_pin", "4712", "env:PIN")
    wrong = s.derive("last character +1", lambda v: v[:-1] + "3")
    assert "4713" not in repr(wrong) and reveal_bytes(wrong) == b"4713"
    assert scrub("verify(24, '4713')") == f"verify(24, '{REDACTED}')"


def test_binary_secrets_are_scrubbed_as_hex_and_as_bytes_repr() -> None:
    temp = Secret.of_bytes("temporary PIN", bytes.fromhex("A1B2C3D4E5F60718"))
    assert reveal_bytes(temp) == bytes.fromhex("A1B2C3D4E5F60718")
    assert REDACTED in scrub("data A1B2C3D4E5F60718 sent")
    assert REDACTED in scrub(repr(bytes.fromhex("A1B2C3D4E5F60718")))


def test_short_values_are_found_as_tokens_only() -> None:
    Secret("sign_pin", "8642", "env:X")
    assert scrub("PinState(value='8642')") == f"PinState(value='{REDACTED}')"
    assert scrub("took 0.8642 s, 186420 bytes, x8642y") == "took 0.8642 s, 186420 bytes, x8642y"
    assert REDACTED in scrub("ascii hex 38363432")  # the hex of its ASCII counts at any position


def test_forms_of_a_key_include_its_hex_in_both_cases() -> None:
    assert {"00112233445566778899AABBCCDDEEFF", "00112233445566778899aabbccddeeff"} <= set(
        forms("00112233445566778899AABBCCDDEEFF")
    )


def test_find_leaks_names_the_secret() -> None:
    secrets = {"9753": "auth_pin", "404142434445464748494A4B4C4D4E4F": "scp03_isd_30"}
    assert find_leaks("VERIFY 9753", secrets) == ["auth_pin"]
    assert find_leaks("key 404142434445464748494a4b4c4d4e4f", secrets) == ["scp03_isd_30"]
    assert find_leaks("nothing here 19753", secrets) == []


def test_reports_are_scrubbed_in_place() -> None:
    Secret("auth_pin", "2468", "env:X")
    report = SimpleNamespace(
        longrepr="assert verify(24, '2468').ok",
        sections=[("Captured log call", "sent 2468")],
        user_properties=[("note", "2468")],
    )
    scrub_report(report)
    assert "2468" not in f"{report.longrepr}{report.sections}{report.user_properties}"
    skip = SimpleNamespace(longrepr=("f.py", 3, "Skipped: 2468"), sections=[], user_properties=[])
    scrub_report(skip)
    assert skip.longrepr == ("f.py", 3, f"Skipped: {REDACTED}")


def test_scrubbed_files_stay_json_and_xml(tmp_path: Path) -> None:
    Secret("sign_pin", "QWERTY9", "env:X")
    (tmp_path / "a-result.json").write_text(json.dumps({"message": "got QWERTY9", "n": 1}))
    (tmp_path / "junit.xml").write_text(
        '<testsuite><testcase name="t"><failure message="QWERTY9"/></testcase></testsuite>'
    )
    changed = scrub_tree(tmp_path)
    assert len(changed) == 2
    assert json.loads((tmp_path / "a-result.json").read_text()) == {"message": f"got {REDACTED}", "n": 1}
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert root.find("testcase/failure").get("message") == REDACTED
