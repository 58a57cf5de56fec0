"""The flow-step files of the SIM design (conformance/sim/flow-steps-000.yaml, -001, -003): every step of the
figures and every open issue of seeds 000, 001 and 003 is listed, maps to requirements that exist and cite
it by section (jpkikit/report/flow_steps.py), or says why it is no behaviour the kit can certify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from jpkikit.harness.bundled import suite_dir
from jpkikit.harness.catalogue import load_catalogue
from jpkikit.report.flow_steps import check_file, circled, step_files

from .conformance_runner import REPO

SIM = REPO / "conformance" / "sim"
FILES = {f"seed-{n}": SIM / f"flow-steps-{n}.yaml" for n in ("000", "001", "003")}


def steps(document: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load(FILES[document].read_text(encoding="utf-8"))
    assert doc["document"] == document
    return doc["steps"]


def labels(document: str, section: str) -> set[str]:
    return {str(s["step"]) for s in steps(document) if s["section"] == section and s.get("step")}


@pytest.mark.parametrize("document", sorted(FILES))
def test_the_file_passes_the_gate(document: str) -> None:
    assert FILES[document] in step_files(suite_dir()), f"the gate does not read {FILES[document].name}"
    assert check_file(load_catalogue(), FILES[document]) == []


@pytest.mark.parametrize("document", sorted(FILES))
def test_each_entry_maps_to_requirements_or_says_why_it_is_outside(document: str) -> None:
    for entry in steps(document):
        assert "section" in entry and "page" not in entry and entry.get("what"), entry
        if "outside" in entry:
            assert not entry.get("requirements") and str(entry["outside"]).strip(), entry
        else:
            assert entry.get("requirements"), entry


# Steps no requirement tests yet, left out of the files for the lead to decide: seed 000 §4(1) ⑥, J-LIS's
# notice that the key and certificate are registered (a requirement would check that the SP-TSM hands out an
# access code only for a key pair and certificate J-LIS registered for that card).
GAPS: set[tuple[str, int]] = set()


def test_the_files_list_every_numbered_step_of_the_figures() -> None:
    # seed 000 §4(1): the Android counter-terminal flow, steps ①-⑰ (the figure has no ⑦);
    # §4(3): the access control of 課題⑥, steps ①-⑤
    for section, wanted in (("§4(1)", set(range(1, 18)) - {7}), ("§4(3)", set(range(1, 6)))):
        numbered = {circled(label) for label in labels("seed-000", section)} - {None}
        gaps = {n for s, n in GAPS if s == section}
        assert numbered >= wanted - gaps, (
            f"seed 000 {section}: steps {sorted(wanted - numbered)} are not listed"
        )
        assert not numbered & gaps, f"seed 000 {section}: a step of GAPS is listed now; drop it from GAPS"


def test_the_files_list_every_issue_of_seed_000() -> None:
    issues = {f"課題{chr(0x2460 + n - 1)}" for n in range(1, 9)}
    assert labels("seed-000", "§3") >= issues
    # §4(2): the SIM swap (through the app, a reader), the phone off, the remote lock, the figure
    assert labels("seed-000", "§4(2)") >= {"課題③", "備考", "※1", "図"}
    assert labels("seed-000", "§4(4)") >= {"課題⑦"}
    lifecycle = {"申請・発行", "JPKI-アプレットのインストール", "サービス利用", "JPKI-アプレットの削除"}
    lifecycle |= {
        "機種変更",
        "譲渡",
        "紛失",
        "更新",
        "PIN初期化",
        "失効",
        "リモートロック",
        "リモートロック解除",
    }
    assert labels("seed-000", "§6") >= lifecycle
    assert labels("seed-000", "§4(1)") >= {"PINの初期化、変更"}


def test_the_files_list_the_technical_points_of_seeds_001_and_003() -> None:
    assert labels("seed-001", "5. 議事概要 (1)") >= {
        "ユーザー認証",  # 資料5-1 p.7: access code and password at the SP-TSM
        "アプレットのダウンロード",  # the MNO-TSM's download
        "発行データの書き込み",  # the key and certificate written by the SP-TSM
        "SP領域の安全性",  # 資料5-1 p.8: the three safety questions
        "アプレット配送の安全性",
        "秘密鍵配送の安全性",
    }
    assert labels("seed-003", "1. 技術的な検討課題 (1)") >= {"ア", "イ"}
    assert labels("seed-003", "1. 技術的な検討課題 (2)") >= {"ア"}
    assert labels("seed-003", "2. 制度面の課題") >= {"(1)", "(2)"}
    assert labels("seed-003", "2. 運用面の課題") >= {f"({n})" for n in range(1, 8)}
    sections = {s["section"] for s in steps("seed-003")}
    assert sections >= {"§実現イメージの概要", "§別紙1", "§ネットワーク経由による格納", "§窓口での格納"}


def test_a_removed_citation_is_caught(tmp_path: Path) -> None:
    # the same entry, cited by no requirement once its section or step differs
    suite = tmp_path / "suite"
    suite.mkdir()
    path = suite / "flow-steps-x.yaml"
    path.write_text(
        "document: seed-000\nsteps:\n"
        '  - {section: "§4(1)", step: ⑪, what: "access code", requirements: [TSM-AC-01]}\n'
        '  - {section: "§4(1)", step: ⑯, what: "not cited by it", requirements: [TSM-AC-01]}\n',
        encoding="utf-8",
    )
    problems = check_file(load_catalogue(), path)
    assert len(problems) == 1 and "§4(1) ⑯: none of TSM-AC-01 cites" in problems[0], problems
