"""jpkikit probe: what the implementation reports, against what its profile declares."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jpkikit.cli.main import main
from jpkikit.harness.profile import load_profile
from jpkikit.report.probe import Finding, parse_recognition, probe

from .conformance_runner import REPO, faulty_profile


def findings_of(path: Path) -> dict[str, Finding]:
    found, trace = probe(load_profile(path))
    assert '"format": "jpkikit-trace/1"' in trace
    return {f.item: f for f in found}


def edited(tmp_path: Path, base: str, **changes: object) -> Path:
    doc = yaml.safe_load((REPO / "profiles" / base).read_text())
    for dotted, value in changes.items():
        node = doc
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    path = tmp_path / base
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_emulator_is_as_declared(capsys: pytest.CaptureFixture[str]) -> None:
    found = findings_of(REPO / "profiles" / "emulator-gpse.yaml")
    assert found["token label (JPKI EF 0006)"].status == "match"
    assert found["SCP03 i parameter (tag 64)"].status == "match"
    assert found["SCP03 security levels that open a session"].status == "match"
    assert found["ATR"].status == "observed"  # the profile declares no ATR
    assert (
        found["CPLC (GET DATA 9F7F)"].status == "observed"
        and len(found["CPLC (GET DATA 9F7F)"].observed) == 84
    )
    assert not any(f.problem for f in found.values())
    assert main(["probe"]) == 0
    assert "0 mismatches" in capsys.readouterr().out


def test_every_mismatch_is_a_finding_of_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = edited(
        tmp_path,
        "emulator-gpse.yaml",
        ics__jpki__token_label="SOMEOTHERTOKEN",
        ics__gp__i="60",
        ics__gp__levels=["01", "03"],
        ics__iso7816__atr="3B00",
    )
    found = findings_of(path)
    label = found["token label (JPKI EF 0006)"]
    assert (label.status, label.declared, label.observed) == ("mismatch", "SOMEOTHERTOKEN", "JPKIAPGPSETOKEN")
    assert found["SCP03 i parameter (tag 64)"].status == "mismatch"
    levels = found["SCP03 security levels that open a session"]
    assert (levels.status, levels.declared, levels.observed) == ("mismatch", "01 03", "01 03 11 13 33")
    assert found["ATR"].status == "mismatch" and found["ATR"].declared == "3B00"
    results = tmp_path / "results"
    assert main(["probe", "--profile", str(path), "--results", str(results)]) == 1
    out = capsys.readouterr().out
    assert "4 mismatches" in out and "MISMATCH     token label (JPKI EF 0006)" in out
    assert (results / "probe.json").is_file() and (results / "traces" / "probe.json").is_file()


def test_unanswered_probes_are_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    """The My Number card personality has no GlobalPlatform: GET DATA is refused, and recorded so."""
    found = findings_of(REPO / "profiles" / "emulator-card.yaml")
    cplc = found["CPLC (GET DATA 9F7F)"]
    assert cplc.status == "not answered" and cplc.observed.startswith("SW ") and not cplc.problem
    assert found["card recognition data (GET DATA 66)"].status == "not answered"
    assert found["token label (JPKI EF 0006)"].status == "match"
    assert "SCP03 security levels that open a session" not in found  # no keys in the profile: not probed
    assert main(["probe", "--profile", str(REPO / "profiles" / "emulator-card.yaml")]) == 0
    assert "NOT ANSWERED CPLC" in capsys.readouterr().out


def test_a_device_that_stops_answering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.faulty_link:dies")
    found = findings_of(profile)
    assert found.pop("ATR").status == "observed"  # a reset still answers
    assert found and all(f.status == "not answered" for f in found.values())
    assert "simulator lost its device" in found["token label (JPKI EF 0006)"].detail
    assert main(["probe", "--profile", str(profile)]) == 1  # the declared token label went unanswered
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err


def test_a_gp_card_that_does_not_answer_get_data(tmp_path: Path) -> None:
    profile = faulty_profile(tmp_path, "emulator-gpse.yaml", "tests.test_report_probe:no_get_data")
    found = findings_of(profile)
    recognition = found["card recognition data (GET DATA 66)"]
    assert recognition.status == "not answered" and recognition.problem  # the profile claims GP
    assert found["token label (JPKI EF 0006)"].status == "match"  # the other probes carry on


def no_get_data(personality: str | None, state: Path | None) -> object:
    from jpkikit.reference.emulator.personalities import get_personality
    from jpkikit.reference.emulator.runtime import Card

    class NoGetData(Card):
        def process(self, command: bytes) -> bytes:
            if command[:2] == b"\x80\xca":
                return b"\x6d\x00"
            return super().process(command)

    return NoGetData(get_personality(personality or "gp-se"), state)


def test_parse_recognition() -> None:
    from jpkikit.vocab.iso7816.tlv import Tlv

    def oid(tag: int, value: str) -> bytes:
        return Tlv(tag, Tlv(0x06, bytes.fromhex(value)).encode()).encode()

    body = (
        Tlv(0x06, bytes.fromhex("2A864886FC6B01")).encode()
        + oid(0x60, "2A864886FC6B02020301")  # GlobalPlatform 2.3.1 (GPCS H.2)
        + oid(0x64, "2A864886FC6B040370")  # SCP03, i=70
    )
    data = Tlv(0x66, Tlv(0x73, body).encode()).encode()
    assert parse_recognition(data) == {"gp_version": "2.3.1", "scp03": "70"}
    assert parse_recognition(Tlv(0x73, body).encode()) == {"gp_version": "2.3.1", "scp03": "70"}
