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
from ..domain.status import timescale_for

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


def _boxes(definition: Definition, state: str, closed_from: str | None, urgent: bool) -> list[Box]:
    boxes = []
    for number, level in enumerate(definition.levels, start=1):
        current = level.key == state
        heading = f"{definition.level_word.capitalize()} {number}" + (
            " – current level" if current else ""
        )
        if closed_from == level.key:
            heading += " – closed here"
        timescale = timescale_for(definition, level.key, urgent).timescale
        lines = tuple(textwrap.wrap(level.title, 34)) + (f"Timescale: {timescale}",)
        boxes.append(Box(level.key, heading, lines, current))
    return boxes


def _box_height(box: Box) -> int:
    return 16 + LINE * (len(box.lines) + 1)


def _el(tag: str, text: str | None = None, **attrs: object) -> str:
    """Return one SVG element with escaped attributes and text."""
    names = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items()
    )
    if text is None:
        return f"<{tag} {names}/>"
    return f"<{tag} {names}>{escape(text)}</{tag}>"


def _box(x: int, y: int, width: int, height: int, current: bool) -> str:
    stroke, line, fill = (INK, 6, CURRENT_FILL) if current else (GREY, 2, "#ffffff")
    return _el(
        "rect",
        x=x,
        y=y,
        width=width,
        height=height,
        rx=4,
        fill=fill,
        stroke=stroke,
        stroke_width=line,
    )


def process_diagram(
    definition: Definition, state: str, closed_from: str | None = None, urgent: bool = False
) -> Markup:
    """Return the SVG of the process's levels, top to bottom, with the case's level marked
    and each level's timescale for this case (`urgent`: on the urgent route's clock)."""
    boxes = _boxes(definition, state, closed_from, urgent)
    outcomes = [s for s in definition.states if definition.is_closed_state(s)]
    parts: list[str] = []
    y = 10
    for index, box in enumerate(boxes):
        height = _box_height(box)
        parts.append(_box(BOX_X, y, BOX_W, height, box.current))
        parts.append(_el("text", box.heading, x=BOX_X + 14, y=y + 24, fill=INK, font_weight="bold"))
        for n, line in enumerate(box.lines, start=2):
            parts.append(_el("text", line, x=BOX_X + 14, y=y + 6 + LINE * n, fill=INK))
        y += height
        if index < len(boxes) - 1:
            mid = BOX_X + BOX_W // 2
            tip = y + GAP - 12
            parts.append(
                _el("line", x1=mid, y1=y + 4, x2=mid, y2=y + GAP - 10, stroke=INK, stroke_width=2)
            )
            parts.append(
                _el("polygon", points=f"{mid - 7},{tip} {mid + 7},{tip} {mid},{tip + 9}", fill=INK)
            )
            parts.append(_el("text", "escalate", x=mid + 14, y=y + GAP // 2 + 5, fill=INK))
            y += GAP
    y += 22
    closing = f"At any {definition.level_word} a case can close as:"
    parts.append(_el("text", closing, x=BOX_X, y=y, fill=INK))
    y += 10
    if outcomes:
        slot = BOX_W // len(outcomes)
        for i, kind in enumerate(outcomes):
            current = kind == state
            x = BOX_X + i * slot
            parts.append(_box(x + 3, y, slot - 6, 52 if current else 36, current))
            parts.append(_el("text", kind, x=x + 12, y=y + 24, fill=INK, font_weight="bold"))
            if current:
                parts.append(_el("text", "outcome", x=x + 12, y=y + 42, fill=INK))
        y += 60
    head = _el(
        "svg",
        None,
        class_="app-diagram",
        viewBox=f"0 0 {WIDTH} {y}",
        width=WIDTH,
        height=y,
        role="img",
        aria_labelledby="diagram-title diagram-desc",
        font_family="Arial, sans-serif",
        font_size=15,
        xmlns="http://www.w3.org/2000/svg",
    )
    title = _el("title", f"Diagram of the {definition.title}", id="diagram-title")
    desc = _el("desc", describe(definition, state, closed_from, urgent), id="diagram-desc")
    # Every piece above went through escape(): the markup is built, not copied from input.
    return Markup(head[:-2] + ">" + title + desc + "".join(parts) + "</svg>")  # noqa: S704 - every text in it is escaped  # nosec B704


def describe(
    definition: Definition, state: str, closed_from: str | None = None, urgent: bool = False
) -> str:
    """Return the diagram in words."""
    words = []
    for number, level in enumerate(definition.levels, start=1):
        mark = " (current level)" if level.key == state else ""
        if closed_from == level.key:
            mark = " (closed at this level)"
        words.append(
            f"{definition.level_word.capitalize()} {number}: "
            f"{level.title}, {timescale_for(definition, level.key, urgent).timescale}{mark}."
        )
    if definition.is_closed_state(state):
        words.append(f"The case is closed: {state}.")
    return " ".join(words)
