"""The flow-step part of the coverage gate: every step of a seed's flows listed in a data file of the suite
(``conformance/**/flow-steps*.yaml``) maps to requirements that exist, and at least one of them cites the
step: a source of the file's document whose ``at`` names the page (``p.N``) and, after it, the step — its
circled number alone or inside a range (``⑩–⑯``), or the label the slide gives it (``補足1``, ``対策1-1``).

A data file::

    document: seed-004
    steps:
      - {page: 15, step: ⑰, what: "key pair generation request", requirements: [PROV-KEY-01, TSM-KEY-01]}
      - {page: 21, what: "device change on the new phone alone", requirements: [TSM-DEV-01]}   # the page

A document without consistent page numbers (a study group's report, its minutes) is cited by section: an
entry gives ``section`` instead of ``page`` (``§4(2)``, ``5. 議事概要 (1)``), and a source cites it when its
``at`` holds that section (spaces ignored) and, after it, the step or label (``課題③``, ``⑫``) if one is
given::

    document: seed-000
    steps:
      - {section: "§4(2)", step: 課題③, what: "SIM swap", requirements: [SIM-BIND-01]}
      - {section: "§5", what: "who bears the cost", outside: "an institutional question, not a behaviour"}

``outside`` (instead of ``requirements``) says why an item of the document is no behaviour of any
implementation the kit can certify (a legal or cost question); it must give a reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from jpkikit.harness.catalogue import Catalogue

PAGE = re.compile(r"p\.(\d+)")
RANGE = re.compile(r"(\S)\s*[–\-〜～]\s*(\S)")


def circled(char: str) -> int | None:
    """1-50 for ①-㊿, else None."""
    code = ord(char) if len(char) == 1 else 0
    if 0x2460 <= code <= 0x2473:
        return code - 0x2460 + 1
    if 0x3251 <= code <= 0x325F:
        return code - 0x3251 + 21
    if 0x32B1 <= code <= 0x32BF:
        return code - 0x32B1 + 36
    return None


def page_segments(at: str) -> dict[int, str]:
    """The text after each ``p.N`` of a citation, up to the next page."""
    parts = PAGE.split(at)
    out: dict[int, str] = {}
    for n in range(1, len(parts) - 1, 2):
        out[int(parts[n])] = out.get(int(parts[n]), "") + " " + parts[n + 1]
    return out


def names_step(segment: str, step: str | None) -> bool:
    if step is None:
        return True
    if step in segment:
        return True
    number = circled(step)
    if number is None:
        return False
    for low, high in RANGE.findall(segment):
        a, b = circled(low), circled(high)
        if a is not None and b is not None and a <= number <= b:
            return True
    return False


def cites(requirement: Any, document: str, page: int, step: str | None) -> bool:
    for source in requirement.source:
        if source.doc != document:
            continue
        segment = page_segments(source.at).get(page)
        if segment is not None and names_step(segment, step):
            return True
    return False


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def cites_section(requirement: Any, document: str, section: str, step: str | None) -> bool:
    wanted = _squeezed(section)
    for source in requirement.source:
        if source.doc != document:
            continue
        at = _squeezed(source.at)
        where = at.find(wanted)
        if where >= 0 and names_step(at[where + len(wanted) :], step and _squeezed(step)):
            return True
    return False


def step_files(suite: Path) -> list[Path]:
    return sorted(suite.rglob("flow-steps*.yaml"))


def check_file(catalogue: Catalogue, path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    document, steps = doc["document"], doc["steps"]
    known = [rid for s in steps for rid in s.get("requirements", []) if rid in catalogue]
    if not known:
        return []  # another catalogue (a demo, a vendor's): none of the areas this file maps into
    problems = []
    for entry in steps:
        step = entry.get("step")
        if "section" in entry:
            section = str(entry["section"])
            where = f"{path.name}: {document} {section}{' ' + str(step) if step else ''}"

            def cited(rid: str, section: str = section, step: str | None = step) -> bool:
                return cites_section(catalogue.get(rid), document, section, step)
        else:
            page = int(entry["page"])
            where = f"{path.name}: {document} p.{page}{' ' + str(step) if step else ''}"

            def cited(rid: str, page: int = page, step: str | None = step) -> bool:
                return cites(catalogue.get(rid), document, page, step)

        rids = entry.get("requirements") or []
        if not rids and "outside" in entry:
            if not str(entry["outside"] or "").strip():
                problems.append(f"{where}: outside the kit's scope, but no reason given")
            continue
        if not rids:
            problems.append(f"{where}: maps to no requirement")
            continue
        missing = [rid for rid in rids if rid not in catalogue]
        if missing:
            problems.append(f"{where}: unknown requirement(s) {', '.join(missing)}")
            continue
        if not any(cited(rid) for rid in rids):
            what = "section" if "section" in entry else "page"
            problems.append(f"{where}: none of {', '.join(rids)} cites this {what} and step in its sources")
    return problems


def flow_step_problems(catalogue: Catalogue, suites: Iterable[Path] | None = None) -> list[str]:
    """Problems of every flow-step file of the suites (default: the bundled suite)."""
    if suites is None:
        from jpkikit.harness.bundled import suite_dir

        suites = [suite_dir()]
    return [p for suite in suites for path in step_files(suite) for p in check_file(catalogue, path)]
