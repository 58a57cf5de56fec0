"""Applicability conditions as data: schema shape, load-time type checks, evaluation and its reasons."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpkikit.errors import CatalogueError
from jpkikit.harness.conditions import (
    Condition,
    ConditionError,
    FieldSpec,
    parse_condition,
    schema_validator,
    walk,
)
from jpkikit.harness.profile import ics_fields

FIELDS = ics_fields()

GPSE = {
    "ics.personality": "gp-se",
    "ics.iso7816.logical_channels": 4,
    "ics.iso7816.extended_length": True,
    "ics.iso7816.max_command_data": 2048,
    "ics.jpki.auth_cert_needs_pin": True,
    "ics.jpki.token_label": "JPKIAPGPSETOKEN",
    "ics.gp.scp03": True,
    "ics.provisioning.key_bits": 2048,
}
CARD = {
    **GPSE,
    "ics.personality": "mynumber-card",
    "ics.iso7816.logical_channels": 1,
    "ics.iso7816.extended_length": False,
    "ics.jpki.auth_cert_needs_pin": False,
    "ics.gp.scp03": None,  # the card profile has no ics.gp section
    "ics.provisioning.key_bits": None,
}

EXT = {"claim": "ics.iso7816.extended_length"}
CHANNELS = {"claim": "ics.iso7816.logical_channels", "greater_than": 1}


def evaluate(data: Any, values: dict[str, object]) -> tuple[bool, str]:
    return parse_condition(data, FIELDS).evaluate(values.__getitem__)


# --- evaluation and reasons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "values", "expected"),
    [
        (EXT, GPSE, (True, "ics.iso7816.extended_length is true")),
        (EXT, CARD, (False, "ics.iso7816.extended_length is false")),
        ({**EXT, "is": True}, GPSE, (True, "ics.iso7816.extended_length is true")),
        ({**EXT, "is": False}, GPSE, (False, "ics.iso7816.extended_length is true")),
        ({**EXT, "is": False}, CARD, (True, "ics.iso7816.extended_length is false")),
        (
            CHANNELS,
            GPSE,
            (True, "ics.iso7816.logical_channels > 1 is true: ics.iso7816.logical_channels is 4"),
        ),
        (
            CHANNELS,
            CARD,
            (False, "ics.iso7816.logical_channels > 1 is false: ics.iso7816.logical_channels is 1"),
        ),
        (
            {"claim": "ics.iso7816.logical_channels", "less_than": 4},
            GPSE,
            (False, "ics.iso7816.logical_channels < 4 is false: ics.iso7816.logical_channels is 4"),
        ),
        (
            {"claim": "ics.iso7816.logical_channels", "equals": 1},
            CARD,
            (True, "ics.iso7816.logical_channels == 1 is true: ics.iso7816.logical_channels is 1"),
        ),
        (
            {"claim": "ics.personality", "equals": "gp-se"},
            CARD,
            (False, "ics.personality == 'gp-se' is false: ics.personality is 'mynumber-card'"),
        ),
        (
            {"claim": "ics.personality", "one_of": ["gp-se", "sim"]},
            CARD,
            (False, "ics.personality in ['gp-se', 'sim'] is false: ics.personality is 'mynumber-card'"),
        ),
        (
            {"claim": "ics.jpki.token_label", "equals": "JPKIAPGPSETOKEN"},
            GPSE,
            (
                True,
                "ics.jpki.token_label == 'JPKIAPGPSETOKEN' is true: "
                "ics.jpki.token_label is 'JPKIAPGPSETOKEN'",
            ),
        ),
        (
            {"claim": "ics.provisioning.key_bits", "equals": 2048},
            GPSE,
            (True, "ics.provisioning.key_bits == 2048 is true: ics.provisioning.key_bits is 2048"),
        ),
        (
            {"all": [EXT, CHANNELS]},
            CARD,
            (False, "ics.iso7816.extended_length is false"),
        ),  # first false decides
        (
            {"all": [EXT, CHANNELS]},
            GPSE,
            (
                True,
                "ics.iso7816.extended_length is true; "
                "ics.iso7816.logical_channels > 1 is true: ics.iso7816.logical_channels is 4",
            ),
        ),
        (  # `any` is decided by its first true operand, and lists every false one otherwise
            {"any": [EXT, {"claim": "ics.jpki.auth_cert_needs_pin"}]},
            CARD,
            (False, "ics.iso7816.extended_length is false; ics.jpki.auth_cert_needs_pin is false"),
        ),
        (
            {"any": [EXT, {"claim": "ics.personality", "equals": "mynumber-card"}]},
            CARD,
            (True, "ics.personality == 'mynumber-card' is true: ics.personality is 'mynumber-card'"),
        ),
        ({"not": EXT}, CARD, (True, "ics.iso7816.extended_length is false")),
        ({"not": {"claim": "ics.gp.scp03"}}, CARD, (True, "ics.gp.scp03 is not given")),
    ],
)
def test_evaluation_and_reason(data: Any, values: dict[str, object], expected: tuple[bool, str]) -> None:
    assert evaluate(data, values) == expected


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (EXT, "ics.iso7816.extended_length"),
        ({**EXT, "is": False}, "not ics.iso7816.extended_length"),
        (CHANNELS, "ics.iso7816.logical_channels > 1"),
        ({"claim": "ics.iso7816.logical_channels", "equals": 1}, "ics.iso7816.logical_channels == 1"),
        ({"claim": "ics.personality", "one_of": ["gp-se", "sim"]}, "ics.personality in ['gp-se', 'sim']"),
        ({"all": [EXT, CHANNELS]}, "ics.iso7816.extended_length and ics.iso7816.logical_channels > 1"),
        (
            {"any": [EXT, {"all": [CHANNELS, {"claim": "ics.gp.scp03"}]}]},
            "ics.iso7816.extended_length or (ics.iso7816.logical_channels > 1 and ics.gp.scp03)",
        ),
        (
            {"not": {"any": [EXT, CHANNELS]}},
            "not (ics.iso7816.extended_length or ics.iso7816.logical_channels > 1)",
        ),
    ],
)
def test_text(data: Any, text: str) -> None:
    condition = parse_condition(data, FIELDS)
    assert condition.text == text
    assert repr(condition) == f"Condition({text!r})"


def test_condition_records_its_fields_and_data() -> None:
    data = {"all": [EXT, {"not": CHANNELS}]}
    condition = parse_condition(data, FIELDS)
    assert isinstance(condition, Condition)
    assert condition.data == data
    assert condition.fields == {"ics.iso7816.extended_length", "ics.iso7816.logical_channels"}
    assert len(list(walk(condition))) == 4


def test_absent_field_makes_a_claim_false_and_reads_not_given() -> None:
    fields = {
        "ics.opt": FieldSpec("int"),
        "ics.flag": FieldSpec("bool"),
        "ics.kind": FieldSpec("str", ("a",)),
    }
    values: dict[str, object] = {"ics.opt": None, "ics.flag": None, "ics.kind": None}

    def run(data: Any) -> tuple[bool, str]:
        return parse_condition(data, fields).evaluate(values.__getitem__)

    assert run({"claim": "ics.opt", "greater_than": 1}) == (
        False,
        "ics.opt > 1 is false: ics.opt is not given",
    )
    assert run({"claim": "ics.opt", "less_than": 1}) == (False, "ics.opt < 1 is false: ics.opt is not given")
    assert run({"claim": "ics.flag"}) == (False, "ics.flag is not given")
    assert run({"claim": "ics.flag", "is": False}) == (False, "ics.flag is not given")
    assert run({"claim": "ics.kind", "equals": "a"}) == (
        False,
        "ics.kind == 'a' is false: ics.kind is not given",
    )
    assert run({"not": {"claim": "ics.flag"}}) == (True, "ics.flag is not given")


def test_untyped_condition_checks_types_at_evaluation() -> None:
    condition = parse_condition({"claim": "ics.a.b", "greater_than": 1})  # no field types: shape only
    with pytest.raises(CatalogueError, match=r"cannot evaluate: ics\.a\.b is 'text' \(a string\)"):
        condition.evaluate(lambda path: "text")
    with pytest.raises(CatalogueError, match="cannot evaluate"):
        parse_condition({"claim": "ics.a.b"}).evaluate(lambda path: 1)
    with pytest.raises(CatalogueError, match="cannot evaluate"):
        parse_condition({"claim": "ics.a.b", "equals": 1}).evaluate(lambda path: "1")


# --- load-time rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "where", "problem"),
    [
        # the type check against the profile schema
        (
            {"claim": "ics.iso7816.channels", "greater_than": 1},
            "claim",
            "unknown profile field 'ics.iso7816.channels'; did you mean ics.iso7816.logical_channels?",
        ),
        ({"claim": "ics.nothing.like.this"}, "claim", "unknown profile field 'ics.nothing.like.this'"),
        (
            {"claim": "ics.iso7816.logical_channels"},
            "claim",
            "ics.iso7816.logical_channels is an integer, not a boolean; "
            "test it with greater_than, less_than or equals",
        ),
        (
            {"claim": "ics.personality", "is": True},
            "is",
            "ics.personality is a string, not a boolean; test it with equals or one_of",
        ),
        (
            {"claim": "ics.personality", "greater_than": 1},
            "greater_than",
            "ics.personality is a string; greater_than compares integers only",
        ),
        (
            {"claim": "ics.iso7816.extended_length", "less_than": 1},
            "less_than",
            "ics.iso7816.extended_length is a boolean; less_than compares integers only",
        ),
        (
            {"claim": "ics.iso7816.extended_length", "equals": 1},
            "equals",
            "ics.iso7816.extended_length is a boolean; write is: true or is: false",
        ),
        (
            {"claim": "ics.iso7816.logical_channels", "equals": "4"},
            "equals",
            "ics.iso7816.logical_channels is an integer but '4' is a string",
        ),
        (
            {"claim": "ics.personality", "equals": "gpse"},
            "equals",
            "'gpse' is not a possible value of ics.personality (gp-se, mynumber-card, sim, sim-auth)",
        ),
        (
            {"claim": "ics.personality", "one_of": ["gp-se", "card"]},
            "one_of",
            "'card' is not a possible value of ics.personality (gp-se, mynumber-card, sim, sim-auth)",
        ),
        (
            {"claim": "ics.provisioning.key_bits", "equals": 4096},
            "equals",
            "4096 is not a possible value of ics.provisioning.key_bits (2048)",
        ),
        (
            {"all": [EXT, {"any": [CHANNELS, {"claim": "ics.gp.scp3"}]}]},
            "all[1].any[1].claim",
            "unknown profile field 'ics.gp.scp3'; did you mean ics.gp.scp03?",
        ),
        (
            {"not": {"claim": "ics.jpki.token_label"}},
            "not.claim",
            "ics.jpki.token_label is a string, not a boolean",
        ),
        # the shape, from catalogue.schema.json
        ({}, "", "a condition needs claim, all, any or not"),
        (["ics.gp.scp03"], "", "must be a mapping such as {claim: ics.gp.scp03}"),
        (1, "", "must be a mapping such as {claim: ics.gp.scp03}"),
        ({"is": True}, "", "a condition needs claim, all, any or not"),
        ({"claim": "gp.scp03"}, "claim", "must be a dotted ICS field such as ics.gp.scp03"),
        ({"claim": 3}, "claim", "must be a dotted ICS field such as ics.gp.scp03"),
        (
            {"claim": "ics.gp.scp03", "is": True, "equals": 1},
            "",
            "a claim takes one test: is, equals, one_of, greater_than, less_than or present",
        ),
        (
            {"claim": "ics.gp.scp03", "greater": 1},
            "",
            "unknown field 'greater'; expected one of: claim, is, equals, one_of, greater_than, less_than, "
            "present",
        ),
        ({"claim": "ics.gp.scp03", "is": "yes"}, "is", "must be true or false, got text 'yes'"),
        (
            {"claim": "ics.iso7816.logical_channels", "greater_than": True},
            "greater_than",
            "must be an integer",
        ),
        (
            {"claim": "ics.iso7816.logical_channels", "greater_than": 1.5},
            "greater_than",
            "must be an integer",
        ),
        ({"claim": "ics.personality", "one_of": []}, "one_of", "must not be empty"),
        ({"claim": "ics.personality", "one_of": ["sim", "sim"]}, "one_of", "lists a value twice"),
        ({"all": []}, "all", "must be a non-empty list of conditions"),
        ({"any": EXT}, "any", "must be a non-empty list of conditions"),
        ({"all": [EXT], "any": [EXT]}, "", "unknown field 'any'; expected one of: all"),
        ({"not": [EXT]}, "not", "must be a mapping such as {claim: ics.gp.scp03}"),
        ({"all": [EXT, "ics.gp.scp03"]}, "all[1]", "must be a mapping such as {claim: ics.gp.scp03}"),
    ],
)
def test_rejected_at_load_time(data: Any, where: str, problem: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(data, FIELDS)
    assert caught.value.where == where
    assert caught.value.problem.startswith(problem), caught.value.problem
    assert str(caught.value) == (f"{where}: {caught.value.problem}" if where else caught.value.problem)


def test_the_old_expression_form_gets_a_pointer_to_the_new_one() -> None:
    with pytest.raises(ConditionError, match=r"must be a mapping such as \{claim: ics.gp.scp03\}, not the"):
        parse_condition("ics.iso7816.logical_channels > 1", FIELDS)


def test_the_condition_schema_is_a_valid_draft_2020_12_schema() -> None:
    validator = schema_validator("condition")
    assert validator.is_valid({"all": [EXT, {"not": CHANNELS}]})
    assert not validator.is_valid({"claim": "ics.gp.scp03", "is": 1})


# --- robustness -------------------------------------------------------------------------------------------

KEYS = ["claim", "is", "equals", "one_of", "greater_than", "less_than", "all", "any", "not", "x"]
SCALARS = st.one_of(
    st.sampled_from([*GPSE, "ics.nope", "gp-se", "sim", "card", "ics."]),
    st.integers(-3, 5000),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
DATA = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(DATA)
def test_arbitrary_data_only_ever_raises_condition_error(data: Any) -> None:
    try:
        condition = parse_condition(data, FIELDS)
    except ConditionError:
        return
    for profile in (GPSE, CARD):
        values = {path: profile.get(path) for path in FIELDS}
        ok, reason = condition.evaluate(values.__getitem__)
        assert isinstance(ok, bool) and isinstance(reason, str) and reason


def test_deep_nesting_is_a_condition_error() -> None:
    data: Any = EXT
    for _ in range(3000):
        data = {"not": data}
    with pytest.raises(CatalogueError):
        parse_condition(data, FIELDS)


def test_present_tests_bytes_and_list_fields_and_only_present_does() -> None:
    fields = {"ics.aid": FieldSpec("bytes"), "ics.schemes": FieldSpec("list"), "ics.n": FieldSpec("int")}
    values: dict[str, Any] = {"ics.aid": b"\xa0\x00", "ics.schemes": [], "ics.n": None}

    def run(data: Any) -> tuple[bool, str]:
        return parse_condition(data, fields).evaluate(values.__getitem__)

    assert run({"claim": "ics.aid", "present": True}) == (True, "ics.aid is given")
    assert run({"claim": "ics.schemes", "present": True}) == (False, "ics.schemes is not given")  # empty
    assert run({"claim": "ics.schemes", "present": False}) == (True, "ics.schemes is not given")
    assert run({"claim": "ics.n", "present": True}) == (False, "ics.n is not given")
    with pytest.raises(ConditionError, match=r"ics\.aid is bytes; test it with present"):
        parse_condition({"claim": "ics.aid"}, fields)
    with pytest.raises(ConditionError, match=r"ics\.schemes is a list; test it with present"):
        parse_condition({"claim": "ics.schemes", "equals": "01"}, fields)
