"""Applicability conditions: a tiny, safe expression language over a profile's ICS.

A requirement may carry ``applies_if: <expression>``. The expression is parsed with :mod:`ast` and only a
whitelist of node types is accepted: dotted profile fields (``ics.iso7816.extended_length``), constants
(integers, strings, ``True``, ``False``, ``None``), comparisons (``== != < <= > >= in``, ``not in``,
chained comparisons), lists/tuples of constants on the right of ``in``, ``not``, ``and``, ``or``.
Nothing is ever passed to ``eval``. Every problem is a :class:`CatalogueError` raised at load time.

Given the types of the profile fields (:class:`FieldSpec`), parsing also checks that each field exists,
that a bare field is a boolean, that ``<``/``>`` compare integers, and that string constants are among a
field's allowed values, so that a typo such as ``ics.personality == 'gpse'`` fails when the catalogue is
loaded instead of silently never applying.

Evaluation returns ``(bool, reason)``; the reason names the deciding sub-condition and the profile's
actual values, e.g. ``ics.iso7816.logical_channels > 1 is false: ics.iso7816.logical_channels is 1``.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from jpkikit.errors import CatalogueError

#: Longest condition text accepted (keeps parsing bounded on hostile input).
MAX_LENGTH = 500

FieldType = Literal["bool", "int", "str"]


@dataclass(frozen=True)
class FieldSpec:
    """The type of one profile field a condition may read; ``choices`` lists a string field's values."""

    type: FieldType
    choices: tuple[str, ...] | None = None


