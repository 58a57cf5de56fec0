"""The scrubber's fast paths (substring searches before the regular expression, one search per JSON
document) scrub exactly what the regular expression alone scrubs: checked on random text built around the
forms of a few secrets, short ones (matched only as tokens) and long ones."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from jpkikit import secrets
from jpkikit.harness import redaction

VALUES = {"1234": "auth PIN", "abcd1234XYZ": "sign PIN", "40414243444546474849": "key", "98765": "pin"}
PIECES = ["", "", "1234", "x1234", "1234.5", "(1234)", "98765", "3132333435", "abcd1234xyz", "ABCD1234XYZ"]


def text(rng: random.Random) -> str:
    noise = "".join(rng.choice('0123459.aAbB :=-()\n"x') for _ in range(rng.randint(0, 30)))
    out = noise + rng.choice(PIECES) + rng.choice(["", "4041424344454647484", "40414243444546474849"])
    return out if rng.random() < 0.5 else out[::-1]


def regex_only(value: str) -> str:
    pattern = secrets._combined(tuple(VALUES))
    assert pattern is not None
    return pattern.sub(secrets.REDACTED, value)


def test_scrub_and_mentions_agree_with_the_regular_expression() -> None:
    rng = random.Random(16)
    for _ in range(5000):
        t = text(rng)
        assert secrets.scrub(t, VALUES) == regex_only(t), t
        assert secrets.mentions(t, VALUES) == (regex_only(t) != t), t


def test_json_documents_are_scrubbed_string_by_string_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_known", dict(VALUES))
    rng = random.Random(17)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return regex_only(node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        return node

    for _ in range(2000):
        doc = {text(rng): [text(rng), {text(rng): text(rng)}, 5] for _ in range(rng.randint(0, 4))}
        raw = json.dumps(doc)
        cleaned = walk(doc)
        assert redaction._scrub_json(raw) == (raw if cleaned == doc else json.dumps(cleaned, indent=1))
