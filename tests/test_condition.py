"""The applicability condition language: whitelist, load-time type checks, evaluation reasons."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpkikit.errors import CatalogueError
from jpkikit.harness.conditions import MAX_LENGTH, Condition, FieldSpec, parse_condition
from jpkikit.harness.profile import ics_fields

FIELDS = ics_fields()

GPSE = {
    "ics.personality": "gp-se",
    "ics.iso7816.logical_channels": 4,
    "ics.iso7816.extended_length": True,
    "ics.iso7816.max_command_data": 2048,
    "ics.jpki.auth_cert_needs_pin": True,
    "ics.jpki.token_label": "JPKIAPGPSETOKEN",
}
CARD = {
    **GPSE,
    "ics.personality": "mynumber-card",
    "ics.iso7816.logical_channels": 1,
    "ics.iso7816.extended_length": False,
    "ics.jpki.auth_cert_needs_pin": False,
}


def evaluate(text: str, values: dict[str, object]) -> tuple[bool, str]:
    return parse_condition(text, FIELDS).evaluate(values.__getitem__)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("ics.iso7816.extended_length", GPSE, (True, "ics.iso7816.extended_length is true")),
        ("ics.iso7816.extended_length", CARD, (False, "ics.iso7816.extended_length is false")),
        ("not ics.iso7816.extended_length", GPSE, (False, "ics.iso7816.extended_length is true")),
        ("not ics.iso7816.extended_length", CARD, (True, "ics.iso7816.extended_length is false")),
        (
            "ics.iso7816.logical_channels > 1",
            GPSE,
            (True, "ics.iso7816.logical_channels > 1 is true: ics.iso7816.logical_channels is 4"),
        ),
        (
            "ics.iso7816.logical_channels > 1",
            CARD,
            (False, "ics.iso7816.logical_channels > 1 is false: ics.iso7816.logical_channels is 1"),
        ),
        (
            "ics.personality in ['gp-se', 'sim']",
            CARD,
            (False, "ics.personality in ['gp-se', 'sim'] is false: ics.personality is 'mynumber-card'"),
        ),
        (
            "ics.personality not in ('sim',)",
            GPSE,
            (True, "ics.personality not in ('sim',) is true: ics.personality is 'gp-se'"),
        ),
        (
            "1 < ics.iso7816.logical_channels <= 4",
            GPSE,
            (True, "1 < ics.iso7816.logical_channels <= 4 is true: ics.iso7816.logical_channels is 4"),
        ),
        (  # `and` is decided by its first false operand
            "ics.iso7816.extended_length and ics.iso7816.logical_channels > 1",
            CARD,
            (False, "ics.iso7816.extended_length is false"),
        ),
        (
            "ics.iso7816.extended_length and ics.iso7816.logical_channels > 1",
            GPSE,
            (
                True,
                "ics.iso7816.extended_length is true; "
                "ics.iso7816.logical_channels > 1 is true: ics.iso7816.logical_channels is 4",
            ),
        ),
        (  # `or` is decided by its first true operand, and lists every false one otherwise
            "ics.iso7816.extended_length or ics.jpki.auth_cert_needs_pin",
            CARD,
            (False, "ics.iso7816.extended_length is false; ics.jpki.auth_cert_needs_pin is false"),
        ),
        (
            "ics.iso7816.extended_length or ics.personality == 'mynumber-card'",
            CARD,
            (True, "ics.personality == 'mynumber-card' is true: ics.personality is 'mynumber-card'"),
        ),
        (
            "ics.jpki.token_label != 'JPKIAPICCTOKEN2'",
            GPSE,
            (
                True,
                "ics.jpki.token_label != 'JPKIAPICCTOKEN2' is true: "
                "ics.jpki.token_label is 'JPKIAPGPSETOKEN'",
            ),
        ),
        (
            "ics.iso7816.max_command_data >= ics.iso7816.logical_channels",
            GPSE,
            (
                True,
                "ics.iso7816.max_command_data >= ics.iso7816.logical_channels is true: "
                "ics.iso7816.max_command_data is 2048, ics.iso7816.logical_channels is 4",
            ),
        ),
    ],
)
def test_evaluation_and_reason(text: str, values: dict[str, object], expected: tuple[bool, str]) -> None:
    assert evaluate(text, values) == expected


def test_condition_records_its_fields_and_text() -> None:
    condition = parse_condition("  ics.iso7816.extended_length and ics.iso7816.logical_channels > 1 ", FIELDS)
    assert isinstance(condition, Condition)
    assert condition.text == "ics.iso7816.extended_length and ics.iso7816.logical_channels > 1"
    assert condition.fields == {"ics.iso7816.extended_length", "ics.iso7816.logical_channels"}
    assert "ics.iso7816.extended_length" in repr(condition)


def test_absent_optional_field_is_not_given() -> None:
    fields = {"ics.opt": FieldSpec("int"), "ics.flag": FieldSpec("bool")}
    values: dict[str, object] = {"ics.opt": None, "ics.flag": None}
    assert parse_condition("ics.opt > 1", fields).evaluate(values.__getitem__) == (
        False,
        "ics.opt > 1 is false: ics.opt is not given",
    )
    assert parse_condition("ics.flag", fields).evaluate(values.__getitem__) == (
        False,
        "ics.flag is not given",
    )
    assert parse_condition("ics.opt == None", fields).evaluate(values.__getitem__)[0] is True


def test_untyped_fields_mismatch_at_evaluation_is_a_catalogue_error() -> None:
    condition = parse_condition("a.b > 1")  # no field types given: checked only at evaluation
    with pytest.raises(CatalogueError, match=r"cannot evaluate a\.b > 1"):
        condition.evaluate(lambda path: "text")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("__import__('os').system('true')", "function calls are not allowed"),
        ("ics.iso7816.logical_channels + 1 > 2", "arithmetic is not allowed"),
        ("ics.x[0]", "indexing is not allowed"),
        ("lambda: ics.iso7816.extended_length", "lambdas are not allowed"),
        ("ics.iso7816.extended_length if True else False", "conditional expressions are not allowed"),
        ("(ics := 1)", "NamedExpr expressions are not part of the condition language"),
        ("ics.iso7816.logical_channels is 1", "operator Is is not allowed"),
        ("(1).real", "is not a profile field"),
        ("ics.foo", "unknown profile field 'ics.foo'"),
        ("ics.iso7816.extended_lenght", "did you mean ics.iso7816.extended_length?"),
        ("true", "write True, False or None"),
        ("ics.iso7816.logical_channels", "ics.iso7816.logical_channels is an integer, not a boolean"),
        ("ics.personality == 'gpse'", "'gpse' is not a possible value of ics.personality"),
        ("ics.personality in ['gp-se', 'card']", "'card' is not a possible value of ics.personality"),
        ("ics.personality > 1", "ics.personality is not an integer"),
        ("ics.iso7816.logical_channels > True", "true is not an integer"),
        ("ics.iso7816.extended_length == 1", "is a boolean but 1 is an integer"),
        ("ics.iso7816.logical_channels == '4'", "is an integer but '4' is a string"),
        ("ics.personality in 'gp-se'", "'in' needs a field or constant on the left and a list on the right"),
        ("ics.personality == ['gp-se']", "a list can only follow 'in' or 'not in'"),
        ("ics.personality in [ics.personality]", "a list may hold only constants"),
        ("1 == 1", "compares two constants"),
        ("True", "the constant True on its own is not a condition"),
        ("not 0", "the constant 0 on its own is not a condition"),
        ("ics.iso7816.logical_channels > 1.5", "constant 1.5 is not allowed"),
        ("ics.iso7816.logical_channels >", "syntax error"),
        ("ics.iso7816.extended_length; import os", "syntax error"),
        ("", "condition is empty"),
        ("   ", "condition is empty"),
        ("x" * (MAX_LENGTH + 1), f"longer than {MAX_LENGTH} characters"),
        ("\x00", "condition"),
    ],
)
def test_rejected_at_load_time(text: str, problem: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_condition(text, FIELDS)
    assert problem in str(caught.value)


def test_non_string_condition_is_rejected() -> None:
    with pytest.raises(CatalogueError, match="condition must be a string, got int"):
        parse_condition(1, FIELDS)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_random_text_only_ever_raises_catalogue_error(text: str) -> None:
    try:
        condition = parse_condition(text, FIELDS)
    except CatalogueError:
        return
    ok, reason = condition.evaluate(GPSE.__getitem__)
    assert isinstance(ok, bool) and reason


TOKENS = [*GPSE, "ics.nope", "and", "or", "not", "in", "not in", "==", "!=", "<", ">=", "(", ")", "[", "]"]
TOKENS += [",", "1", "0", "'gp-se'", "'sim'", "True", "None", "+", "x.y", "f()", ":="]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12))
def test_token_soup_only_ever_raises_catalogue_error(tokens: list[str]) -> None:
    try:
        condition = parse_condition(" ".join(tokens), FIELDS)
    except CatalogueError:
        return
    for profile in (GPSE, CARD):
        ok, reason = condition.evaluate(profile.__getitem__)
        assert isinstance(ok, bool) and isinstance(reason, str) and reason
