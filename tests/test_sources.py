"""Every requirement source resolves: a registered document, and for the kit's own pages a file and heading.

Also keeps the citable material clean: no path of a developer's machine and no private working notes named in
the catalogue, the registry or docs/spec, and every relative link between the docs/spec pages resolves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml

from jpkikit.errors import CatalogueError
from jpkikit.harness.catalogue import (
    DOCUMENTS_PATH,
    KIT_AT_PATTERN,
    REQUIREMENTS_DIR,
    Catalogue,
    Source,
    load_catalogue,
    load_documents,
)
from jpkikit.harness.conditions import SCHEMA_PATH

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "spec"
SPEC_PAGES = ("README.md", "jpki-applet.md", "globalplatform.md", "system.md")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def all_sources(catalogue: Catalogue) -> Iterator[tuple[str, Source]]:
    for requirement in catalogue:
        for source in requirement.source:
            yield requirement.id, source


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    found: dict[str, int] = {}
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = re.match(r"#{1,6} (.+)", line)
        if match and not in_code:
            anchor = github_anchor(match[1])
            count = found.get(anchor, 0)
            found[anchor] = count + 1
            if count:
                found[f"{anchor}-{count}"] = 1
    return frozenset(found)


def test_anchor_rules() -> None:
    assert github_anchor("Token information (EF 0006)") == "token-information-ef-0006"
    assert github_anchor("The phone token (GP-SE)") == "the-phone-token-gp-se"
    assert github_anchor("1. Transport") == "1-transport"
    assert github_anchor("`CLA` coding") == "cla-coding"


# --- the registry -----------------------------------------------------------------------------------------


def test_registry_entries_say_where_to_get_them() -> None:
    documents = load_documents()
    assert DOCUMENTS_PATH.is_file() and len(documents) >= 30
    for key, document in documents.items():
        assert document.key == key and document.cite and document.title and document.publisher
        if document.is_kit:
            assert (ROOT / document.path).is_dir(), (
                f"{key}: {document.path} is not a folder of the repository"
            )  # type: ignore[operator]
        else:
            assert document.url or document.where, f"{key}: give a url or say where to get it"
            assert document.access, (
                f"{key}: say whether it is free, sold, free after registration or archived"
            )


def test_registry_names_the_documents_the_reviewers_expect() -> None:
    documents = load_documents()
    expected = {
        "iso7816-4": "ISO/IEC 7816-4",
        "iso7816-3": "ISO/IEC 7816-3",
        "gpcs": "GPC_SPE_034",
        "gpcs-amd-d": "GPC_SPE_014",
        "gpcs-amd-b": "GPC_SPE_011",
        "seac": "GPD_SPE_013",
        "rfc8017": "RFC 8017",
        "nist-sp800-38b": "SP 800-38B",
        "nist-sp800-108": "SP 800-108 Rev. 1",
        "nist-sp800-22": "SP 800-22 Rev. 1a",
        "etsi-ts-102-221": "ETSI TS 102 221",
        "etsi-ts-102-226": "ETSI TS 102 226",
        "gsma-ts26": "TS.26",
        "gsma-ts27": "TS.27",
    }
    for key, number in expected.items():
        assert documents[key].number == number
    for key in (
        "opensc-card-jpki",
        "opensc-pkcs15-jpki",
        "android-omapi",
        "aosp-secureelement",
        "jlis-cert-profile",
    ):
        assert documents[key].url
    assert documents["gpcs"].version == "2.3.1" and documents["gpcs-amd-d"].version == "1.1.1"
    titles = {
        "seed-000": "スマートフォンのSIMカード等へ利用者証明機能を搭載するための課題への対応方策の検討",
        "seed-001": "スマートフォンへの利用者証明機能ダウンロード検討サブワーキンググループ（第5回）議事概要",
        "seed-003": "スマートフォンへの利用者証明機能のダウンロードの実現イメージと課題(案)",
        "seed-004": "「カード機能のスマホへの搭載」の基本方針",
    }
    for key, title in titles.items():
        assert documents[key].title.startswith(title) and documents[key].publisher.startswith("総務省")
    assert "検討体制" in documents["seed-002"].title
    assert documents["seed-000"].date.startswith("2017-11-28")  # type: ignore[union-attr]
    assert documents["seed-001"].date.startswith("2016-10-25")  # type: ignore[union-attr]
    assert documents["seed-003"].date.startswith("2015-12-01")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("documents: {}\n", "documents: "),
        ("documents:\n  x:\n    cite: X\n    title: T\n", "documents.x: missing required field 'publisher'"),
        (
            "documents:\n  x: {cite: X, title: T, publisher: P, url: 'http://insecure.example'}\n",
            "documents.x.url: must be an https:// address",
        ),
        (
            "documents:\n  x: {cite: X, title: T, publisher: P, access: maybe}\n",
            "documents.x.access: must be free, purchase, free-registration or archived",
        ),
        (
            "documents:\n  x: {cite: X, title: T, publisher: P, pages: 3}\n",
            "documents.x: unknown field 'pages'",
        ),
        ("documents:\n  Bad_Key: {cite: X, title: T, publisher: P}\n", "document keys are lowercase"),
    ],
)
def test_bad_registry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "documents.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_documents(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_a_catalogue_can_be_checked_against_another_registry(tmp_path: Path) -> None:
    registry = tmp_path / "documents.yaml"
    registry.write_text(
        "documents:\n  only: {cite: Only, title: The only one, publisher: Me}\n", encoding="utf-8"
    )
    with pytest.raises(
        CatalogueError,
        match=r"aram\.yaml: ARAM-ALL-01: source\[0\]\.doc: unknown document 'seac', not in the document "
        r"registry$",
    ):
        load_catalogue(documents=load_documents(registry))


# --- every source of the bundled catalogue ----------------------------------------------------------------


def test_every_source_names_a_registered_document(catalogue: Catalogue) -> None:
    documents = load_documents()
    for rid, source in all_sources(catalogue):
        assert source.doc in documents, f"{rid}: {source.doc}"
        assert source.document == documents[source.doc]
        assert source.at.strip() == source.at and source.at


def test_every_kit_citation_names_an_existing_page_and_heading(catalogue: Catalogue) -> None:
    checked = 0
    for rid, source in all_sources(catalogue):
        if not source.document.is_kit:
            continue
        match = KIT_AT_PATTERN.fullmatch(source.at)
        assert match, f"{rid}: {source.at!r}"
        page = ROOT / source.document.path / match["file"]  # type: ignore[operator]
        assert page.is_file(), f"{rid}: {source.citation}: no such page"
        assert match["anchor"], f"{rid}: {source.citation}: name the heading too (page.md#heading)"
        assert match["anchor"] in anchors(page), f"{rid}: {source.citation}: no such heading in {page.name}"
        checked += 1
    assert checked > 50


def test_every_requirement_cites_something_a_reviewer_can_open(catalogue: Catalogue) -> None:
    for requirement in catalogue:
        docs = [s.document for s in requirement.source]
        assert any(d.is_kit or d.url or d.where for d in docs), requirement.id


def test_seed_citations_give_a_page_or_section(catalogue: Catalogue) -> None:
    for rid, source in all_sources(catalogue):
        if source.doc == "seed-004":
            assert re.match(r"pp?\.\d+", source.at), f"{rid}: seed 004 is cited by page: {source.at!r}"
        elif source.doc.startswith("seed-"):
            assert re.match(r"(§|\d+\.)", source.at), f"{rid}: cite {source.doc} by section: {source.at!r}"


def test_every_requirement_file_names_its_sources_in_the_new_form() -> None:
    for path in sorted(REQUIREMENTS_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in doc["requirements"]:
            for source in entry["source"]:
                assert set(source) <= {"doc", "at", "note"}, f"{path.name}: {entry['id']}"


# --- docs/spec --------------------------------------------------------------------------------------------


def test_the_spec_pages_exist_and_the_index_links_them() -> None:
    index = (SPEC / "README.md").read_text(encoding="utf-8")
    for name in SPEC_PAGES:
        assert (SPEC / name).is_file(), name
        if name != "README.md":
            assert f"]({name})" in index, f"README.md does not link {name}"


@pytest.mark.parametrize("name", SPEC_PAGES)
def test_links_between_pages_resolve(name: str) -> None:
    page = SPEC / name
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", page.read_text(encoding="utf-8")):
        if target.startswith("http"):
            continue
        linked = (page.parent / target).resolve() if target else page
        assert linked.is_file(), f"{name}: link to {target} does not resolve"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{name}: {target}#{anchor}: no such heading"


FORBIDDEN = [
    (re.compile(r"(?<![\w.])/(work|tmp|home|Users)/"), "a path of a developer's machine"),
    (re.compile(r"jpki-ap\.md|\bdesign\.md|certification\.md"), "a private working note"),
    (re.compile(r"\b\d{3}_[0-9a-f]{16}\b"), "a seed document's file name (cite it by title)"),
    (re.compile(r"shared/(spec|seeds)"), "a private folder"),
]


def citable_files() -> list[Path]:
    files = [
        DOCUMENTS_PATH,
        SCHEMA_PATH,
        *sorted(REQUIREMENTS_DIR.glob("*.yaml")),
        *sorted(SPEC.glob("*.md")),
    ]
    return [f for f in files if f.is_file()]


@pytest.mark.parametrize("path", citable_files(), ids=lambda p: p.name)
def test_no_private_material_is_named(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern, what in FORBIDDEN:
        found = pattern.search(text)
        assert found is None, f"{path.name} names {what}: {found[0]!r}"  # type: ignore[index]
