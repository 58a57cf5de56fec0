"""The SP 800-22 tests TSM-PIN-01 uses (conformance/tsm/randomness.py), on the worked examples of NIST SP
800-22 Rev. 1a (§2.1.4, §2.1.8, §2.3.4, §2.3.8), and on the flawed temporary-PIN generators of
tests/faulty_tsm.py."""

from __future__ import annotations

import os

import pytest

from conformance.tsm import randomness
from tests import faulty_tsm

EPSILON_100 = (
    "1100100100001111110110101010001000100001011010001100001000110100110001001100011001100010100010111000"
)


def _bits(text: str) -> list[int]:
    return [int(c) for c in text]


def test_the_worked_examples() -> None:
    assert randomness.frequency(_bits("1011010101")).p_value == pytest.approx(0.527089, abs=1e-6)
    assert randomness.frequency(_bits(EPSILON_100)).p_value == pytest.approx(0.109599, abs=1e-6)
    assert randomness.runs(_bits("1001101011")).p_value == pytest.approx(0.147232, abs=1e-6)
    assert randomness.runs(_bits(EPSILON_100)).p_value == pytest.approx(0.500798, abs=1e-6)


def test_too_few_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        randomness.check([os.urandom(12)])


def test_random_pins_pass_and_the_flawed_generators_fail() -> None:
    assert all(r.passed for r in randomness.check([os.urandom(16) for _ in range(6)]))
    for cls, failing in (
        (faulty_tsm.CounterTempPin, "frequency (monobit)"),
        (faulty_tsm.HexTextTempPin, "frequency (monobit)"),
        (faulty_tsm.StretchedTempPin, "runs"),
    ):
        pins = [cls.new_temp_pin(None) for _ in range(6)]  # type: ignore[arg-type]
        failed = {r.test for r in randomness.check(pins) if not r.passed}
        assert failing in failed, (cls.__name__, failed)
