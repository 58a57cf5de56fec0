"""The requirement catalogue: bundled data, validation errors, lookup, applicability."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from jpkikit.errors import CatalogueError
from jpkikit.harness.catalogue import (
    REQUIREMENTS_DIR,
    Applicability,
    Catalogue,
    Requirement,
    Source,
    load_catalogue,
)
from jpkikit.harness.profile import CLASSES, Profile, load_profile

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
ISO_IDS = [
    "ISO-SEL-01",
    "ISO-SEL-02",
    "ISO-SEL-03",
    "ISO-CH-01",
    "ISO-CH-02",
    "ISO-CH-03",
    "ISO-CH-04",
    "ISO-CH-05",
    "ISO-ERR-01",
    "ISO-ERR-02",
    "ISO-ERR-03",
    "ISO-ERR-04",
    "ISO-EXT-01",
    "ISO-EXT-02",
]

# libyaml (which the loaders use where PyYAML has it) and pure-Python PyYAML word this differently
NO_NODE_CONTENT = (
    "did not find expected node content" if yaml.__with_libyaml__ else "expected the node content"
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    names = ("emulator-gpse", "emulator-card", "emulator-sim", "emulator-gpse-pcsc")
    return {name: load_profile(PROFILES / f"{name}.yaml") for name in names}


# --- the bundled catalogue --------------------------------------------------------------------------------


def test_bundled_catalogue_loads(catalogue: Catalogue) -> None:
    assert [r.id for r in catalogue if r.area == "iso7816"] == ISO_IDS
    assert len(catalogue) == len(catalogue.ids()) >= len(ISO_IDS)
    for requirement in catalogue:
        assert isinstance(requirement, Requirement)
        assert requirement.title and requirement.statement and requirement.source
        assert set(requirement.classes) <= set(CLASSES)
        assert all(isinstance(s, Source) and s.at and s.document.key == s.doc for s in requirement.source)
        assert requirement.file.parent == REQUIREMENTS_DIR
        assert requirement.id in catalogue


def test_iso_requirements_cover_the_transport_classes(catalogue: Catalogue) -> None:
    for rid in ISO_IDS:
        assert catalogue.get(rid).classes == ("gp-se", "sim", "rw")


def test_iso_conditions(catalogue: Catalogue) -> None:
    conditions = {rid: catalogue.get(rid).applies_if for rid in ISO_IDS}
    texts = {rid: c.text if c else None for rid, c in conditions.items()}
    assert texts == {
        "ISO-SEL-01": None,
        "ISO-SEL-02": None,
        "ISO-SEL-03": "ics.iso7816.default_application is given",
        "ISO-CH-01": "ics.iso7816.logical_channels > 1",
        "ISO-CH-02": "ics.iso7816.logical_channels > 1",
        "ISO-CH-03": "ics.iso7816.logical_channels > 1",
        "ISO-CH-04": "ics.iso7816.logical_channels > 1",
        "ISO-CH-05": "ics.iso7816.logical_channels == 1",
        "ISO-ERR-01": None,
        "ISO-ERR-02": None,
        "ISO-ERR-03": None,
        "ISO-EXT-01": "ics.iso7816.extended_length",
        "ISO-EXT-02": "not ics.iso7816.extended_length",
        "ISO-ERR-04": None,
    }
    assert catalogue.get("ISO-CH-05").waiver
    assert catalogue.get("ISO-CH-01").applies_if.data == {  # type: ignore[union-attr]
        "claim": "ics.iso7816.logical_channels",
        "greater_than": 1,
    }
    assert catalogue.get("ISO-EXT-02").applies_if.data == {  # type: ignore[union-attr]
        "claim": "ics.iso7816.extended_length",
        "is": False,
    }


def test_sources_resolve_to_registered_documents(catalogue: Catalogue) -> None:
    first = catalogue.get("ISO-SEL-01").source[0]
    assert (first.doc, first.at) == ("iso7816-4", "SELECT command")
    assert first.document.cite == "ISO/IEC 7816-4:2020"
    assert first.citation == (
        "ISO/IEC 7816-4:2020, SELECT command (P1 '04' selection by DF name, P2 '0C' no response data)"
    )
    kit = next(s for s in catalogue.get("ISO-SEL-01").source if s.doc == "kit-spec")
    assert kit.citation.startswith("docs/spec/jpki-applet.md#applications-and-aids")
    assert kit.url is None and first.url == "https://www.iso.org/standard/77180.html"


def test_unknown_requirement_id(catalogue: Catalogue) -> None:
    with pytest.raises(CatalogueError, match=r"^unknown requirement ID 'ISO-NOPE-99'$"):
        catalogue.get("ISO-NOPE-99")
    with pytest.raises(CatalogueError, match="unknown requirement ID"):
        catalogue.applicability("ISO-NOPE-99", load_profile(PROFILES / "emulator-gpse.yaml"))
    assert "ISO-NOPE-99" not in catalogue


# --- applicability ----------------------------------------------------------------------------------------

APPLICABLE = {
    # requirement: (gp-se emulator, card emulator, sim emulator)
    "ISO-SEL-01": (True, True, True),
    "ISO-CH-01": (True, False, True),
    "ISO-CH-02": (True, False, True),
    "ISO-CH-03": (True, False, True),
    "ISO-CH-04": (True, False, True),
    "ISO-CH-05": (False, True, False),
    "ISO-EXT-01": (True, False, False),
    "ISO-EXT-02": (False, True, True),
    "ISO-ERR-04": (True, True, True),
}


@pytest.mark.parametrize("rid", list(APPLICABLE))
def test_applicability_per_bundled_profile(
    catalogue: Catalogue, profiles: dict[str, Profile], rid: str
) -> None:
    got = tuple(
        catalogue.applicability(rid, profiles[name]).applicable
        for name in ("emulator-gpse", "emulator-card", "emulator-sim")
    )
    assert got == APPLICABLE[rid]
    assert catalogue.applicability(rid, profiles["emulator-gpse-pcsc"]).applicable == APPLICABLE[rid][0]


def test_applicability_reasons(catalogue: Catalogue, profiles: dict[str, Profile]) -> None:
    card, gpse = profiles["emulator-card"], profiles["emulator-gpse"]
    assert catalogue.applicability("ISO-EXT-01", card) == Applicability(
        False, "ics.iso7816.extended_length is false"
    )
    assert catalogue.applicability("ISO-CH-01", card) == Applicability(
        False, "ics.iso7816.logical_channels > 1 is false: ics.iso7816.logical_channels is 1"
    )
    assert catalogue.applicability("ISO-CH-01", gpse) == Applicability(
        True,
        "implementation class 'gp-se' is among gp-se, sim, rw; "
        "ics.iso7816.logical_channels > 1 is true: ics.iso7816.logical_channels is 4",
    )
    assert catalogue.applicability(catalogue.get("ISO-SEL-01"), gpse) == Applicability(
        True, "implementation class 'gp-se' is among gp-se, sim, rw; no ICS condition"
    )


def test_condition_on_an_absent_optional_section(catalogue: Catalogue, profiles: dict[str, Profile]) -> None:
    card = profiles["emulator-card"]  # claims nothing about GlobalPlatform (no ics.gp)
    for requirement in catalogue:
        condition = requirement.applies_if
        if (
            condition is not None
            and any(f.startswith("ics.gp.") for f in condition.fields)
            and "gp-se" in requirement.classes
        ):
            result = catalogue.applicability(requirement, card)
            assert not result.applicable and result.reason.endswith("is not given"), result


def test_class_not_among(catalogue: Catalogue, profiles: dict[str, Profile]) -> None:
    gpse = profiles["emulator-gpse"]
    handset = dataclasses.replace(
        gpse, implementation=dataclasses.replace(gpse.implementation, class_="handset")
    )
    result = catalogue.applicability("ISO-SEL-01", handset)
    assert result == Applicability(False, "implementation class 'handset' is not among gp-se, sim, rw")
    assert not result and bool(catalogue.applicability("ISO-SEL-01", gpse))


# --- catalogue validation ---------------------------------------------------------------------------------

VALID: dict[str, Any] = {
    "area": "demo",
    "id_prefix": "DEMO",
    "title": "Demo area",
    "requirements": [
        {
            "id": "DEMO-A-01",
            "title": "A title",
            "title_ja": "題名",
            "statement": "The implementation shall answer 9000.",
            "statement_ja": "実装は 9000 を返すこと。",
            "source": [{"doc": "iso7816-4", "at": "SELECT command"}],
            "classes": ["gp-se", "sim"],
            "applies_if": {"claim": "ics.iso7816.extended_length"},
        },
        {
            "id": "DEMO-A-02",
            "title": "Another",
            "title_ja": "別の題名",
            "statement": "Something testable.",
            "statement_ja": "試験できること。",
            "source": [
                {"doc": "seed-004", "at": "p.15 step ⑰", "note": "key pair generated in the SE"},
                {"doc": "kit-spec", "at": "system.md#first-issuance"},
            ],
            "classes": ["tsm"],
            "waiver": "May be waived for SIM designs.",
        },
    ],
}


def write_catalogue(directory: Path, doc: Any, name: str = "demo.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def changed(path: str, value: Any) -> dict[str, Any]:
    """VALID with one field changed: path like 'requirements.0.classes' (value None deletes)."""
    doc = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return doc


def test_valid_demo_catalogue(tmp_path: Path) -> None:
    catalogue = load_catalogue([write_catalogue(tmp_path, VALID)])
    assert catalogue.ids() == ["DEMO-A-01", "DEMO-A-02"]
    first = catalogue.get("DEMO-A-01")
    assert (first.area, first.classes, first.waiver) == ("demo", ("gp-se", "sim"), None)
    assert first.applies_if is not None and first.applies_if.fields == {"ics.iso7816.extended_length"}
    assert catalogue.get("DEMO-A-02").waiver == "May be waived for SIM designs."
    assert load_catalogue([tmp_path]).ids() == catalogue.ids()  # a directory is searched for *.yaml


BAD_CATALOGUES = [
    (
        changed("requirements.1.id", "DEMO-A-01"),
        "DEMO-A-01: duplicate requirement ID (first defined in {file})",
    ),
    (
        changed("requirements.0.classes", ["gp-se", "phone"]),
        "DEMO-A-01: classes[1]: unknown implementation class 'phone'; "
        "expected gp-se, sim, handset, rw or tsm",
    ),
    (
        changed("requirements.0.classes", []),
        "DEMO-A-01: classes: must be a non-empty list of gp-se, sim, handset, rw, tsm",
    ),
    (changed("requirements.0.classes", ["sim", "sim"]), "DEMO-A-01: classes: lists a class twice"),
    (
        changed("requirements.0.applies_if", "ics.iso7816.logical_channels > 1"),
        "DEMO-A-01: applies_if: must be a mapping such as {claim: ics.gp.scp03}, got text "
        "'ics.iso7816.logical_channels > 1'",
    ),
    (
        changed("requirements.0.applies_if", {"claim": "ics.iso7816.channels", "greater_than": 1}),
        "DEMO-A-01: applies_if.claim: unknown profile field 'ics.iso7816.channels'; "
        "did you mean ics.iso7816.logical_channels?",
    ),
    (
        changed("requirements.0.applies_if", {"claim": "ics.iso7816.extended_length", "greater_than": 1}),
        "DEMO-A-01: applies_if.greater_than: ics.iso7816.extended_length is a boolean; "
        "greater_than compares integers only",
    ),
    (
        changed("requirements.0.applies_if", {"claim": "ics.personality", "equals": "gpse"}),
        "DEMO-A-01: applies_if.equals: 'gpse' is not a possible value of ics.personality "
        "(gp-se, mynumber-card, sim, sim-auth)",
    ),
    (
        changed("requirements.0.applies_if", {"all": [{"claim": "ics.gp.scp03", "is": 1}]}),
        "DEMO-A-01: applies_if.all[0].is: must be true or false, got an integer 1",
    ),
    (
        changed("requirements.0.applies_if", {"claim": "ics.gp.scp03", "when": True}),
        "DEMO-A-01: applies_if: unknown field 'when'; "
        "expected one of: claim, is, equals, one_of, greater_than, less_than, present",
    ),
    (
        changed("requirements.0.statement", None),
        "DEMO-A-01: missing required field 'statement'",
    ),
    (
        changed("requirements.0.title_ja", None),
        "DEMO-A-01: missing required field 'title_ja'",
    ),
    (
        changed("requirements.0.statement_ja", None),
        "DEMO-A-01: missing required field 'statement_ja'",
    ),
    (
        changed("requirements.0.statement", "  "),
        "DEMO-A-01: statement: must be non-empty text",
    ),
    (
        changed("requirements.0.statement", 7),
        "DEMO-A-01: statement: must be non-empty text, got an integer 7",
    ),
    (changed("requirements.0.title", "two\nlines"), "DEMO-A-01: title: must be non-empty text on one line"),
    (
        changed("requirements.0.verdict", "pass"),
        "DEMO-A-01: unknown field 'verdict'; expected one of: id, title, title_ja, statement, statement_ja, "
        "source, classes, applies_if, waiver",
    ),
    (
        changed("requirements.0.source", [{"doc": "rfc-8017", "at": "§9.2"}]),
        "DEMO-A-01: source[0].doc: unknown document 'rfc-8017', not in the document registry; "
        "did you mean 'rfc8017'?",
    ),
    (
        changed("requirements.0.source", [{"doc": "ISO", "at": "§9.2"}]),
        "DEMO-A-01: source[0].doc: must be a document key of jpkikit/harness/documents.yaml "
        "(lowercase, digits, -)",
    ),
    (changed("requirements.0.source", []), "DEMO-A-01: source: must be a non-empty list of {doc, at}"),
    (
        changed("requirements.0.source", [{"kind": "iso", "ref": "ISO/IEC 7816-4:2020"}]),
        "DEMO-A-01: source[0]: missing required field 'doc'",
    ),
    (
        changed("requirements.0.source", [{"doc": "iso7816-4"}]),
        "DEMO-A-01: source[0]: missing required field 'at'",
    ),
    (
        changed("requirements.0.source", [{"doc": "iso7816-4", "at": ""}]),
        "DEMO-A-01: source[0].at: must be non-empty text on one line",
    ),
    (
        changed("requirements.0.source", [{"doc": "iso7816-4", "at": "x", "page": 3}]),
        "DEMO-A-01: source[0]: unknown field 'page'; expected one of: doc, at, note",
    ),
    (
        changed("requirements.0.source", ["ISO/IEC 7816-4"]),
        "DEMO-A-01: source[0]: must be a mapping {doc, at[, note]}, got text 'ISO/IEC 7816-4'",
    ),
    (
        changed("requirements.0.source", [{"doc": "kit-spec", "at": "§3 of the applet page"}]),
        "DEMO-A-01: source[0].at: a kit-spec citation names a page and heading, such as "
        "jpki-applet.md#pin-states; got '§3 of the applet page'",
    ),
    (changed("requirements.0.waiver", ""), "DEMO-A-01: waiver: must be non-empty text"),
    (
        changed("requirements.0.id", "OTHER-A-01"),
        "OTHER-A-01: id: must start with the file's id_prefix DEMO-",
    ),
    (
        changed("requirements.0.id", "demo-a-01"),
        "demo-a-01: id: must look like ISO-SEL-01 (uppercase words and digits joined by -)",
    ),
    (
        changed("requirements.0.id", 12),
        "requirements[0]: id: must look like ISO-SEL-01 (uppercase words and digits joined by -), "
        "got an integer 12",
    ),
    (changed("requirements.0.id", None), "requirements[0]: missing required field 'id'"),
    (changed("requirements.0", "ISO-SEL-01"), "requirements[0]: must be a mapping, got text 'ISO-SEL-01'"),
    (changed("requirements", []), "requirements: must be a non-empty list of requirements"),
    (changed("area", "other"), "area: must match the file name ('demo'), got 'other'"),
    (changed("area", "Demo Area"), "area: must be a lowercase name such as iso7816"),
    (changed("id_prefix", "demo"), "id_prefix: must be uppercase letters and digits, such as ISO"),
    (changed("id_prefix", None), "<document>: missing required field 'id_prefix'"),
    (
        changed("owner", "x"),
        "<document>: unknown field 'owner'; "
        "expected one of: area, id_prefix, title, title_ja, description, requirements",
    ),
    (
        ["not", "a", "mapping"],
        "<document>: must be a mapping with area, id_prefix and requirements, got a list",
    ),
]


@pytest.mark.parametrize(("doc", "message"), BAD_CATALOGUES, ids=[m[:40] for _, m in BAD_CATALOGUES])
def test_bad_catalogue(tmp_path: Path, doc: Any, message: str) -> None:
    path = write_catalogue(tmp_path, doc)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([path])
    assert str(caught.value) == f"{path}: " + message.replace("{file}", str(path))


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write_catalogue(tmp_path, VALID)
    other = copy.deepcopy(VALID)
    other["area"] = "other"
    del other["requirements"][0]
    second = write_catalogue(tmp_path, other, "other.yaml")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([first, second])
    assert str(caught.value) == f"{second}: DEMO-A-02: duplicate requirement ID (first defined in {first})"


def test_area_defined_twice(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first = write_catalogue(tmp_path / "a", VALID)
    second = write_catalogue(tmp_path, VALID)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([first, second])
    assert str(caught.value) == f"{second}: area 'demo' is already defined in {first}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("area: [\n", "<document>: invalid YAML at line 2, column 1: " + NO_NODE_CONTENT),
        ("area: demo\narea: demo\n", "area: duplicate field (again at line 2)"),
        ("", "<document>: must be a mapping with area, id_prefix and requirements, got nothing"),
    ],
)
def test_bad_catalogue_yaml(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([path])
    assert str(caught.value).startswith(f"{path}: {message}")


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no such requirement file or directory"):
        load_catalogue([tmp_path / "nope.yaml"])
    with pytest.raises(CatalogueError, match=r"no requirement files \(\*\.yaml\) in this directory"):
        load_catalogue([tmp_path])
