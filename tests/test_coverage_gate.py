"""The coverage gate: the kit's own suite passes it, and each way of breaking it is caught."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jpkikit.cli.main import main
from jpkikit.harness.catalogue import load_catalogue
from jpkikit.report.coverage import check_coverage, collect_tests, default_suite

from .conformance_runner import REPO

CATALOGUE = """\
area: demo
id_prefix: DEMO
requirements:
  - id: DEMO-A-01
    title: tested
    title_ja: 題名
    statement: A.
    statement_ja: 文。
    source: [{doc: iso7816-4, at: "x"}]
    classes: [gp-se]
  - id: DEMO-B-01
    title: waived, not tested
    title_ja: 題名
    statement: B.
    statement_ja: 文。
    source: [{doc: iso7816-4, at: "x"}]
    classes: [gp-se]
    waiver: may be accepted when ...
  - id: DEMO-C-01
    title: neither tested nor waived
    title_ja: 題名
    statement: C.
    statement_ja: 文。
    source: [{doc: iso7816-4, at: "x"}]
    classes: [gp-se]
"""


def demo(tmp_path: Path, tests: str, catalogue: str = CATALOGUE) -> tuple[Path, Path]:
    (tmp_path / "cat").mkdir(parents=True)
    (tmp_path / "cat" / "demo.yaml").write_text(catalogue)
    suite = tmp_path / "conformance"
    (suite / "area").mkdir(parents=True)
    (suite / "area" / "test_demo.py").write_text(textwrap.dedent(tests))
    return tmp_path / "cat", suite


def gate(cat: Path, suite: Path) -> list[str]:
    return check_coverage(load_catalogue([cat]), collect_tests(suite)).problems


def test_the_kit_suite_passes_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    """CI runs this: a requirement without test or waiver, or a test naming none or an unknown one, fails."""
    code = main(["coverage"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "coverage gate passed" in out


def test_static_collection_matches_pytest_collection() -> None:
    """The gate reads the suite with ast; it must see exactly the tests pytest collects."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "conformance"),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = {line.split("[")[0] for line in proc.stdout.splitlines() if "::" in line}
    static = {t.nodeid for t in collect_tests(default_suite())}
    assert static == collected


def test_untested_requirement_without_waiver_fails(tmp_path: Path) -> None:
    cat, suite = demo(
        tmp_path,
        """
        import pytest
        @pytest.mark.requirement("DEMO-A-01")
        def test_a(): pass
        """,
    )
    assert gate(cat, suite) == ["DEMO-C-01 (demo.yaml): no conformance test and no waiver"]
    result = check_coverage(load_catalogue([cat]), collect_tests(suite))
    assert result.waived == ["DEMO-B-01"] and not result.ok
    assert main(["coverage", "--suite", str(suite), "--catalogue", str(cat)]) == 1


def test_every_requirement_covered_or_waived_passes(tmp_path: Path) -> None:
    cat, suite = demo(
        tmp_path,
        """
        import pytest
        from pytest import mark
        pytestmark = [pytest.mark.slow]
        @pytest.mark.requirement("DEMO-A-01")
        def test_a(): pass
        @mark.requirement("DEMO-C-01")
        class TestC:
            def test_c(self): pass
        """,
    )
    assert gate(cat, suite) == []
    assert main(["coverage", "--suite", str(suite), "--catalogue", str(cat)]) == 0


def test_a_test_naming_no_requirement_fails(tmp_path: Path) -> None:
    cat, suite = demo(
        tmp_path,
        """
        import pytest
        pytestmark = pytest.mark.requirement("DEMO-C-01")
        def test_module_marked(): pass
        def helper(): pass
        class TestX:
            def test_x(self): pass
        """,
    )
    cat2, suite2 = demo(tmp_path / "2", "def test_bare():\n    pass\n")
    assert gate(cat, suite) == ["DEMO-A-01 (demo.yaml): no conformance test and no waiver"]
    assert "conformance/area/test_demo.py::test_bare (line 1): names no requirement" in gate(cat2, suite2)


def test_unknown_and_unreadable_requirement_ids_fail(tmp_path: Path) -> None:
    cat, suite = demo(
        tmp_path,
        """
        import pytest
        IDS = ("DEMO-C-01",)
        @pytest.mark.requirement("DEMO-A-01", "DEMO-Z-99")
        def test_a(): pass
        @pytest.mark.requirement(*IDS)
        def test_c(): pass
        """,
    )
    problems = gate(cat, suite)
    assert "conformance/area/test_demo.py::test_a (line 5): unknown requirement ID 'DEMO-Z-99'" in problems
    assert any("test_c: requirement marker argument" in p and "not a string literal" in p for p in problems)
    assert "DEMO-C-01 (demo.yaml): no conformance test and no waiver" in problems


def test_bad_suite_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", "--suite", str(tmp_path / "nope")]) == 2
    assert "conformance suite not found" in capsys.readouterr().err
    (tmp_path / "test_broken.py").write_text("def test_(:\n")
    assert main(["coverage", "--suite", str(tmp_path)]) == 2
    assert "cannot parse the test module" in capsys.readouterr().err
