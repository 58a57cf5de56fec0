"""The requirement catalogue: every normative statement the kit checks, with a stable ID.

Requirements live in ``jpkikit/harness/requirements/<area>.yaml``, one file per area::

    area: iso7816                 # must equal the file name
    id_prefix: ISO                # every ID in the file starts with ISO-
    title: ISO/IEC 7816-4 command handling
    requirements:
      - id: ISO-SEL-01
        title: SELECT by DF name of a present application
        statement: ...            # the normative text, in English
        source:                   # where it comes from
          - {kind: iso, ref: "ISO/IEC 7816-4:2020, SELECT command"}
        classes: [gp-se, sim, rw] # implementation classes it applies to
        applies_if: ics.iso7816.logical_channels > 1   # optional, see jpkikit.harness.conditions
        waiver: ...               # optional: when a deviation may be accepted

:func:`load_catalogue` checks all of it (and every condition against the profile schema); problems are
:class:`CatalogueError` naming the file and the requirement.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jpkikit.errors import CatalogueError
from jpkikit.harness.conditions import Condition, parse_condition
from jpkikit.harness.profile import CLASSES, Profile, ics_fields, join_path, parse_yaml

REQUIREMENTS_DIR = Path(__file__).with_name("requirements")
SOURCE_KINDS = ("iso", "gp", "seed", "jpki-card")
ID_PATTERN = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")
_AREA_PATTERN = re.compile(r"[a-z][a-z0-9-]*")
_PREFIX_PATTERN = re.compile(r"[A-Z][A-Z0-9]*")
_Fail = Callable[[str, str], CatalogueError]
_FILE_KEYS = {"area": True, "id_prefix": True, "title": False, "description": False, "requirements": True}
_REQ_KEYS = {
    "id": True,
    "title": True,
    "statement": True,
    "source": True,
    "classes": True,
    "applies_if": False,
    "waiver": False,
}


@dataclass(frozen=True)
class Source:
    kind: str  # iso | gp | seed | jpki-card
    ref: str  # e.g. "ISO/IEC 7816-4:2020, SELECT command", "seed 004 step ⑰", "jpki-ap.md §4"


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


@dataclass(frozen=True)
class Applicability:
    """Whether a requirement applies to a profile, and why; truthy when it applies."""

    applicable: bool
    reason: str

    def __bool__(self) -> bool:
        return self.applicable


def applicability(requirement: Requirement, profile: Profile) -> Applicability:
    """Combine class membership and the ``applies_if`` condition evaluated on the profile's ICS."""
    cls = profile.implementation.class_
    classes = ", ".join(requirement.classes)
    if cls not in requirement.classes:
        return Applicability(False, f"implementation class {cls!r} is not among {classes}")
    membership = f"implementation class {cls!r} is among {classes}"
    if requirement.applies_if is None:
        return Applicability(True, f"{membership}; no ICS condition")
    holds, why = requirement.applies_if.evaluate(profile.get)
    return Applicability(True, f"{membership}; {why}") if holds else Applicability(False, why)


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


def load_catalogue(paths: Iterable[str | os.PathLike[str]] | None = None) -> Catalogue:
    """Load requirement files (directories are searched for ``*.yaml``); default: the bundled catalogue."""
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
        area, loaded = _load_file(file)
        if area in areas:
            raise CatalogueError(f"{file}: area {area!r} is already defined in {areas[area]}")
        areas[area] = file
        requirements.extend(loaded)
    return Catalogue(requirements)


def _load_file(file: Path) -> tuple[str, list[Requirement]]:
    def fail(where: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{file}: {where}: {problem}")

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{file}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    doc = parse_yaml(text, fail)
    _check_fields(doc, _FILE_KEYS, "<document>", fail)
    area, prefix = doc["area"], doc["id_prefix"]
    if not isinstance(area, str) or not _AREA_PATTERN.fullmatch(area):
        raise fail("area", "must be a lowercase name such as iso7816")
    if area != file.stem:
        raise fail("area", f"must match the file name ({file.stem!r}), got {area!r}")
    if not isinstance(prefix, str) or not _PREFIX_PATTERN.fullmatch(prefix):
        raise fail("id_prefix", "must be uppercase letters and digits, such as ISO")
    entries = doc["requirements"]
    if not isinstance(entries, list) or not entries:
        raise fail("requirements", "must be a non-empty list of requirements")
    return area, [_requirement(entry, index, area, prefix, file, fail) for index, entry in enumerate(entries)]


def _check_fields(doc: Any, keys: dict[str, bool], where: str, fail: _Fail) -> None:
    if not isinstance(doc, dict):
        raise fail(where, "must be a mapping")
    for key in doc:
        if key not in keys:
            raise fail(where, f"unknown field {key!r}; expected one of: {', '.join(keys)}")
    for key, required in keys.items():
        if required and key not in doc:
            raise fail(where, f"missing required field {key!r}")


def _text(entry: dict[str, Any], key: str, where: str, fail: _Fail) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise fail(where, f"{key}: must be non-empty text")
    return value.strip()


def _requirement(entry: Any, index: int, area: str, prefix: str, file: Path, fail: _Fail) -> Requirement:
    where = join_path(["requirements", index])
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        where = entry["id"]
    _check_fields(entry, _REQ_KEYS, where, fail)
    rid = entry["id"]
    if not isinstance(rid, str) or not ID_PATTERN.fullmatch(rid):
        raise fail(where, "id: must look like ISO-SEL-01 (uppercase words and digits joined by -)")
    if not rid.startswith(prefix + "-"):
        raise fail(where, f"id: must start with the file's id_prefix {prefix}-")
    title = _text(entry, "title", where, fail)
    if "\n" in title:
        raise fail(where, "title: must be one line")
    statement = _text(entry, "statement", where, fail)
    sources = entry["source"]
    if not isinstance(sources, list) or not sources:
        raise fail(where, "source: must be a non-empty list of {kind, ref}")
    parsed_sources = []
    for number, source in enumerate(sources):
        if not isinstance(source, dict) or set(source) != {"kind", "ref"}:
            raise fail(where, f"source[{number}]: must be a mapping with exactly kind and ref")
        if source["kind"] not in SOURCE_KINDS:
            kinds = ", ".join(SOURCE_KINDS)
            raise fail(where, f"source[{number}].kind: must be one of {kinds}, got {source['kind']!r}")
        ref = _text(source, "ref", f"{where}: source[{number}]", fail)
        parsed_sources.append(Source(source["kind"], ref))
    classes = entry["classes"]
    if not isinstance(classes, list) or not classes:
        raise fail(where, f"classes: must be a non-empty list of {', '.join(CLASSES)}")
    for cls in classes:
        if cls not in CLASSES:
            raise fail(where, f"classes: unknown implementation class {cls!r}; expected {', '.join(CLASSES)}")
    if len(set(classes)) != len(classes):
        raise fail(where, "classes: lists a class twice")
    condition = None
    if "applies_if" in entry:
        try:
            condition = parse_condition(entry["applies_if"], ics_fields())
        except CatalogueError as exc:
            raise fail(where, f"applies_if: {exc}") from None
    waiver = _text(entry, "waiver", where, fail) if "waiver" in entry else None
    return Requirement(
        rid, title, statement, area, tuple(parsed_sources), tuple(classes), condition, waiver, file
    )
