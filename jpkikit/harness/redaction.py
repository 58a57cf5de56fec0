"""The last line of defence for secrets: whatever a run writes is scrubbed of every known secret.

Secrets do not render (jpkikit.secrets), so a failure that mentions one shows its name. What can still
carry a value is text built from the bytes around it: a traceback's ``-l`` locals in a frame that held an
APDU, a log line of another library, the drawn examples hypothesis prints, an Allure attachment. So the
plugin scrubs each test report before any other plugin (terminal, JUnit XML, Allure) reads it, and every
file of the results directories at the end of the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jpkikit.secrets import known, mentions, scrub, scrubber

#: Files of a results directory that may hold text (everything the kit and Allure write there is text).
TEXT_SUFFIXES = {".json", ".txt", ".xml", ".html", ".md", ".properties", ".log"}


def scrub_report(report: Any) -> None:
    """Scrub a pytest TestReport in place: the failure text, captured output and logs, user properties."""
    if not known():
        return
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        report.longrepr = (longrepr[0], longrepr[1], scrub(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        cleaned = scrub(text)
        if cleaned != text:
            report.longrepr = cleaned
    report.sections = [(title, scrub(content)) for title, content in report.sections]
    report.user_properties = [(name, scrub(str(value))) for name, value in report.user_properties]


def scrub_tree(directory: Path) -> list[Path]:
    """Scrub every text file under ``directory`` in place; returns the files that had to change."""
    if not known() or not directory.is_dir():
        return []
    changed = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        cleaned = _scrub_json(text) if path.suffix == ".json" else scrub(text)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8")
            changed.append(path)
    return changed


def _scrub_json(text: str) -> str:
    """Scrub the strings of a JSON document (so that it stays JSON); text that is not JSON as text."""
    try:
        document = json.loads(text)
    except ValueError:
        return scrub(text)

    strings: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, list):
            for item in node:
                collect(item)
        elif isinstance(node, dict):
            strings.extend(node)
            for item in node.values():
                collect(item)

    collect(document)
    # One search over all the strings, joined by a character that is no part of a token: a form found in
    # one string is found there too, so when the joined text mentions no secret, no string needs scrubbing
    # (~1400 JSON files a run, nearly all clean; scrubbing them string by string took seconds).
    joined = "\x00".join(strings)
    if not mentions(joined):
        return text
    scrub_part = scrubber(joined)  # looks in each string only for the forms the document holds

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return scrub_part(node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {scrub_part(key): walk(value) for key, value in node.items()}
        return node

    cleaned = walk(document)
    return text if cleaned == document else json.dumps(cleaned, indent=1)
