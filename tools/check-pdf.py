#!/usr/bin/env python3
"""Check rendered PDF reports the way a reader would see them (CI: tox -e certify-emulator).

    python tools/check-pdf.py [--lang ja|en] REPORT.pdf [[--lang ja|en] REPORT.pdf ...]

For each PDF (next to the JSON report it was made with, certification.json or campaign.json):

- ``pdftotext``: every requirement ID of the JSON report is in the text, and so is the certification
  verdict's name in the report's language; a Japanese report has Japanese glyphs (its title
  適合性試験報告書, and 合格 or the other verdict names), which only a font with them puts in the text;
- ``pdftoppm``: page 1 rendered as a grey image is not blank (enough dark pixels) and not all dark.

The language is the JSON report's ``lang`` unless ``--lang`` says what it must be. Exit status 0 when every
check holds, 1 with one line per failed check otherwise, 2 when poppler-utils is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

JA_TITLE = "適合性試験報告書"
JA_VERDICTS = ("合格", "不合格", "判定不能", "未完了", "キット不具合")
#: At least this share of page 1's pixels must be dark (text, tables, the verdict box): a blank page has 0.
MIN_INK = 0.005


def _run(*args: str) -> bytes:
    return subprocess.run(args, capture_output=True, check=True, timeout=120).stdout


def pgm_ink(data: bytes) -> float:
    """The share of dark pixels (< 128) of a binary PGM (P5) image, 8 bits per pixel."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic != b"P5" or maxval > 255:
        raise ValueError(f"not an 8-bit binary PGM ({magic!r}, maxval {maxval})")
    pixels = data[pos + 1 : pos + 1 + width * height]
    if len(pixels) != width * height:
        raise ValueError("truncated PGM")
    return sum(1 for p in pixels if p < 128) / len(pixels)


def check(pdf: Path, lang: str | None) -> list[str]:
    problems: list[str] = []
    json_file = pdf.with_suffix(".json")
    if not pdf.is_file():
        return [f"{pdf}: no such PDF"]
    if not json_file.is_file():
        return [f"{pdf}: no {pdf.stem}.json next to it (the report the PDF was made from)"]
    report = json.loads(json_file.read_text(encoding="utf-8"))
    lang = lang or report.get("lang", "en")
    if report.get("lang") != lang:
        problems.append(f"{pdf}: the report is in {report.get('lang')!r}, expected {lang!r}")
    text = _run("pdftotext", "-enc", "UTF-8", str(pdf), "-").decode("utf-8")
    missing = [r["id"] for r in report["requirements"] if r["id"] not in text]
    if missing:
        problems.append(f"{pdf}: {len(missing)} requirement IDs not in its text: {', '.join(missing[:8])}")
    verdict = report["certification"].get("verdict_local", report["certification"]["verdict"])
    if verdict not in text:
        problems.append(f"{pdf}: the certification verdict {verdict!r} is not in its text")
    if lang == "ja":
        if JA_TITLE not in text:
            problems.append(f"{pdf}: no Japanese title {JA_TITLE} in its text (no Japanese font?)")
        if not any(v in text for v in JA_VERDICTS):
            problems.append(f"{pdf}: no Japanese verdict name ({', '.join(JA_VERDICTS)}) in its text")
    elif JA_TITLE in text:
        problems.append(f"{pdf}: an English report with the Japanese title in it")
    image = _run("pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-gray", str(pdf))
    ink = pgm_ink(image)
    if ink < MIN_INK:
        problems.append(f"{pdf}: page 1 is blank ({ink:.2%} dark pixels)")
    elif ink > 0.6:
        problems.append(f"{pdf}: page 1 is mostly dark ({ink:.2%} dark pixels)")
    return problems


def main(argv: list[str]) -> int:
    for tool in ("pdftotext", "pdftoppm"):
        if not shutil.which(tool):
            print(f"check-pdf: {tool} not found: install poppler-utils (tools/setup.sh)", file=sys.stderr)
            return 2
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    problems: list[str] = []
    lang: str | None = None
    checked = 0
    args = iter(argv)
    for arg in args:
        if arg == "--lang":
            lang = next(args, None)
            continue
        problems += check(Path(arg), lang)
        checked += 1
        lang = None
    for problem in problems:
        print(f"check-pdf: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-pdf: {checked} PDF reports: text, requirement IDs, glyphs and page 1 image OK")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
