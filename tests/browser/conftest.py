"""Browser tests: the console in Debian's headless Chromium (Playwright for Python, no browser
download) against the session's stack on the local cloud (tests/support/local_stack.py, shared with the
e2e tests when one run takes both).

Every page a test opens fails the test on a browser console error or an uncaught page error, can be
checked with axe-core (injected from console/node_modules) and leaves a screenshot under
.run/browser-screens/ (git-ignored).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.localcloud import ROOT
from tests.support.local_stack import Stack

CHROMIUM = os.environ.get("PETCOVER_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = ROOT / ".run" / "browser-screens"
SERIOUS = ("serious", "critical")


@dataclass
class Console:
    """One browser page on the console, with what it said on its console."""

    page: Any
    stack: Stack
    name: str
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.stack.base}/console/"

    def sign_in(self, *roles: str, path: str = "") -> None:
        from infra.credentials import ops_token

        token = ops_token(list(roles), f"browser-{'-'.join(roles)}")
        self.page.goto(f"{self.url}{path}#token={token}")

    def go(self, path: str) -> None:
        """Client-side navigation through the menu's router (no reload), or a load for deep links."""
        self.page.goto(f"{self.url}{path}")

    def axe(self, what: str) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
        )
        return [v for v in result if v["impact"] in SERIOUS]

    def shot(self, label: str) -> Path:
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{self.name}-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    if not AXE.exists() or not (ROOT / "console" / "dist" / "index.html").exists():
        pytest.fail("the console is not built: `make console`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def console(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    # Generous: each function the emulator runs for the first time cold-starts (seconds to a minute on
    # a loaded machine); an expectation still ends as soon as it is met.
    page.set_default_timeout(120_000)
    c = Console(page, stack, request.node.name.removeprefix("test_"))
    page.on("console", lambda m: c.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: c.errors.append(f"page error: {e}"))
    page.on("response", lambda r: c.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    try:
        yield c
    finally:
        try:
            c.shot("end")
        finally:
            context.close()
    assert c.errors == [], "the browser console reported errors:\n" + "\n".join(c.errors)
