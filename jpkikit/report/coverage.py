"""The coverage gate: every catalogue requirement has a conformance test or a written waiver, and every
conformance test names at least one requirement, all of them known.

Tests are collected statically (``ast``), without importing them: a test is a ``test_*`` function at module
level or in a ``Test*`` class of a ``test_*.py`` file under the suite directory; its requirement IDs come
from ``@pytest.mark.requirement(...)`` on the function or its class and from a module-level ``pytestmark``.
IDs must be string literals, so that the gate can read them; anything else is a problem of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from jpkikit.errors import KitError
from jpkikit.harness.catalogue import Catalogue


@dataclass(frozen=True)
class TestRef:
    __test__ = False  # not a pytest test class

    nodeid: str  # path relative to the suite's parent, ::Class::test
    line: int
    requirements: tuple[str, ...]
    problems: tuple[str, ...] = ()  # markers the gate could not read


@dataclass
class Coverage:
    tests: list[TestRef]
    covered: dict[str, list[str]] = field(default_factory=dict)  # requirement -> test node IDs
    waived: list[str] = field(default_factory=list)  # no test, but a waiver
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [
            f"coverage: {len(self.tests)} conformance tests, {len(self.covered)} requirements tested, "
            f"{len(self.waived)} waived without a test"
        ]
        lines += [f"  waived: {rid}" for rid in self.waived]
        if self.problems:
            lines.append(f"coverage gate FAILED ({len(self.problems)} problems):")
            lines += [f"  {p}" for p in self.problems]
        else:
            lines.append("coverage gate passed")
        return "\n".join(lines)


def _marker_name(node: ast.expr) -> str | None:
    """``requirement`` for pytest.mark.requirement(...) / mark.requirement(...); else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        inner = node.func.value
        is_mark = (isinstance(inner, ast.Attribute) and inner.attr == "mark") or (
            isinstance(inner, ast.Name) and inner.id == "mark"
        )
        if is_mark:
            return node.func.attr
    return None


def _read_markers(nodes: Iterable[ast.expr], where: str) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    problems: list[str] = []
    for node in nodes:
        if _marker_name(node) != "requirement":
            continue
        assert isinstance(node, ast.Call)
        if node.keywords:
            problems.append(f"{where}: requirement marker takes IDs only, not keyword arguments")
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                ids.append(arg.value)
            else:
                problems.append(
                    f"{where}: requirement marker argument at line {arg.lineno} is not a string literal"
                )
    return ids, problems


def _pytestmark(tree: ast.Module) -> list[ast.expr]:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            value = stmt.value
            return list(value.elts) if isinstance(value, ast.List | ast.Tuple) else [value]
    return []


def collect_tests(suite: Path) -> list[TestRef]:
    """Every conformance test under ``suite`` with the requirement IDs it names."""
    if not suite.is_dir():
        raise KitError(f"conformance suite not found: {suite} is not a directory")
    tests: list[TestRef] = []
    for file in sorted(suite.rglob("test_*.py")):
        rel = file.relative_to(suite.parent).as_posix()
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            raise KitError(f"{file}: cannot parse the test module: {exc}") from None
        module_ids, module_problems = _read_markers(_pytestmark(tree), rel)
        for stmt in tree.body:
            scopes: list[tuple[str, list[ast.expr], ast.AST]] = []
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
                scopes.append((f"{rel}::{stmt.name}", [], stmt))
            elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
                for member in stmt.body:
                    if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) and member.name.startswith(
                        "test"
                    ):
                        scopes.append((f"{rel}::{stmt.name}::{member.name}", stmt.decorator_list, member))
            for nodeid, outer, func in scopes:
                assert isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
                ids, problems = _read_markers([*outer, *func.decorator_list], nodeid)
                all_ids = tuple(dict.fromkeys([*module_ids, *ids]))
                tests.append(TestRef(nodeid, func.lineno, all_ids, tuple(module_problems + problems)))
    return tests


def check_coverage(catalogue: Catalogue, tests: list[TestRef]) -> Coverage:
    result = Coverage(tests)
    for test in tests:
        result.problems.extend(test.problems)
        if not test.requirements and not test.problems:
            result.problems.append(f"{test.nodeid} (line {test.line}): names no requirement")
        for rid in test.requirements:
            if rid in catalogue:
                result.covered.setdefault(rid, []).append(test.nodeid)
            else:
                result.problems.append(f"{test.nodeid} (line {test.line}): unknown requirement ID {rid!r}")
    for req in catalogue:
        if req.id in result.covered:
            continue
        if req.waiver:
            result.waived.append(req.id)
        else:
            result.problems.append(f"{req.id} ({req.file.name}): no conformance test and no waiver")
    from jpkikit.report.flow_steps import flow_step_problems  # every seed flow step has a requirement

    result.problems.extend(flow_step_problems(catalogue))
    return result


def default_suite() -> Path:
    from jpkikit.harness.bundled import suite_dir

    return suite_dir()
