"""The requirement catalogue: every normative statement the kit checks, with a stable ID.

Requirements live in ``jpkikit/harness/requirements/<area>.yaml``, one file per area, in the format of
``catalogue.schema.json`` (JSON Schema, Draft 2020-12)::

    area: iso7816                 # must equal the file name
    id_prefix: ISO                # every ID in the file starts with ISO-
    title: ISO/IEC 7816-4 command handling
    requirements:
      - id: ISO-SEL-01
        title: SELECT by DF name of a present application
        statement: ...            # the normative text, in English
        source:                   # where it comes from: a document of documents.yaml and the passage
          - {doc: iso7816-4, at: "§11.2.2 SELECT command", note: "P1 '04' by DF name"}
          - {doc: kit-spec, at: "jpki-applet.md#applications-and-aids"}
        classes: [gp-se, sim, rw] # implementation classes it applies to
        applies_if: {claim: ics.iso7816.logical_channels, greater_than: 1}   # optional, see conditions.py
        waiver: ...               # optional: when a deviation may be accepted

``documents.yaml`` is the registry of citable documents: public ones (ISO, GlobalPlatform, IETF, NIST, ETSI,
GSMA, Android, OpenSC and other public repositories, J-LIS, the Japanese government's published study
materials) with their number, version, publisher and address, and the kit's own folders (``docs/spec``,
``docs``) whose pages state facts in the kit's words; a citation of those is ``<file>.md#<heading-anchor>``.

:func:`load_catalogue` validates every file with the schema, then checks what a schema cannot: the area is
the file name, IDs start with the prefix and are unique, every source names a registered document, and every
condition reads an existing ICS field with a test that suits its type. Problems are :class:`CatalogueError`
naming the file, the requirement and the field.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jpkikit.errors import CatalogueError
from jpkikit.harness.conditions import (
    Condition,
    ConditionError,
    Fact,
    describe,
    first_error,
    parse_condition,
    reason_text,
    schema_validator,
)
from jpkikit.harness.profile import Profile, ics_fields, join_path, parse_yaml

REQUIREMENTS_DIR = Path(__file__).with_name("requirements")
DOCUMENTS_PATH = Path(__file__).with_name("documents.yaml")
#: How a citation of a kit document locates its passage: a Markdown file and, optionally, a heading anchor.
KIT_AT_PATTERN = re.compile(r"(?P<file>[A-Za-z0-9_.-]+\.md)(?:#(?P<anchor>[^\s#]+))?")


@dataclass(frozen=True)
class Document:
    """One entry of ``documents.yaml``."""

    key: str
    cite: str  # the short name a citation starts with, e.g. "ISO/IEC 7816-4:2020"
    title: str
    publisher: str
    number: str | None = None
    version: str | None = None
    date: str | None = None
    url: str | None = None
    access: str | None = None
    where: str | None = None
    path: str | None = None  # set for the kit's own documents: a folder of the repository
    note: str | None = None

    @property
    def is_kit(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class Source:
    """A citation: a registered document and the passage in it."""

    doc: str  # a key of documents.yaml, e.g. "gpcs-amd-d", "seed-004", "kit-spec"
    at: str  # e.g. "§7.1.1", "p.15 step ⑰", "jpki-applet.md#pin-states"
    document: Document
    note: str | None = None

    @property
    def citation(self) -> str:
        """One line for reports: ``GPC_SPE_014 v1.1.1 (SCP03), §7.1.1 (INITIALIZE UPDATE)``."""
        if self.document.is_kit:
            text = f"{self.document.path}/{self.at}"
        else:
            text = f"{self.document.cite}, {self.at}"
        return f"{text} ({self.note})" if self.note else text

    @property
    def url(self) -> str | None:
        return self.document.url


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    statement: str
    area: str
    source: tuple[Source, ...]
    classes: tuple[str, ...]
    applies_if: Condition | None
    waiver: str | None
    file: Path
    title_ja: str = ""
    statement_ja: str = ""

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` ("ja" or "en"); English where no Japanese is given."""
        return self.title_ja if lang == "ja" and self.title_ja else self.title

    def statement_in(self, lang: str) -> str:
        """The statement in ``lang`` ("ja" or "en"); English where no Japanese is given."""
        return self.statement_ja if lang == "ja" and self.statement_ja else self.statement


