"""The status tags a list row or a step shows, from the design system's own tag."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from flask import Flask


def tags(app: Flask, row: Any) -> list[tuple[str, str]]:
    """Return the (colour, words) of each tag the macro renders for `row`, in order."""
    with app.test_request_context():
        html = str(app.jinja_env.get_template("macros/tags.html").module.status_tags(row))
    found = re.findall(r'<strong class="govuk-tag govuk-tag--(\w+)">\s*(.*?)\s*</strong>', html)
    assert html.count("<strong") == len(found)
    return found


def test_status_tags_show_each_flag_that_is_on_and_nothing_else(app: Flask) -> None:
    late = SimpleNamespace(overdue=True, agreed=True)  # a flag it lacks is off
    assert tags(app, late) == [("red", "Overdue"), ("green", "Agreed timescale")]
    soon = {"overdue": False, "due_soon": True}
    assert tags(app, soon) == [("yellow", "Due soon")]
    assert tags(app, {"proposed": True}) == [("blue", "Timescale proposed")]
    assert tags(app, {}) == []
