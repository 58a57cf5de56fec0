"""Applicability conditions: small mappings over a profile's ICS, checked by a JSON Schema.

A requirement may carry ``applies_if``; ``catalogue.schema.json`` (``$defs/condition``) fixes its shape::

    {claim: ics.gp.scp03}                                   # a boolean ICS field is true
    {claim: ics.iso7816.extended_length, is: false}         # a boolean ICS field is false
    {claim: ics.iso7816.logical_channels, greater_than: 1}  # an integer field is greater than N
    {claim: ics.iso7816.logical_channels, less_than: 4}     # ... is less than N
    {claim: ics.iso7816.logical_channels, equals: 1}        # an integer or string field equals a value
    {claim: ics.personality, one_of: [gp-se, sim]}          # ... equals one of several values
    {all: [<condition>, ...]}                               # every condition holds
    {any: [<condition>, ...]}                               # at least one holds
    {not: <condition>}                                      # the condition does not hold

A claim about a field the profile does not give (an optional ICS section left out) is false, and its reason
says "not given"; ``not`` turns that into true, which is how "does not claim X" is written.

:func:`parse_condition` checks the shape against the schema and, given the ICS field types
(:func:`jpkikit.harness.profile.ics_fields`), that every field exists and that each test suits its type: a
bare claim or ``is`` needs a boolean field, ``greater_than``/``less_than`` an integer field, ``equals`` and
``one_of`` a value of the field's type and, for an enumerated field, one of its values. So a typo such as
``{claim: ics.personality, equals: gpse}`` fails when the catalogue loads instead of silently never applying.
Every problem is a :class:`CatalogueError`.

Evaluation returns ``(holds, reason)``; the reason names the deciding claim and the profile's actual value,
e.g. ``ics.iso7816.logical_channels > 1 is false: ics.iso7816.logical_channels is 1``.
:meth:`Condition.explain` gives the same reason as data, the deciding :class:`Fact` of each claim, so that a
report can word it in another language (jpkikit.report.i18n); ``reason_text`` of the facts is the English
reason.

This module also holds the few helpers that load ``catalogue.schema.json`` and turn a JSON Schema error into
a one-line message; :mod:`jpkikit.harness.catalogue` uses them for whole requirement files.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import jsonschema
from jsonschema.exceptions import ValidationError

from jpkikit.errors import CatalogueError

SCHEMA_PATH = Path(__file__).with_name("catalogue.schema.json")

FieldType = Literal["bool", "int", "str", "bytes", "list"]
Lookup = Callable[[str], object]


@dataclass(frozen=True)
class FieldSpec:
    """The type of one profile field a condition may read; ``choices`` lists an enumerated field's values."""

    type: FieldType
    choices: tuple[str | int, ...] | None = None


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
    return type(value).__name__


_TYPE_NAMES = {
    "bool": "a boolean",
    "int": "an integer",
    "str": "a string",
    "bytes": "bytes",
    "list": "a list",
}


class ConditionError(CatalogueError):
    """An invalid condition; ``where`` is the part at fault (``all[1].claim``; empty for the whole)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}" if where else problem)


# ---------------------------------------------------------------------------------------------------------
# The condition tree


@dataclass(frozen=True)
class Fact:
    """What decided one claim: the claim, whether it holds, and the profile's value (None: not given)."""

    claim: Claim
    holds: bool
    actual: object

    @property
    def given(self) -> bool:
        """The field is given (a list or bytes: given and not empty): what ``present`` tests."""
        return _is_given(self.actual)

    @property
    def text(self) -> str:
        """The fact in English, as :meth:`Condition.evaluate` words it."""
        claim = self.claim
        if claim.test == "present":
            return f"{claim.path} is {'given' if self.given else 'not given'}"
        fact = f"{claim.path} is {show(self.actual)}"
        if claim.test == "is":
            return fact
        return f"{claim.text} is {show(self.holds)}: {fact}"


def _is_given(value: object) -> bool:
    return value is not None and not (isinstance(value, (list, tuple, bytes)) and len(value) == 0)