@dataclass(frozen=True)
class Applicability:
    """Whether a requirement applies to a profile, and why; truthy when it applies.

    ``reason`` is the English sentence; the other fields hold what it says, so that a report can word it in
    another language (jpkikit.report.i18n.applicability_text): the implementation's class, the
    requirement's classes, and the deciding facts of ``applies_if`` (None: the class decided, or the
    requirement has no ICS condition)."""

    applicable: bool
    reason: str
    implementation_class: str = field(default="", compare=False)
    classes: tuple[str, ...] = field(default=(), compare=False)
    facts: tuple[Fact, ...] | None = field(default=None, compare=False)

    @property
    def member(self) -> bool:
        """The implementation's class is among the requirement's."""
        return self.implementation_class in self.classes

    def __bool__(self) -> bool:
        return self.applicable


def applicability(requirement: Requirement, profile: Profile) -> Applicability:
    """Combine class membership and the ``applies_if`` condition evaluated on the profile's ICS."""
    cls, among = profile.implementation.class_, tuple(requirement.classes)
    classes = ", ".join(among)
    if cls not in among:
        return Applicability(False, f"implementation class {cls!r} is not among {classes}", cls, among)
    membership = f"implementation class {cls!r} is among {classes}"
    if requirement.applies_if is None:
        return Applicability(True, f"{membership}; no ICS condition", cls, among)
    holds, facts = requirement.applies_if.explain(profile.get)
    why = reason_text(facts)
    return Applicability(holds, f"{membership}; {why}" if holds else why, cls, among, facts)


class Catalogue:
    """All requirements, by ID, in file order."""

    def __init__(self, requirements: Iterable[Requirement]) -> None:
        self._by_id: dict[str, Requirement] = {}
        for requirement in requirements:
            if requirement.id in self._by_id:
                first = self._by_id[requirement.id].file
                problem = f"duplicate requirement ID (first defined in {first})"
                raise CatalogueError(f"{requirement.file}: {requirement.id}: {problem}")
            self._by_id[requirement.id] = requirement

    def get(self, requirement_id: str) -> Requirement:
        try:
            return self._by_id[requirement_id]
        except (KeyError, TypeError):
            raise CatalogueError(f"unknown requirement ID {requirement_id!r}") from None

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._by_id

    def ids(self) -> list[str]:
        return list(self._by_id)

    def applicability(self, requirement: Requirement | str, profile: Profile) -> Applicability:
        """See :func:`applicability`; ``requirement`` may be given by ID."""
        if isinstance(requirement, str):
            requirement = self.get(requirement)
        return applicability(requirement, profile)


# ---------------------------------------------------------------------------------------------------------
# The document registry


def load_documents(path: str | os.PathLike[str] | None = None) -> Mapping[str, Document]:
    """The document registry (``documents.yaml`` by default), checked against ``$defs/registry``."""
    if path is None:
        return _bundled_documents()
    return _load_documents(Path(path))


@functools.cache
def _bundled_documents() -> Mapping[str, Document]:
    return _load_documents(DOCUMENTS_PATH)


def _load_documents(file: Path) -> Mapping[str, Document]:
    doc = _read_yaml(file)
    _validate(file, doc, "registry", _plain_where)
    return MappingProxyType({key: Document(key=key, **entry) for key, entry in doc["documents"].items()})


# ---------------------------------------------------------------------------------------------------------
# Loading


def load_catalogue(
    paths: Iterable[str | os.PathLike[str]] | None = None,
    documents: Mapping[str, Document] | None = None,
) -> Catalogue:
    """Load requirement files (directories are searched for ``*.yaml``); default: the bundled catalogue.

    ``documents`` is the registry sources are resolved in; default: the bundled ``documents.yaml``.
    """
    if paths is None and documents is None:
        # the bundled catalogue, read once a process as long as its files are unchanged
        files = [DOCUMENTS_PATH, *sorted(REQUIREMENTS_DIR.glob("*.yaml"))]
        stamp = tuple((f.name, f.stat().st_mtime_ns) for f in files)
        return _bundled_catalogue(stamp)
    return _load_catalogue(paths, documents)


