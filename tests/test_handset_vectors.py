"""The ACE over the access-control vectors (vectors/access-control/ace-vectors.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jpkikit.reference.handset.ace import AccessControlEnforcer
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu

HERE = Path(__file__).resolve().parent.parent / "vectors" / "access-control"
DOC = json.loads((HERE / "ace-vectors.json").read_text())
CHUNK = 32


def test_vectors_match_schema() -> None:
    jsonschema.validate(DOC, json.loads((HERE / "ace-vectors.schema.json").read_text()))
    ids = [v["id"] for v in DOC["vectors"]]
    assert len(ids) == len(set(ids))


class StubAram:
    """Answers GET DATA [Refresh tag], [All] and [Next] from one FF40 response, in CHUNK-byte pieces."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.pending = b""

    def __call__(self, apdu: CommandApdu) -> ResponseApdu:
        tag = apdu.p1 << 8 | apdu.p2
        if tag == 0xDF20:
            return ResponseApdu(bytes.fromhex("DF20080102030405060708"), 0x9000)
        if tag == 0xFF40:
            self.pending = self.response
        elif tag != 0xFF60:
            return ResponseApdu(b"", 0x6A88)
        size = min(apdu.ne or 256, CHUNK)
        head, self.pending = self.pending[:size], self.pending[size:]
        return ResponseApdu(head, 0x9000 if head else 0x6985)


@pytest.mark.parametrize("vector", DOC["vectors"], ids=[v["id"] for v in DOC["vectors"]])
def test_ace_decides_as_the_vector_says(vector: dict[str, Any]) -> None:
    ace = AccessControlEnforcer(StubAram(bytes.fromhex(vector["response"])))
    for query in vector["queries"]:
        aid = bytes.fromhex(query["aid"]) if query["aid"] else None
        access = ace.access(aid, [bytes.fromhex(h) for h in query["hashes"]])
        where = f"{vector['id']} {query}"
        assert access.channel_allowed == (query["channel"] == "allow"), f"{where}: {access}"
        if "nfc" in query:
            assert access.nfc == query["nfc"], f"{where}: NFC {access.nfc}"
        for header, expected in query.get("apdus", {}).items():
            assert access.allows(bytes.fromhex(header)) == (expected == "allow"), f"{where}: APDU {header}"
    assert (ace.error is not None) == vector.get("malformed", False), f"{vector['id']}: error={ace.error!r}"


def test_rules_are_read_once_while_the_refresh_tag_stays() -> None:
    stub = StubAram(bytes.fromhex(DOC["vectors"][0]["response"]))
    ace = AccessControlEnforcer(stub)
    for _ in range(3):
        ace.access(None, [b"\x11" * 20])
    assert ace.reads == 1
