"""Write ace-vectors.json: SEAC rule sets (GET DATA [All] responses, hex) with queries and the decisions that
docs/spec/globalplatform.md, "Rule resolution on the device" (SEAC v1.0 §4.2.3), prescribes. The TLVs are
built here with a few lines of independent code (no jpkikit import) and every expected decision is written
by hand from that text, so the vectors do not come from the ACE they test. The ``source`` of a vector names
sections of that page. Run: python vectors/access-control/make_vectors.py [--check]."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("ace-vectors.json")
JPKI = "D392F000260100000001"  # the JPKI AID (docs/spec/jpki-applet.md)
OTHER = "A000000476416E64726F696443545331"  # Android CTS test applet
H1, H2 = "11" * 20, "22" * 20  # SHA-1 hashes of two made-up apps
H256 = "33" * 32  # SHA-256 hash of a made-up app
S2_AID, S2_HASH = "FFFFFFFFFFAA", "AA6872787654334567840DE535C2BBD5A04F0BAA"  # pySim ARA-M test rule


def tlv(tag: str, value: str) -> str:
    n = len(value) // 2
    length = f"{n:02X}" if n < 0x80 else (f"81{n:02X}" if n < 0x100 else f"82{n:04X}")
    return tag + length + value


def ref(aid: str | None, hash_: str) -> str:
    aid_do = "4F00" if aid == "all" else ("C000" if aid == "default" else tlv("4F", aid or ""))
    return tlv("E1", aid_do + tlv("C1", hash_))


def ar(apdu: str | list[str] | None, nfc: bool | None = None) -> str:
    body = ""
    if apdu == "always":
        body += "D00101"
    elif apdu == "never":
        body += "D00100"
    elif isinstance(apdu, list):
        body += tlv("D0", "".join(apdu))
    if nfc is not None:
        body += "D101" + ("01" if nfc else "00")
    return tlv("E3", body)


def rule(aid: str, hash_: str, apdu: Any, nfc: bool | None = None) -> str:
    return tlv("E2", ref(aid, hash_) + ar(apdu, nfc))


def all_rules(*rules: str) -> str:
    return tlv("FF40", "".join(rules))


def q(
    aid: str | None,
    hashes: list[str],
    channel: str,
    *,
    nfc: bool | None = None,
    apdus: dict[str, str] | None = None,
    why: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {"aid": aid, "hashes": hashes, "channel": channel, "why": why}
    if nfc is not None:
        out["nfc"] = nfc
    if apdus:
        out["apdus"] = apdus
    return out


FILTERS = ["00A40200" + "FFFFFF00", "00B00000" + "FFFF0000"]  # SELECT EF; READ BINARY


VECTORS: list[dict[str, Any]] = [
    {
        "id": "AC-STEP1-01",
        "source": "rule resolution step 1 (rule A) and step 2",
        "title": "(AID, app hash) ALWAYS decides over (AID, all apps) NEVER; another app is shadowed",
        "response": all_rules(rule(JPKI, H1, "always"), rule(JPKI, "", "never")),
        "queries": [
            q(JPKI, [H1], "allow", nfc=True, why="rule A; NFC inherits the APDU decision"),
            q(JPKI, [H2], "deny", why="step 2: the AID has a rule for another app's hash"),
        ],
    },
    {
        "id": "AC-STEP2-01",
        "source": "rule resolution step 2",
        "title": "A specific AID with another app's hash means never, even with (all, all) ALWAYS",
        "response": all_rules(rule(JPKI, H1, "always"), rule("all", "", "always")),
        "queries": [
            q(JPKI, [H2], "deny", why="step 2"),
            q(JPKI, [H1], "allow", why="rule A"),
            q(OTHER, [H2], "allow", why="no rule for OTHER: rule D"),
        ],
    },
    {
        "id": "AC-STEP3-01",
        "source": "rule resolution steps 3-5",
        "title": "(AID, all apps) decides over (all AIDs, app hash)",
        "response": all_rules(rule(JPKI, "", "always"), rule("all", H2, "never")),
        "queries": [
            q(JPKI, [H2], "allow", why="rule B comes before rule C"),
            q(OTHER, [H2], "deny", why="rule C: NEVER"),
            q(OTHER, [H1], "deny", why="step 5: all AIDs with another app's hash"),
        ],
    },
    {
        "id": "AC-STEP4-01",
        "source": "rule resolution steps 4-5",
        "title": "(all AIDs, app hash) decides over (all AIDs, all apps)",
        "response": all_rules(rule("all", H1, "always"), rule("all", "", "never")),
        "queries": [
            q(JPKI, [H1], "allow", why="rule C"),
            q(JPKI, [H2], "deny", why="step 5"),
        ],
    },
    {
        "id": "AC-STEP5-01",
        "source": "rule resolution step 5",
        "title": "All AIDs with another app's hash means never, even with (all, all) ALWAYS",
        "response": all_rules(rule("all", H1, "always"), rule("all", "", "always")),
        "queries": [q(JPKI, [H2], "deny", why="step 5"), q(JPKI, [H1], "allow", why="rule C")],
    },
    {
        "id": "AC-STEP6-01",
        "source": "rule resolution step 6",
        "title": "(all AIDs, all apps) applies to anyone",
        "response": all_rules(rule("all", "", "always")),
        "queries": [q(JPKI, [H2], "allow", why="rule D"), q(None, [H1], "allow", why="rule D, default app")],
    },
    {
        "id": "AC-STEP7-01",
        "source": "rule resolution step 7",
        "title": "No matching rule denies",
        "response": all_rules(rule(OTHER, "", "always")),
        "queries": [q(JPKI, [H1], "deny", nfc=False, why="no rule: channel and NFC denied")],
    },
    {
        "id": "AC-EMPTY-01",
        "source": "ARA-M commands (FF40 00: no rules), rule resolution step 7",
        "title": "An empty rule set denies everything",
        "response": "FF4000",
        "queries": [q(JPKI, [H1], "deny")],
    },
    {
        "id": "AC-FILTER-01",
        "source": "access rule data objects (APDU filter semantics); rule resolution",
        "title": "APDU filters: (header AND mask) == filter header, filters ORed",
        "response": all_rules(rule(JPKI, H1, FILTERS)),
        "queries": [
            q(
                JPKI,
                [H1],
                "allow",
                nfc=True,
                why="filter access opens the channel; NFC inherits it",
                apdus={
                    "00B00010": "allow",
                    "00A4020C": "allow",
                    "00200080": "deny",
                    "00A4040C": "deny",
                    "80B00000": "deny",
                },
            ),
        ],
    },
    {
        "id": "AC-MERGE-01",
        "source": "rule resolution, merging: APDU NEVER wins",
        "title": "The same REF-DO twice: NEVER wins over ALWAYS",
        "response": all_rules(rule(JPKI, H1, "always"), rule(JPKI, H1, "never")),
        "queries": [q(JPKI, [H1], "deny")],
    },
    {
        "id": "AC-MERGE-02",
        "source": "rule resolution, merging: filter lists are ORed",
        "title": "The same REF-DO twice with filters: the filter lists are concatenated",
        "response": all_rules(rule(JPKI, H1, [FILTERS[0]]), rule(JPKI, H1, [FILTERS[1]])),
        "queries": [
            q(JPKI, [H1], "allow", apdus={"00A4020C": "allow", "00B00000": "allow", "00200080": "deny"}),
        ],
    },
    {
        "id": "AC-NFC-01",
        "source": "rule resolution, merging: no APDU-AR-DO means denied; NFC-AR-DO decides NFC",
        "title": "A rule with only an NFC-AR-DO gives NFC but no channel",
        "response": all_rules(rule(JPKI, H1, None, True)),
        "queries": [q(JPKI, [H1], "deny", nfc=True)],
    },
    {
        "id": "AC-NFC-02",
        "source": "rule resolution, merging: NFC NEVER",
        "title": "APDU ALWAYS with NFC NEVER",
        "response": all_rules(rule(JPKI, H1, "always", False)),
        "queries": [q(JPKI, [H1], "allow", nfc=False)],
    },
    {
        "id": "AC-SHA256-01",
        "source": "access rule data objects (32-byte DeviceAppID)",
        "title": "A 32-byte SHA-256 hash is matched; the app's SHA-1 alone is another app",
        "response": all_rules(rule(JPKI, H256, "always")),
        "queries": [
            q(JPKI, [H1, H256], "allow", why="one of the app's hashes matches"),
            q(JPKI, [H1], "deny", why="step 2"),
        ],
    },
    {
        "id": "AC-DEFAULT-01",
        "source": "access rule data objects (C0 00: the default application; no AID maps to it)",
        "title": "C0 00 applies to a channel opened without an AID, not to a named AID",
        "response": all_rules(rule("default", "", "always")),
        "queries": [q(None, [H1], "allow"), q(JPKI, [H1], "deny")],
    },
    {
        "id": "AC-GP-S2-01",
        "source": "a standard-GP rule from osmocom pySim's ARA-M test script, byte-exact",
        "title": "AID FFFFFFFFFFAA, one app hash, APDU NEVER, NFC NEVER",
        "response": "FF402AE228E11E4F06FFFFFFFFFFAAC114AA6872787654334567840DE535C2BBD5A04F0BAA"
        "E306D00100D10100",
        "queries": [
            q(S2_AID, [S2_HASH], "deny", nfc=False, why="rule A: NEVER"),
            q(S2_AID, [H1], "deny", why="step 2"),
            q(JPKI, [S2_HASH], "deny", why="no rule for the AID"),
        ],
    },
    {
        "id": "AC-BAD-01",
        "source": "GlobalPlatformPro TestParseTags: REF-DO without AR-DO is malformed",
        "title": "A REF-AR-DO without AR-DO: the whole rule set is unusable, everything denied",
        "response": all_rules(tlv("E2", tlv("E1", tlv("C1", H1)))),
        "malformed": True,
        "queries": [q(JPKI, [H1], "deny"), q(OTHER, [H2], "deny")],
    },
    {
        "id": "AC-BAD-02",
        "source": "access rule data objects (APDU-AR-DO is 1 byte or n x 8 bytes)",
        "title": "An APDU-AR-DO of 3 bytes is malformed",
        "response": all_rules(tlv("E2", ref(JPKI, H1) + tlv("E3", "D003010203"))),
        "malformed": True,
        "queries": [q(JPKI, [H1], "deny")],
    },
    {
        "id": "AC-BAD-03",
        "source": "access rule data objects (DeviceAppID-REF-DO is 0, 20 or 32 bytes)",
        "title": "A 19-byte hash is malformed",
        "response": all_rules(rule(JPKI, "11" * 19, "always")),
        "malformed": True,
        "queries": [q(JPKI, ["11" * 19 + "11"], "deny")],
    },
    {
        "id": "AC-BAD-04",
        "source": "ARA-M commands (FF40 length = full length of all rules)",
        "title": "FF40 announces more bytes than the ARA-M delivers",
        "response": "FF40" + "30" + rule(JPKI, H1, "always"),
        "malformed": True,
        "queries": [q(JPKI, [H1], "deny")],
    },
]


def document() -> dict[str, Any]:
    return {
        "format": "jpkikit-vectors/access-control/1",
        "description": (
            "SEAC access rule sets as an ARA-M returns them to GET DATA [All] (hex, whole FF40 DO), with "
            "access queries (target AID or null for the default application, the app's certificate hashes, "
            "optional APDU headers) and the decision of an Access Control Enforcer."
        ),
        "provenance": {
            "generator": "vectors/access-control/make_vectors.py (hand-built TLVs, no jpkikit import)",
            "decisions": "written by hand from docs/spec/globalplatform.md, 'Rule resolution on the device' "
            "(SEAC v1.0 §4.2.3 as AOSP AccessRuleCache applies it); sources name sections of that page; "
            "byte-exact examples from osmocom pySim's ARA-M test script and GlobalPlatformPro's "
            "TestParseTags",
            "independent_check": "tests/test_handset_vectors.py runs jpkikit.reference.handset.ace over "
            "every vector",
        },
        "vectors": VECTORS,
    }


def main() -> int:
    text = json.dumps(document(), indent=1) + "\n"
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            print(f"{OUT} is not what make_vectors.py generates", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
