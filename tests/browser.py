"""Browser tests in Debian's chromium, driven by Playwright for Python (issue 15 item 4):
one browser for the session, a fresh context (cookies, viewport) per test and width; axe-core
(from npm, tests/axe, installed by `make test` with `npm ci`) run in the page; screenshots
of the main pages written to run/screens/ (docs/screens/ with COMPTOIR_SCREENS_DIR).

Registered by ``pytest_plugins`` in tests/conftest.py. Playwright's own browser download is
never used: ``COMPTOIR_CHROMIUM`` (default /usr/bin/chromium) is launched, without a sandbox
(the tests may run as root) and without any of its calls home (the machine's network is
closed).
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests import harness

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("COMPTOIR_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Each run's screenshots go to run/screens (not kept): their pages show the run's own e-mail
# addresses and days. docs/screens/ is refreshed on purpose, with
# COMPTOIR_SCREENS_DIR=docs/screens, and committed.
SCREENS = Path(os.environ.get("COMPTOIR_SCREENS_DIR", ROOT / "run" / "screens"))
ARGS = [
    "--no-sandbox",  # as root, chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS: dict[str, tuple[int, int]] = {
    "phone": (390, 844),
    "tablet": (820, 1180),
    "desktop": (1366, 900),
}
# What axe may find and the page still pass: minor and moderate only.
BLOCKING = ("serious", "critical")
# The portal's cookies are Secure (``__Host-``) as in production; Chromium keeps a Secure
# cookie over plain HTTP only from localhost, which it counts as a secure origin.
PORTAL = harness.url("portal").replace("127.0.0.1", "localhost")


def _installed(path: Path, how: str) -> None:
    if not path.exists():
        pytest.fail(f"{path} is missing: {how}")


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def _screen_path(name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS / name


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    _installed(Path(CHROMIUM), "`make test` installs Debian's chromium")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Screen:
    """One test's page at one width, with its checks."""

    page: Page
    width: str

    async def goto(self, path: str) -> None:
        answer = await self.page.goto(PORTAL + path)
        assert answer is not None and answer.ok, (path, answer and answer.status)

    async def accessible(self, what: str) -> None:
        """axe-core on the page as it is: no serious or critical violation. Evaluated through
        the DevTools protocol, not a <script>: the page's CSP forbids any script of ours."""
        _installed(AXE, "`make test` runs `npm ci` in tests/axe")
        loaded = await self.page.evaluate("() => typeof window.axe")
        if loaded == "undefined":
            await self.page.evaluate(_axe_source())
        found: list[dict[str, Any]] = await self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
        )
        blocking = [v for v in found if v["impact"] in BLOCKING]
        assert not blocking, f"{what} at {self.width}: {blocking}"

    async def screenshot(self, name: str) -> Path:
        """<SCREENS>/<name>-<width>.png: the visible part, small enough to commit."""
        path = _screen_path(f"{name}-{self.width}.png")
        await self.page.screenshot(path=str(path), full_page=False, animations="disabled")
        return path


def _blocking(kind: str, text: str) -> bool:
    return kind == "error" and not text.startswith("Failed to load resource")


async def _opened(
    chromium: Browser, width: str, errors: list[str], contexts: list[BrowserContext]
) -> Screen:
    """A page in a context of its own (no cookie of another test or person) at `width`.
    A CSP violation or a script error shows in the console and is gathered in `errors` (a
    page's own status, a 4xx a test asks for or the favicon's 404, is the test's to check)."""
    w, h = WIDTHS[width]
    context: BrowserContext = await chromium.new_context(
        viewport={"width": w, "height": h},
        locale="fr-FR",
        accept_downloads=True,
        service_workers="block",
    )
    contexts.append(context)
    page = await context.new_page()
    page.on("console", lambda m: errors.append(m.text) if _blocking(m.type, m.text) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return Screen(page, width)


@pytest_asyncio.fixture(params=list(WIDTHS), ids=list(WIDTHS))
async def screen(chromium: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Screen]:
    """One page at one of the three widths; a test that takes it runs once per width."""
    errors: list[str] = []
    contexts: list[BrowserContext] = []
    try:
        yield await _opened(chromium, request.param, errors, contexts)
    finally:
        for context in contexts:
            await context.close()
    assert not errors, errors


ScreenFactory = Callable[[str], Awaitable[Screen]]


@pytest_asyncio.fixture
async def screens(chromium: Browser) -> AsyncIterator[ScreenFactory]:
    """`await screens("desktop")`: one more person's page, each in a context of its own, for
    a journey in which several people act one after another (the "Done when" scenario)."""
    errors: list[str] = []
    contexts: list[BrowserContext] = []

    async def open_one(width: str) -> Screen:
        return await _opened(chromium, width, errors, contexts)

    try:
        yield open_one
    finally:
        for context in contexts:
            await context.close()
    assert not errors, errors
