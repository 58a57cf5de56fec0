"""Every requirement in Japanese and English, with the same technical tokens in both (the bilingual
catalogue of the reports issue)."""

from __future__ import annotations

import pytest

from jpkikit.harness.catalogue import load_catalogue
from jpkikit.harness.catalogue_tokens import technical_tokens, token_mismatch

CATALOGUE = load_catalogue()
AREAS = sorted({r.area for r in CATALOGUE})


@pytest.mark.parametrize("area", AREAS)
def test_every_requirement_has_both_languages_with_the_same_tokens(area: str) -> None:
    problems = []
    for req in (r for r in CATALOGUE if r.area == area):
        if not req.title_ja or not req.statement_ja:
            problems.append(f"{req.id}: no Japanese title or statement")
            continue
        if not any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in req.statement_ja):
            problems.append(f"{req.id}: statement_ja holds no Japanese")
        for what, en, ja in (
            ("title", req.title, req.title_ja),
            ("statement", req.statement, req.statement_ja),
        ):
            if problem := token_mismatch(en, ja):
                problems.append(f"{req.id} {what}: {problem}")
    assert not problems, "\n".join(problems)


def test_tokens_are_found_next_to_kana_and_full_width_digits_are_not_tokens() -> None:
    assert technical_tokens("32バイトの9000とics.aram.rules、61xx") == {
        "32",
        "9000",
        "ics.aram.rules",
        "61xx",
    }
    assert technical_tokens("３２バイト") == frozenset()
    assert technical_tokens("RSA-2048 with SCP03, SW 6A82.") == {"2048", "6A82"}
    assert token_mismatch("answer 6A82", "6A88 を返す") == "missing in Japanese: 6A82; only in Japanese: 6A88"
