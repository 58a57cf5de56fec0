"""The flow-step check of the coverage gate (jpkikit/report/flow_steps.py): every step of seed 004's flows
(pp.15-18, 21-26) in conformance/tsm/flow-steps.yaml maps to requirements that exist and cite it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from jpkikit.harness.catalogue import load_catalogue
from jpkikit.report.flow_steps import circled, flow_step_problems, names_step, page_segments

from .conformance_runner import REPO

STEPS = REPO / "conformance" / "tsm" / "flow-steps.yaml"


def test_every_seed_004_step_has_a_citing_requirement() -> None:
    assert flow_step_problems(load_catalogue()) == []


def test_the_step_file_covers_every_circled_step_of_the_flow_charts() -> None:
    steps = yaml.safe_load(STEPS.read_text())["steps"]
    numbered = {(s["page"], circled(s["step"])) for s in steps if s.get("step") and circled(s["step"])}
    for page, last in ((15, 23), (17, 36), (18, 23), (25, 6), (26, 5)):
        first = 23 if page == 17 else 1
        missing = [n for n in range(first, last + 1) if (page, n) not in numbered]
        assert not missing, f"p.{page}: steps {missing} are not in {STEPS.name}"
    assert {s["page"] for s in steps} >= {15, 16, 17, 18, 21, 22, 23, 24, 25, 26}


def test_citations_name_steps_alone_in_ranges_and_by_label() -> None:
    segments = page_segments("p.15 steps ⑩–⑯, p.17 steps ㉓-㊱ and 補足1; p.22 対策1-1")
    assert names_step(segments[15], "⑫") and not names_step(segments[15], "⑰")
    assert names_step(segments[17], "㉚") and names_step(segments[17], "補足1")
    assert names_step(segments[22], "対策1-1") and not names_step(segments[22], "対策2-1")
    assert circled("①") == 1 and circled("⑳") == 20 and circled("㉑") == 21 and circled("㊱") == 36


def test_a_step_without_a_citing_requirement_is_a_problem(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "flow-steps.yaml").write_text(
        textwrap.dedent(
            """\
            document: seed-004
            steps:
              - {page: 15, step: ⑲, what: "H[R] = S", requirements: [TSM-KEY-02]}
              - {page: 15, step: ⑲, what: "cited by another requirement only", requirements: [TSM-PIN-01]}
              - {page: 99, what: "no such page", requirements: [TSM-DEL-01]}
              - {page: 15, step: ①, what: "an unknown ID", requirements: [TSM-NOPE-01]}
            """
        )
    )
    problems = flow_step_problems(load_catalogue(), [suite])
    assert len(problems) == 3, problems
    assert "p.15 ⑲: none of TSM-PIN-01 cites" in problems[0]
    assert "p.99" in problems[1] and "unknown requirement(s) TSM-NOPE-01" in problems[2]


def test_steps_of_a_document_without_pages_are_cited_by_section(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "flow-steps-sim.yaml").write_text(
        textwrap.dedent(
            """\
            document: seed-000
            steps:
              - {section: "§4(2)", step: 課題③, what: "SIM swap", requirements: [SIM-SWAP-01]}
              - {section: "§4 (2)", step: 課題⑨, what: "no such risk", requirements: [SIM-SWAP-01]}
              - {section: "§9", what: "no such section", requirements: [SIM-SWAP-01]}
              - {section: "§5", what: "cost sharing", outside: "an institutional question"}
              - {section: "§5", what: "no reason", outside: ""}
            """
        )
    )
    problems = flow_step_problems(load_catalogue(), [suite])
    assert len(problems) == 3, problems
    assert "seed-000 §4 (2) 課題⑨: none of SIM-SWAP-01 cites this section and step" in problems[0]
    assert "seed-000 §9: none of SIM-SWAP-01 cites this section" in problems[1]
    assert "seed-000 §5: outside the kit's scope, but no reason given" in problems[2]
