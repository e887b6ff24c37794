"""Server-rendered bar charts as SVG: readable without colour, described for screen readers.

Each bar has its label and value written as text, so the chart reads the same in
greyscale or printed; the SVG carries role="img" with a <title> and a <desc> that
lists every value; and the page puts the data table from the same rows beside it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from html import escape

WIDTH = 640
LABEL_WIDTH = 260
BAR_HEIGHT = 28
GAP = 10
TOP = 40
VALUE_ROOM = 70
INK = "#0b0c0c"


def _number(value: float) -> str:
    """Write a value as the data table beside the chart does (whole numbers plain, else 2 places)."""
    return str(value) if isinstance(value, int) else str(round(float(value), 2))


def bar_chart_svg(title: str, rows: Sequence[tuple[str, float]]) -> str:
    """Return a horizontal bar chart of (label, value) rows as an accessible SVG element."""
    ident = "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]
    listing = (
        "; ".join(f"{label}: {_number(value)}" for label, value in rows)
        or "no data for this period"
    )
    height = TOP + max(len(rows), 1) * (BAR_HEIGHT + GAP) + GAP
    biggest = max((float(v) for _, v in rows), default=0.0) or 1.0
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(listing)}</desc>',
        f'<text x="0" y="24" font-size="18" font-weight="bold" fill="{INK}">{escape(title)}</text>',
    ]
    if not rows:
        parts.append(
            f'<text x="0" y="{TOP + 20}" font-size="16" fill="{INK}">No data for this period</text>'
        )
    for i, (label, value) in enumerate(rows):
        y = TOP + i * (BAR_HEIGHT + GAP)
        width = max(0.0, float(value)) / biggest * room
        middle = y + BAR_HEIGHT / 2 + 5
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.0f}" font-size="14" text-anchor="end" '
            f'fill="#0b0c0c">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
            f'fill="#1d70b8" stroke="#0b0c0c" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{middle:.0f}" font-size="14" '
            f'font-weight="bold" fill="#0b0c0c">{escape(_number(value))}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