def reason_text(facts: Sequence[Fact]) -> str:
    """The English reason of an evaluation: its facts, joined by "; "."""
    return "; ".join(fact.text for fact in facts)


class Condition:
    """A parsed, checked condition. Build it with :func:`parse_condition`."""

    #: The condition as the catalogue writes it (a plain mapping).
    data: Mapping[str, Any]
    #: A one-line rendering for reports, e.g. ``ics.iso7816.logical_channels > 1``.
    text: str
    #: The dotted profile fields the condition reads.
    fields: frozenset[str]

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    def evaluate(self, lookup: Lookup) -> tuple[bool, str]:
        """Evaluate against a profile; ``lookup`` maps a dotted field to its value (e.g. ``Profile.get``).

        Returns whether the condition holds and a human reason naming the deciding claim and the actual
        value. Raises CatalogueError if a value is not of the type the condition expects (possible only for
        a condition parsed without field types).
        """
        holds, facts = self.explain(lookup)
        return holds, reason_text(facts)

    def explain(self, lookup: Lookup) -> tuple[bool, tuple[Fact, ...]]:
        """As :meth:`evaluate`, with the reason as the deciding facts (one per claim, in order)."""
        raise NotImplementedError


class Claim(Condition):
    """``{claim: <field>[, <test>: <value>]}``: one test on one ICS field."""

    _SYMBOLS: ClassVar[dict[str, str]] = {
        "equals": "==",
        "greater_than": ">",
        "less_than": "<",
        "one_of": "in",
    }
    #: ``present``: the field is given (a list: given and not empty); the one test of bytes and list fields

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.path: str = data["claim"]
        tests = [key for key in data if key != "claim"]
        self.test: str = tests[0] if tests else "is"
        self.value: Any = data.get(self.test, True)
        self.fields = frozenset([self.path])
        if self.test == "is":
            self.text = self.path if self.value else f"not {self.path}"
        elif self.test == "present":
            self.text = f"{self.path} is given" if self.value else f"{self.path} is not given"
        else:
            self.text = f"{self.path} {self._SYMBOLS[self.test]} {show(self.value)}"

    def explain(self, lookup: Lookup) -> tuple[bool, tuple[Fact, ...]]:
        actual = lookup(self.path)
        holds = self._holds(actual)
        return holds, (Fact(self, holds, actual),)

    def _holds(self, actual: object) -> bool:
        if self.test == "present":
            return _is_given(actual) is bool(self.value)
        if self.test == "is":
            if actual is None:
                return False  # an absent field makes the claim false
            if not isinstance(actual, bool):
                raise self._cannot(actual)
            return actual is self.value
        if actual is None:
            holds = False
        elif self.test == "equals":
            self._same_type(actual, self.value)
            holds = actual == self.value
        elif self.test == "one_of":
            for option in self.value:
                self._same_type(actual, option)
            holds = actual in self.value
        else:
            if _value_type(actual) != "int":
                raise self._cannot(actual)
            holds = actual > self.value if self.test == "greater_than" else actual < self.value
        return holds

    def _same_type(self, actual: object, expected: object) -> None:
        if _value_type(actual) != _value_type(expected):
            raise self._cannot(actual)

    def _cannot(self, actual: object) -> CatalogueError:
        kind = _TYPE_NAMES.get(_value_type(actual), type(actual).__name__)
        return CatalogueError(
            f"condition {self.text!r}: cannot evaluate: {self.path} is {show(actual)} ({kind})"
        )


class _Group(Condition):
    """``all`` / ``any``: decided by the first operand whose truth is the group's deciding value."""

    keyword: str
    joiner: str
    decides: bool  # the operand value that decides the group: False for all, True for any

    def __init__(self, data: Mapping[str, Any], operands: Sequence[Condition]) -> None:
        self.data = data
        self.operands = tuple(operands)
        self.fields = frozenset().union(*(o.fields for o in self.operands))
        self.text = self.joiner.join(_nested_text(o) for o in self.operands)

    def explain(self, lookup: Lookup) -> tuple[bool, tuple[Fact, ...]]:
        facts: list[Fact] = []
        for operand in self.operands:
            holds, why = operand.explain(lookup)
            if holds is self.decides:
                return holds, why
            facts.extend(why)
        return not self.decides, tuple(facts)