_ORDER_OPS: dict[type[ast.cmpop], Callable[[object, object], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_EQ_OPS: dict[type[ast.cmpop], Callable[[object, object], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_IN_OPS: dict[type[ast.cmpop], Callable[[object, object], bool]] = {
    ast.In: lambda a, b: a in b,  # type: ignore[operator]
    ast.NotIn: lambda a, b: a not in b,  # type: ignore[operator]
}
_OPS = {**_ORDER_OPS, **_EQ_OPS, **_IN_OPS}
_CONSTANT_TYPES = (bool, int, str, type(None))


def show(value: object) -> str:
    """A profile value as a reason shows it: YAML spelling for booleans, quotes around strings."""
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def _value_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    return "none"


_TYPE_NAMES = {"bool": "a boolean", "int": "an integer", "str": "a string", "none": "None"}


class Condition:
    """A parsed, checked condition. Build it with :func:`parse_condition`."""

    def __init__(self, text: str, tree: ast.expr, fields: frozenset[str]) -> None:
        self.text = text
        self._tree = tree
        #: The dotted profile fields the condition reads.
        self.fields = fields

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    def evaluate(self, lookup: Callable[[str], object]) -> tuple[bool, str]:
        """Evaluate against a profile; ``lookup`` maps a dotted field to its value (e.g. ``Profile.get``).

        Returns whether the condition holds and a human reason naming the deciding sub-condition and the
        actual values. Raises CatalogueError if the values cannot be compared.
        """
        return self._truth(self._tree, lookup)

    def _segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def _truth(self, node: ast.expr, lookup: Callable[[str], object]) -> tuple[bool, str]:
        if isinstance(node, ast.BoolOp):
            want = isinstance(node.op, ast.Or)  # the value that decides: True for or, False for and
            reasons = []
            for operand in node.values:
                ok, why = self._truth(operand, lookup)
                if ok is want:
                    return ok, why
                reasons.append(why)
            return not want, "; ".join(reasons)
        if isinstance(node, ast.UnaryOp):  # only `not` passes the checker
            ok, why = self._truth(node.operand, lookup)
            return not ok, why
        if isinstance(node, ast.Compare):
            return self._compare(node, lookup)
        path = _field_path(node)
        value = lookup(path)
        if value is None:
            return False, f"{path} is not given"
        return bool(value), f"{path} is {show(value)}"

    def _compare(self, node: ast.Compare, lookup: Callable[[str], object]) -> tuple[bool, str]:
        seen: dict[str, object] = {}

        def value_of(operand: ast.expr) -> object:
            if isinstance(operand, ast.Constant):
                return operand.value
            if isinstance(operand, (ast.List, ast.Tuple)):
                return [value_of(e) for e in operand.elts]
            path = _field_path(operand)
            seen[path] = lookup(path)
            return seen[path]

        left = value_of(node.left)
        result = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = value_of(right_node)
            if type(op) in _ORDER_OPS and (left is None or right is None):
                result = False  # an absent optional field orders with nothing
            else:
                try:
                    result = _OPS[type(op)](left, right)
                except TypeError as exc:
                    raise CatalogueError(
                        f"condition {self.text!r}: cannot evaluate {self._segment(node)}: {exc}"
                    ) from None
            if not result:
                break
            left = right
        facts = ", ".join(f"{path} is {show(value)}" for path, value in seen.items())
        return result, f"{self._segment(node)} is {show(result)}: {facts}"


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` as a dotted path; None if the expression is not a chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _field_path(node: ast.expr) -> str:
    path = _dotted(node)
    assert path is not None  # the checker admitted only fields here
    return path


class _Checker:
    """Walks the parsed tree once, rejecting anything outside the whitelist."""

    def __init__(self, text: str, fields: Mapping[str, FieldSpec] | None) -> None:
        self.text = text
        self.known = fields
        self.used: set[str] = set()

    def fail(self, problem: str) -> CatalogueError:
        return CatalogueError(f"condition {self.text!r}: {problem}")

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or type(node).__name__

    def truth(self, node: ast.expr) -> None:
        """A node used as a truth value: and/or/not, a comparison, or a boolean field."""
        if isinstance(node, ast.BoolOp):
            for operand in node.values:
                self.truth(operand)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.truth(node.operand)
        elif isinstance(node, ast.Compare):
            self.compare(node)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            path, spec = self.field(node)
            if spec is not None and spec.type != "bool":
                raise self.fail(
                    f"{path} is {_TYPE_NAMES[spec.type]}, not a boolean; compare it with a value "
                    f"(e.g. {path} {'> 1' if spec.type == 'int' else '== ...'})"
                )
        elif isinstance(node, ast.Constant):
            raise self.fail(f"the constant {self.segment(node)} on its own is not a condition")
        else:
            raise self.fail(f"{self.segment(node)!r} is not allowed ({_describe(node)})")

    def field(self, node: ast.expr) -> tuple[str, FieldSpec | None]:
        path = _dotted(node)
        if path is None:
            raise self.fail(f"{self.segment(node)!r} is not a profile field")
        self.used.add(path)
        if self.known is None:
            return path, None
        if path not in self.known:
            hint = ""
            if path in ("true", "false", "null", "none"):
                hint = "; write True, False or None"
            else:
                close = difflib.get_close_matches(path, list(self.known), n=1)
                if close:
                    hint = f"; did you mean {close[0]}?"
            raise self.fail(f"unknown profile field {path!r}{hint}")
        return path, self.known[path]

    def operand(self, node: ast.expr) -> _Operand:
        """A comparison operand: a profile field, a constant, or a list of constants."""
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, _CONSTANT_TYPES):
                raise self.fail(f"constant {self.segment(node)} is not allowed (use integers or strings)")
            return _Operand("const", None, node.value)
        if isinstance(node, (ast.List, ast.Tuple)):
            values = []
            for element in node.elts:
                if not isinstance(element, ast.Constant) or not isinstance(element.value, _CONSTANT_TYPES):
                    raise self.fail(f"a list may hold only constants, not {self.segment(element)!r}")
                values.append(element.value)
            return _Operand("list", None, values)
        if isinstance(node, (ast.Name, ast.Attribute)):
            path, spec = self.field(node)
            return _Operand("field", spec, path)
        raise self.fail(f"{self.segment(node)!r} is not allowed ({_describe(node)})")

    def compare(self, node: ast.Compare) -> None:
        where = self.segment(node)
        left = self.operand(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _OPS:
                raise self.fail(f"operator {type(op).__name__} is not allowed (use == != < <= > >= in)")
            right = self.operand(right_node)
            if type(op) in _IN_OPS:
                if right.kind != "list" or left.kind == "list":
                    raise self.fail(
                        f"'in' needs a field or constant on the left and a list on the right: {where}"
                    )
                for value in right.value:  # type: ignore[attr-defined]
                    self.match(left, value, where)
            elif "list" in (left.kind, right.kind):
                raise self.fail(f"a list can only follow 'in' or 'not in': {where}")
            elif left.kind == right.kind == "const":
                raise self.fail(f"{where} compares two constants; name a profile field")
            elif type(op) in _ORDER_OPS:
                for side in (left, right):
                    self.require_int(side)
            else:
                field, const = (left, right) if right.kind == "const" else (right, left)
                self.match(field, const.value, where)
            left = right

    def require_int(self, side: _Operand) -> None:
        if side.kind == "field":
            if side.spec is None or side.spec.type == "int":
                return
            shown = str(side.value)
        elif _value_type(side.value) == "int":
            return
        else:
            shown = show(side.value)
        raise self.fail(f"{shown} is not an integer; '<' and '>' compare integers only")

    def match(self, side: _Operand, value: object, where: str) -> None:
        """Check that a constant can equal the field ``side`` (no-op unless ``side`` is a typed field)."""
        if side.kind != "field" or side.spec is None or value is None:
            return
        spec = side.spec
        if _value_type(value) != spec.type:
            raise self.fail(
                f"{side.value} is {_TYPE_NAMES[spec.type]} but {show(value)} is "
                f"{_TYPE_NAMES[_value_type(value)]}: {where}"
            )
        if spec.choices is not None and value not in spec.choices:
            raise self.fail(
                f"{show(value)} is not a possible value of {side.value} ({', '.join(spec.choices)})"
            )


@dataclass(frozen=True)
class _Operand:
    kind: Literal["field", "const", "list"]
    spec: FieldSpec | None
    value: object  # the dotted path for a field, the value for a constant, a list of values for a list


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Call: "function calls are not allowed",
        ast.Subscript: "indexing is not allowed",
        ast.BinOp: "arithmetic is not allowed",
        ast.Lambda: "lambdas are not allowed",
        ast.IfExp: "conditional expressions are not allowed",
    }
    for kind, text in kinds.items():
        if isinstance(node, kind):
            return text
    return f"{type(node).__name__} expressions are not part of the condition language"


def parse_condition(text: object, fields: Mapping[str, FieldSpec] | None = None) -> Condition:
    """Parse and check an ``applies_if`` expression.

    ``fields`` maps each dotted profile field a condition may read to its type; when given, unknown
    fields and type mismatches are rejected. Raises CatalogueError for anything but a valid condition.
    """
    if not isinstance(text, str):
        raise CatalogueError(f"condition must be a string, got {type(text).__name__}")
    if not text.strip():
        raise CatalogueError("condition is empty")
    if len(text) > MAX_LENGTH:
        raise CatalogueError(f"condition is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CatalogueError(f"condition {text!r}: syntax error: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise CatalogueError(f"condition {text!r}: cannot be parsed: {type(exc).__name__}") from None
    checker = _Checker(text.strip(), fields)
    try:
        checker.truth(tree.body)
    except RecursionError:
        raise checker.fail("nested too deeply") from None
    return Condition(text.strip(), tree.body, frozenset(checker.used))
