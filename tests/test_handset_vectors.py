"""The reference handset's rule reading and resolution (AOSP AccessRuleCache, gpac/*) over the access-control
vectors (vectors/access-control/ace-vectors.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jpkikit.reference.handset.rules import A, AccessRuleCache, RuleParseError, parse_all
from jpkikit.vocab.omapi.android import Android

HERE = Path(__file__).resolve().parent.parent / "vectors" / "access-control"
DOC = json.loads((HERE / "ace-vectors.json").read_text())


def test_vectors_match_schema() -> None:
    jsonschema.validate(DOC, json.loads((HERE / "ace-vectors.schema.json").read_text()))
    ids = [v["id"] for v in DOC["vectors"]]
    assert len(ids) == len(set(ids))


def _cache(response: bytes) -> AccessRuleCache:
    cache = AccessRuleCache(Android())
    for ref, ar in parse_all(response, cache.android):
        cache.put_rule(ref, ar)
    return cache


@pytest.mark.parametrize("vector", DOC["vectors"], ids=[v["id"] for v in DOC["vectors"]])
def test_rules_decide_as_the_vector_says(vector: dict[str, Any]) -> None:
    response = bytes.fromhex(vector["response"])
    if vector["id"] == "AC-BAD-01":
        # A REF-DO with a hash and no AID, without AR-DO: malformed for SEAC and for Android up to API 29;
        # from API 30 AOSP reads it as a carrier-privilege rule (gpac/REF_DO.interpret, REF_AR_DO.interpret).
        with pytest.raises(RuleParseError):
            parse_all(response, Android(29))
        cache = _cache(response)
        assert not cache.rules and len(cache.carrier) == 1
        return
    if vector.get("malformed", False):
        with pytest.raises(RuleParseError):
            _cache(response)
        return
    cache = _cache(response)
    for query in vector["queries"]:
        aid = bytes.fromhex(query["aid"]) if query["aid"] else None
        access = cache.find(aid, [bytes.fromhex(h) for h in query["hashes"]])
        where = f"{vector['id']} {query}"
        allowed = (
            access is not None
            and access.access == A.ALLOWED
            and (access.apdu == A.ALLOWED or access.use_filter)
        )
        assert allowed == (query["channel"] == "allow"), f"{where}: {access}"
        if "nfc" in query:
            nfc = access is not None and access.nfc == A.ALLOWED
            assert nfc == query["nfc"], f"{where}: NFC {access}"
        for header, expected in query.get("apdus", {}).items():
            assert access is not None
            passes = (
                access.apdu == A.ALLOWED
                if not access.use_filter
                else any(f.matches(bytes.fromhex(header)) for f in access.filters)
            )
            assert passes == (expected == "allow"), f"{where}: APDU {header}"