class AllOf(_Group):
    keyword, joiner, decides = "all", " and ", False


class AnyOf(_Group):
    keyword, joiner, decides = "any", " or ", True


class Not(Condition):
    """``{not: <condition>}``."""

    def __init__(self, data: Mapping[str, Any], operand: Condition) -> None:
        self.data = data
        self.operand = operand
        self.fields = operand.fields
        self.text = f"not {_nested_text(operand)}"

    def explain(self, lookup: Lookup) -> tuple[bool, tuple[Fact, ...]]:
        holds, why = self.operand.explain(lookup)
        return not holds, why


def _nested_text(condition: Condition) -> str:
    return f"({condition.text})" if isinstance(condition, _Group) else condition.text


# ---------------------------------------------------------------------------------------------------------
# Parsing and the type check


def parse_condition(data: object, fields: Mapping[str, FieldSpec] | None = None) -> Condition:
    """Check an ``applies_if`` mapping against the schema and, when ``fields`` is given, the ICS types.

    ``fields`` maps each dotted ICS field a condition may read to its type; when it is None only the
    shape is checked and types are checked at evaluation. Raises :class:`ConditionError` for anything but a
    valid condition; it names the part of the condition at fault, e.g. ``all[1].claim``.
    """
    if isinstance(data, str):
        raise ConditionError(
            "", f"must be a mapping such as {{claim: ics.gp.scp03}}, not the expression {data!r}"
        )
    first = first_error(schema_validator("condition"), data)
    if first is not None:
        raise ConditionError(*describe(first, data))
    return _build(data, fields, [])  # type: ignore[arg-type]  # the schema admitted a mapping


def _build(data: Mapping[str, Any], fields: Mapping[str, FieldSpec] | None, at: list[str | int]) -> Condition:
    if "all" in data or "any" in data:
        keyword = "all" if "all" in data else "any"
        operands = [_build(item, fields, [*at, keyword, i]) for i, item in enumerate(data[keyword])]
        return AllOf(data, operands) if keyword == "all" else AnyOf(data, operands)
    if "not" in data:
        return Not(data, _build(data["not"], fields, [*at, "not"]))
    claim = Claim(data)
    if fields is not None:
        _check_claim(claim, fields, at)
    return claim


def _check_claim(claim: Claim, fields: Mapping[str, FieldSpec], at: list[str | int]) -> None:
    def fail(key: str, problem: str) -> ConditionError:
        return ConditionError(_join([*at, key]), problem)

    path = claim.path
    if path not in fields:
        close = difflib.get_close_matches(path, list(fields), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise fail("claim", f"unknown profile field {path!r}{hint}")
    spec = fields[path]
    kind = _TYPE_NAMES[spec.type]
    if claim.test == "present":
        return
    if spec.type in ("bytes", "list"):
        raise fail(
            claim.test if claim.test in claim.data else "claim", f"{path} is {kind}; test it with present"
        )
    if claim.test == "is":
        if spec.type != "bool":
            tests = "greater_than, less_than or equals" if spec.type == "int" else "equals or one_of"
            key = "claim" if "is" not in claim.data else "is"
            raise fail(key, f"{path} is {kind}, not a boolean; test it with {tests}")
        return
    if claim.test in ("greater_than", "less_than"):
        if spec.type != "int":
            raise fail(claim.test, f"{path} is {kind}; {claim.test} compares integers only")
        return
    if spec.type == "bool":
        raise fail(claim.test, f"{path} is a boolean; write is: true or is: false")
    values = claim.value if claim.test == "one_of" else [claim.value]
    for value in values:
        if _value_type(value) != spec.type:
            raise fail(claim.test, f"{path} is {kind} but {show(value)} is {_TYPE_NAMES[_value_type(value)]}")
        if spec.choices is not None and value not in spec.choices:
            choices = ", ".join(str(c) for c in spec.choices)
            raise fail(claim.test, f"{show(value)} is not a possible value of {path} ({choices})")


# ---------------------------------------------------------------------------------------------------------
# Schema helpers (shared with jpkikit.harness.catalogue)


@functools.cache
def load_schema() -> dict[str, Any]:
    """``catalogue.schema.json``: requirement files, sources, conditions and the document registry."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@functools.cache
def schema_validator(definition: str | None = None) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator for the whole schema, or for one of its ``$defs``."""
    schema = load_schema()
    if definition is not None:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)  # type: ignore[no-any-return]


