"""The SCP03 vector file: up to date with the generator, valid against its schema, and verified by the
independent implementation in tools/verify_scp03_vectors.py (which must also catch a corrupted vector)."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import jsonschema

from .tools_loader import load_tool

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors" / "scp03" / "scp03-vectors.json"
SCHEMA = ROOT / "vectors" / "scp03" / "scp03-vectors.schema.json"


def test_generator_reproduces_file() -> None:
    gen = load_tool("gen_scp03_vectors")
    assert gen.render(gen.generate()) == VECTORS.read_text(encoding="utf-8")


def test_schema_and_ids() -> None:
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    ids = [v["id"] for v in doc["vectors"]]
    assert len(ids) == len(set(ids)) == 3 * 5 * 2


def test_independent_verifier_accepts_file() -> None:
    verifier = load_tool("verify_scp03_vectors")
    assert verifier.verify(json.loads(VECTORS.read_text(encoding="utf-8"))) == []


def test_verifier_does_not_import_kit_scp03() -> None:
    tree = ast.parse((ROOT / "tools" / "verify_scp03_vectors.py").read_text(encoding="utf-8"))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported and not any(name.startswith("jpkikit") for name in imported)


def test_independent_verifier_catches_corruption() -> None:
    verifier = load_tool("verify_scp03_vectors")
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    for field in ("wrapped_command", "wrapped_response", "mac_chaining_value"):
        bad = copy.deepcopy(doc)
        x = bad["vectors"][7]["exchanges"][3]
        x[field] = x[field][:-6] + ("00" if x[field][-6:-4] != "00" else "11") + x[field][-4:]
        assert any(field in e for e in verifier.verify(bad)), field
    bad = copy.deepcopy(doc)
    bad["vectors"][0]["session_keys"]["s_mac"] = "00" * 16
    assert verifier.verify(bad)
