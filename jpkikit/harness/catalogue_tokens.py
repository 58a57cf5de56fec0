"""The technical tokens of a requirement's text, which its English and Japanese versions must share.

A translation may reorder words but never change a byte, a status word, a profile field or a number:
the tokens are compared as sets. Boundaries are ASCII ones, so ``32バイト`` yields ``32`` (Python's
``\\b`` would treat the kana as word characters and find nothing). Full-width digits are not tokens,
so a translation that writes them is caught as a missing token.
"""

from __future__ import annotations

import re

_EDGE_L = r"(?<![0-9A-Za-z_.])"
_EDGE_R = r"(?![0-9A-Za-z_])"

_TOKEN = re.compile(
    "|".join(
        (
            # profile fields: ics.aram.rules, ixit.unit.role, ...
            _EDGE_L + r"(?:ics|ixit|implementation)\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*",
            # status words and byte patterns with wildcards: 61xx, 6Cxx, 63Cx
            _EDGE_L + r"[0-9A-F]{2,3}[xX]{1,2}" + _EDGE_R,
            # hex bytes and numbers that hold a digit: 9000, 6A82, FF40, E2, 0x7F, 256
            _EDGE_L + r"(?:0x)?(?=[0-9A-F]*[0-9])[0-9A-F]+" + _EDGE_R,
            # code spans
            r"`[^`]+`",
        )
    )
)


def technical_tokens(text: str) -> frozenset[str]:
    """The set of technical tokens in ``text`` (see the module docstring)."""
    return frozenset(match.group(0).rstrip(".") for match in _TOKEN.finditer(text))


def token_mismatch(english: str, japanese: str) -> str | None:
    """None when both texts hold the same tokens, else what differs, for an error message."""
    en, ja = technical_tokens(english), technical_tokens(japanese)
    if en == ja:
        return None
    parts = []
    if en - ja:
        parts.append("missing in Japanese: " + ", ".join(sorted(en - ja)))
    if ja - en:
        parts.append("only in Japanese: " + ", ".join(sorted(ja - en)))
    return "; ".join(parts)
