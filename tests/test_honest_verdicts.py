"""Honest verdicts on implementations the kit did not build: faults that show as cryptographic or structural
errors on the host side give FAIL, never kit error; a device that stops answering gives inconclusive."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .cli_runner import jpkikit
from .conformance_runner import REPO, faulty_profile


def counts(stdout: str) -> dict[str, int]:
    line = next(line for line in stdout.splitlines() if " pass, " in line and "kit error" in line)
    return {what: int(n) for n, what in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", line)}


@pytest.mark.parametrize(
    "factory",
    [
        "tests.faulty_gp:other_key_version",
        "tests.faulty_gp:bad_card_cryptogram",
        "tests.faulty_gp:bad_r_mac",
    ],
)
def test_cryptographic_faults_fail(tmp_path: Path, factory: str) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", factory)
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / "r"), "-k", "gp or aram")
    got = counts(proc.stdout)
    assert got["fail"] > 0 and got["kit error"] == 0 and got["inconclusive"] == 0, proc.stdout[-3000:]


def test_malformed_answers_fail(tmp_path: Path) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.faulty_link:garbage")
    proc = jpkikit("certify", "--profile", str(profile), "--results", str(tmp_path / "r"), "-k", "iso7816")
    got = counts(proc.stdout)
    assert got["fail"] > 0 and got["kit error"] == 0, proc.stdout[-3000:]
    assert "response APDU is 1 bytes; it needs at least SW1 SW2" in proc.stdout or "too short" in proc.stdout


def test_a_wrong_jpki_aid_fails_the_jpki_requirements(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "profiles" / "emulator-gpse.yaml").read_text())
    doc["ixit"]["aids"]["jpki"] = "D392F000260100000002"
    path = tmp_path / "wrong-aid.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = jpkikit("certify", "--profile", str(path), "--results", str(tmp_path / "r"), "-k", "jpki")
    got = counts(proc.stdout)
    assert got["kit error"] == 0 and got["fail"] > 0, proc.stdout[-3000:]