@functools.lru_cache(maxsize=2)
def _bundled_catalogue(stamp: tuple[tuple[str, int], ...]) -> Catalogue:
    return _load_catalogue(None, None)


def _load_catalogue(
    paths: Iterable[str | os.PathLike[str]] | None, documents: Mapping[str, Document] | None
) -> Catalogue:
    registry = load_documents() if documents is None else documents
    files: list[Path] = []
    for path in [REQUIREMENTS_DIR] if paths is None else [Path(p) for p in paths]:
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise CatalogueError(f"{path}: no requirement files (*.yaml) in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CatalogueError(f"{path}: no such requirement file or directory")
    requirements: list[Requirement] = []
    areas: dict[str, Path] = {}
    for file in files:
        area, loaded = _load_file(file, registry)
        if area in areas:
            raise CatalogueError(f"{file}: area {area!r} is already defined in {areas[area]}")
        areas[area] = file
        requirements.extend(loaded)
    return Catalogue(requirements)


def _read_yaml(file: Path) -> Any:
    def fail(where: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{file}: {where}: {problem}")

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{file}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_yaml(text, fail)


def _plain_where(parts: list[str | int], doc: Any) -> str:
    return join_path(parts) or "<document>"


def _requirement_where(parts: list[str | int], doc: Any) -> str:
    """``requirements[3].classes[1]`` -> ``ISO-CH-02: classes[1]`` when requirement 3 has a text ID."""
    if len(parts) >= 2 and parts[0] == "requirements" and isinstance(parts[1], int):
        entry = doc["requirements"][parts[1]]
        name = entry["id"] if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
        name = name or join_path(parts[:2])
        rest = join_path(parts[2:])
        return f"{name}: {rest}" if rest else name
    return join_path(parts) or "<document>"


def _validate(file: Path, doc: Any, definition: str | None, where: Any) -> None:
    error = first_error(schema_validator(definition), doc)
    if error is not None:
        _, problem = describe(error, doc)
        raise CatalogueError(f"{file}: {where(list(error.absolute_path), doc)}: {problem}")


def _load_file(file: Path, registry: Mapping[str, Document]) -> tuple[str, list[Requirement]]:
    doc = _read_yaml(file)
    _validate(file, doc, None, _requirement_where)
    area, prefix = doc["area"], doc["id_prefix"]
    if area != file.stem:
        raise CatalogueError(f"{file}: area: must match the file name ({file.stem!r}), got {area!r}")
    return area, [_requirement(entry, area, prefix, file, registry) for entry in doc["requirements"]]


def _requirement(
    entry: dict[str, Any], area: str, prefix: str, file: Path, registry: Mapping[str, Document]
) -> Requirement:
    rid = entry["id"]

    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{file}: {rid}: {problem}")

    if not rid.startswith(prefix + "-"):
        raise fail(f"id: must start with the file's id_prefix {prefix}-")
    sources = tuple(_source(item, number, registry, fail) for number, item in enumerate(entry["source"]))
    condition = None
    if "applies_if" in entry:
        try:
            condition = parse_condition(entry["applies_if"], ics_fields())
        except ConditionError as exc:
            raise fail(f"applies_if{'.' + exc.where if exc.where else ''}: {exc.problem}") from None
    return Requirement(
        id=rid,
        title=entry["title"].strip(),
        statement=entry["statement"].strip(),
        area=area,
        source=sources,
        classes=tuple(entry["classes"]),
        applies_if=condition,
        waiver=entry["waiver"].strip() if "waiver" in entry else None,
        file=file,
        title_ja=entry.get("title_ja", "").strip(),
        statement_ja=entry.get("statement_ja", "").strip(),
    )


def _source(item: dict[str, str], number: int, registry: Mapping[str, Document], fail: Any) -> Source:
    key, at = item["doc"], item["at"].strip()
    document = registry.get(key)
    if document is None:
        close = difflib.get_close_matches(key, list(registry), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise fail(f"source[{number}].doc: unknown document {key!r}, not in the document registry{hint}")
    if document.is_kit and not KIT_AT_PATTERN.fullmatch(at):
        raise fail(
            f"source[{number}].at: a {key} citation names a page and heading, such as "
            f"jpki-applet.md#pin-states; got {at!r}"
        )
    return Source(doc=key, at=at, document=document, note=item.get("note"))
