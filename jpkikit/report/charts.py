"""Charts of a report, made by the kit as SVG text (no plotting library, no browser): per area of the
catalogue, one stacked bar of its requirements by verdict (pass, fail, inconclusive, not exercised, not
applicable, kit error, untested, waived) with a legend of the counts. Any SVG viewer shows them; the HTML
and PDF reports embed them, and ``write_reports`` saves them next to the report as ``charts/*.svg``."""

from __future__ import annotations

from html import escape

from jpkikit.report.i18n import t, verdict_name

#: Verdicts in the order the bars stack, and their colours (colour-blind-safe where it matters:
#: pass and fail differ in lightness as well as hue).
ORDER: tuple[tuple[str, str], ...] = (
    ("pass", "#2e7d32"),
    ("fail", "#c62828"),
    ("inconclusive", "#ef6c00"),
    ("not exercised", "#5e35b1"),
    ("not applicable", "#9e9e9e"),
    ("kit error", "#212121"),
    ("untested", "#ad1457"),
    ("waived", "#00838f"),
)
FONT = "'Noto Sans CJK JP', 'Noto Sans', 'DejaVu Sans', sans-serif"
WIDTH = 640
BAR_Y, BAR_H = 24, 22


def _text_width(text: str, size: float) -> float:
    """A rough width of ``text``: CJK characters are square, Latin ones about 0.6 em."""
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in text)


def area_chart(area: str, counts: dict[str, int], lang: str) -> str:
    """One area's requirements by verdict as a standalone SVG document."""
    total = sum(counts.values())
    present = [(v, colour) for v, colour in ORDER if counts.get(v)]
    present += [(v, "#795548") for v in sorted(counts) if counts[v] and v not in dict(ORDER)]
    parts: list[str] = []
    x = 0.0
    for verdict, colour in present:
        width = WIDTH * counts[verdict] / total if total else 0
        label = f"{verdict_name(verdict, lang)} {counts[verdict]}"
        parts.append(
            f'<rect x="{x:.1f}" y="{BAR_Y}" width="{width:.1f}" height="{BAR_H}" fill="{colour}">'
            f"<title>{escape(label)}</title></rect>"
        )
        if width > _text_width(str(counts[verdict]), 11) + 6:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{BAR_Y + 15}" font-size="11" fill="#fff" '
                f'text-anchor="middle">{counts[verdict]}</text>'
            )
        x += width
    # the legend, wrapped onto as many lines as it needs
    lx, ly = 0.0, BAR_Y + BAR_H + 18
    for verdict, colour in present:
        label = f"{verdict_name(verdict, lang)} {counts[verdict]}"
        item = 16 + _text_width(label, 11) + 14
        if lx and lx + item > WIDTH:
            lx, ly = 0.0, ly + 18
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="11" height="11" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 15:.1f}" y="{ly}" font-size="11">{escape(label)}</text>')
        lx += item
    height = ly + 8
    heading = t("chart_label", lang, area=area, n=total)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="{FONT}" role="img" aria-label="{escape(heading)}">'
        f"<title>{escape(heading)}</title>"
        f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(heading)}</text>'
        f'<rect x="0" y="{BAR_Y}" width="{WIDTH}" height="{BAR_H}" fill="#eee"/>'
        + "".join(parts)
        + "</svg>\n"
    )


def chart_file(stem: str, area: str) -> str:
    """Where ``write_reports`` saves an area's chart, relative to the report."""
    return f"charts/{stem}-{area}.svg"
