"""A real Chromium (Debian's) driving the app served from a thread, with axe-core on every page."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FRONTEND = ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk" / "govuk-frontend.min.css"
SHOTS = ROOT / "test-artifacts" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# A control in the accessibility tree with no name: "- radio" or "- textbox: typed text".
UNNAMED = re.compile(
    r'^\s*- (radiogroup|radio|checkbox|textbox|combobox|listbox|spinbutton)\b(?! ")',
    re.MULTILINE,
)


def unnamed_controls(page: Page) -> list[str]:
    """Return what the page's accessibility tree holds without a name: controls, and groups of
    controls (fieldsets) not named by their question."""
    tree = page.locator("body").aria_snapshot()
    found = [match.group(0).strip() for match in UNNAMED.finditer(tree)]
    for fieldset in page.locator("fieldset").all():
        lines = fieldset.aria_snapshot().splitlines()
        if not lines[0].startswith('- group "'):
            found.append(" ".join(lines[:3]))
    return found


# Each word of a table cell whose letters lie on more than one line (a hyphen or a space may
# end a line; nothing else may), and each reference or date cell not on one line.
BROKEN_WORDS = """() => {
  const lines = (node, start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    return new Set([...range.getClientRects()].filter(r => r.width > 0)
      .map(r => Math.round(r.bottom))).size;
  };
  const broken = [];
  for (const cell of document.querySelectorAll("main th, main td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/[^\\s\\-\u2013/?=&]+/g)) {
        if (lines(node, word.index, word.index + word[0].length) > 1) broken.push(word[0]);
      }
    }
  }
  for (const cell of document.querySelectorAll("main .app-nowrap")) {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
      .map(r => Math.round(r.bottom)));
    if (tops.size > 1) broken.push(cell.textContent.trim());
  }
  return broken.slice(0, 10);
}"""


@pytest.fixture(scope="session", autouse=True)
def _browser_parts_installed() -> None:
    """Fail, saying why, when the set-up has not installed what the browser tests need."""
    missing = [str(p) for p in (CHROMIUM, AXE, FRONTEND) if not p.exists()]
    if missing:
        pytest.fail(f"run scripts/setup first: missing {', '.join(missing)}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium: Playwright's own browser download does not work here."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Let axe-core be injected into pages whose policy allows only the app's own scripts."""
    return {
        **browser_context_args,
        "bypass_csp": True,
        "viewport": {"width": 1024, "height": 800},
        "accept_downloads": True,
    }


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free port from a thread; yield its address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class Pages:
    """Check each page reached (axe at WCAG 2.2 AA, one h1, a 375px fit) and keep screenshots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.titles: dict[str, str] = {}
        self.report: list[dict[str, Any]] = []

    def check(self, page: Page, name: str) -> None:
        """Run every check on the page as it is now and save its screenshots."""
        self.count += 1
        stem = f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
        expect(page.locator("h1"), f"{name}: one h1").to_have_count(1)  # waits for the page
        assert unnamed_controls(page) == [], f"{name}: every control named by its question"
        title = page.title()
        assert title, f"{name}: a title"
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async (tags) => { const r = await axe.run(document,"
            " {runOnly: {type: 'tag', values: tags}});"
            " return {violations: r.violations.map(v => ({id: v.id, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})), passes: r.passes.length}; }",
            WCAG,
        )
        self.report.append(
            {
                "page": stem,
                "title": title,
                "violations": result["violations"],
                "passes": result["passes"],
            }
        )
        assert result["violations"] == [], f"{name}: {json.dumps(result['violations'], indent=1)}"
        page.screenshot(path=str(self.folder / f"{stem}.png"), full_page=True)
        size = page.viewport_size or {"width": 1024, "height": 800}
        page.set_viewport_size({"width": 375, "height": 740})
        try:
            overflow = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > 376)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className"
                " + ' ' + Math.round(e.getBoundingClientRect().right))"
            )
            assert overflow <= 375, f"{name}: wider than a 375px screen ({overflow}px): {wide}"
            broken = page.evaluate(BROKEN_WORDS)
            assert broken == [], f"{name}: words split across lines on a 375px screen: {broken}"
            page.screenshot(path=str(self.folder / f"{stem}-375px.png"), full_page=True)
        finally:
            page.set_viewport_size(size)
        self.titles.setdefault(title, name)


@pytest.fixture
def pages(request: pytest.FixtureRequest) -> Pages:
    """Return the page checker, saving screenshots under test-artifacts/screenshots/<test name>/."""
    folder = SHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return Pages(folder)