#: The validators whose errors say most about what is wrong; reported first on the same node.
_PRIORITY = ("type", "required", "additionalProperties", "maxProperties", "minProperties")


def first_error(validator: jsonschema.protocols.Validator, instance: object) -> ValidationError | None:
    """The error to report: the first in document order; on one node, a type or missing field first."""
    try:
        errors = list(validator.iter_errors(instance))
    except RecursionError:
        raise CatalogueError("nested too deeply") from None
    if not errors:
        return None

    def key(error: ValidationError) -> tuple[Any, ...]:
        node, position = instance, []
        for part in error.absolute_path:
            if isinstance(node, Mapping):
                keys = list(node)
                position.append(keys.index(part) if part in keys else len(keys))
            else:
                position.append(part)
            node = node[part] if isinstance(node, (Mapping, list)) else None
        rank = _PRIORITY.index(error.validator) if error.validator in _PRIORITY else len(_PRIORITY)
        return (*position, -1, rank)  # -1: an error on a node comes before errors inside it

    return min(errors, key=key)


def describe(error: ValidationError, instance: object) -> tuple[str, str]:
    """``(dotted path, problem)`` for a schema error; the schema may word a problem with ``x-errors``."""
    where = _join(list(error.absolute_path))
    custom = error.schema.get("x-errors", {}) if isinstance(error.schema, Mapping) else {}
    if error.validator in custom:
        message = custom[error.validator].replace("{value}", show(error.instance))
        if error.validator == "type":  # say what was found instead
            message += f", got {_json_type_of(error.instance)}"
        return where, message
    value, rule = error.instance, error.validator_value
    if error.validator == "required":
        missing = next(name for name in rule if name not in value)
        return where, f"missing required field {missing!r}"
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        unknown = next(name for name in value if name not in known)
        return where, f"unknown field {unknown!r}; expected one of: {', '.join(known)}"
    if error.validator == "type":
        wanted = rule if isinstance(rule, list) else [rule]
        words = " or ".join(_JSON_TYPES.get(t, t) for t in wanted)
        return where, f"must be {words}, got {_json_type_of(value)}"
    if error.validator == "enum":
        return where, f"must be one of {', '.join(str(v) for v in rule)}, got {show(value)}"
    if error.validator == "minItems":
        return where, "must not be empty"
    if error.validator == "uniqueItems":
        return where, "lists a value twice"
    if error.validator in ("minLength", "pattern") and isinstance(value, str) and not value.strip():
        return where, "must be non-empty text"
    return where, error.message


_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "an integer",
    "boolean": "true or false",
    "number": "a number",
    "null": "null",
}


def _json_type_of(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"text {value!r}" if len(value) <= 40 else "text"
    kind = _value_type(value)
    return f"{_TYPE_NAMES.get(kind, kind)} {show(value)}"


def _join(parts: Sequence[str | int]) -> str:
    """``['all', 0, 'claim']`` -> ``all[0].claim`` (the profile's dotted-path style)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def walk(condition: Condition) -> Iterator[Condition]:
    """Every node of a condition tree, the root first."""
    yield condition
    if isinstance(condition, _Group):
        for operand in condition.operands:
            yield from walk(operand)
    elif isinstance(condition, Not):
        yield from walk(condition.operand)
