"""A diagram of a process drawn as SVG from its definition, with the current level marked.

The current level is marked three ways so that colour is never needed: a thick
border, a bold "Current level" label, and a fill. The SVG is an image with a
title and description; the page also lists the levels as text.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from markupsafe import Markup, escape

from ..domain.definitions import Definition

WIDTH = 340
BOX_X = 10
BOX_W = 320
LINE = 18
GAP = 34
INK = "#0b0c0c"
GREY = "#505a5f"
CURRENT_FILL = "#d2e2f1"


@dataclass(frozen=True)
class Box:
    key: str
    heading: str
    lines: tuple[str, ...]
    current: bool


def _boxes(definition: Definition, state: str, closed_from: str | None) -> list[Box]:
    boxes = []
    for number, level in enumerate(definition.levels, start=1):
        current = level.key == state
        heading = f"{definition.level_word.capitalize()} {number}" + (" – current level" if current else "")
        if closed_from == level.key:
            heading += " – closed here"
        lines = tuple(textwrap.wrap(level.title, 34)) + (f"Timescale: {level.timescale}",)
        boxes.append(Box(level.key, heading, lines, current))
    return boxes


def _box_height(box: Box) -> int:
    return 16 + LINE * (len(box.lines) + 1)


def process_diagram(definition: Definition, state: str, closed_from: str | None = None) -> Markup:
    """Return the SVG of the process's levels, top to bottom, with the case's level marked."""
    boxes = _boxes(definition, state, closed_from)
    outcomes = [s for s in definition.states if definition.is_closed_state(s)]
    parts: list[str] = []
    y = 10
    for index, box in enumerate(boxes):
        height = _box_height(box)
        stroke, width, fill = (INK, 6, CURRENT_FILL) if box.current else (GREY, 2, "#ffffff")
        parts.append(
            f'<rect x="{BOX_X}" y="{y}" width="{BOX_W}" height="{height}" rx="4" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
        )
        weight = ' font-weight="bold"'
        parts.append(f'<text x="{BOX_X + 14}" y="{y + 24}" fill="{INK}"{weight}>{escape(box.heading)}</text>')
        for n, line in enumerate(box.lines, start=2):
            parts.append(f'<text x="{BOX_X + 14}" y="{y + 6 + LINE * n}" fill="{INK}">{escape(line)}</text>')
        y += height
        if index < len(boxes) - 1:
            mid = BOX_X + BOX_W // 2
            parts.append(f'<line x1="{mid}" y1="{y + 4}" x2="{mid}" y2="{y + GAP - 10}" stroke="{INK}" stroke-width="2"/>')
            parts.append(f'<polygon points="{mid - 7},{y + GAP - 12} {mid + 7},{y + GAP - 12} {mid},{y + GAP - 3}" fill="{INK}"/>')
            parts.append(f'<text x="{mid + 14}" y="{y + GAP // 2 + 5}" fill="{INK}">escalate</text>')
            y += GAP
    y += 22
    parts.append(f'<text x="{BOX_X}" y="{y}" fill="{INK}">At any {escape(definition.level_word)} a case can close as:</text>')
    y += 10
    if outcomes:
        slot = BOX_W // len(outcomes)
        for i, kind in enumerate(outcomes):
            current = kind == state
            x = BOX_X + i * slot
            stroke, width, fill = (INK, 6, CURRENT_FILL) if current else (GREY, 2, "#ffffff")
            parts.append(f'<rect x="{x + 3}" y="{y}" width="{slot - 6}" height="{52 if current else 36}" rx="4" '
                         f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')
            parts.append(f'<text x="{x + 12}" y="{y + 24}" fill="{INK}" font-weight="bold">{escape(kind)}</text>')
            if current:
                parts.append(f'<text x="{x + 12}" y="{y + 42}" fill="{INK}">outcome</text>')
        y += 60
    title = f"Diagram of the {definition.title}"
    desc = describe(definition, state, closed_from)
    return Markup(
        f'<svg class="app-diagram" viewBox="0 0 {WIDTH} {y}" width="{WIDTH}" height="{y}" role="img" '
        f'aria-labelledby="diagram-title diagram-desc" font-family="Arial, sans-serif" font-size="15" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="diagram-title">{escape(title)}</title><desc id="diagram-desc">{escape(desc)}</desc>'
        + "".join(parts) + "</svg>"
    )


def describe(definition: Definition, state: str, closed_from: str | None = None) -> str:
    """Return the diagram in words."""
    words = []
    for number, level in enumerate(definition.levels, start=1):
        mark = " (current level)" if level.key == state else ""
        if closed_from == level.key:
            mark = " (closed at this level)"
        words.append(f"{definition.level_word.capitalize()} {number}: {level.title}, {level.timescale}{mark}.")
    if definition.is_closed_state(state):
        words.append(f"The case is closed: {state}.")
    return " ".join(words)
