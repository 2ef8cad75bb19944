"""Debian's Chromium, headless, driven by Playwright: no browser is downloaded (`make install` brings
the `chromium` package), and the page's console errors are collected for the test to assert on.

Also a command that photographs a running live page for the README:

    uv run --frozen python -m tests.support.browser http://127.0.0.1:8000/ docs/live-page.png
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from playwright.async_api import Browser, ConsoleMessage, Error, Page, ViewportSize, async_playwright

CHROMIUM: Final = Path("/usr/bin/chromium")
ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT: Final = ViewportSize(width=1280, height=800)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The machine's Chromium, headless; closed afterwards."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(ARGS))
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class WatchedPage:
    """A page whose console errors and uncaught exceptions are kept, in order."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location})")

    def _exception(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")


async def open_page(browser: Browser, url: str) -> WatchedPage:
    """A new 1280 by 800 page at ``url``, watched from before it loads."""
    page = await browser.new_page(viewport=VIEWPORT)
    watched = WatchedPage(page)
    page.on("console", watched._console)
    page.on("pageerror", watched._exception)
    await page.goto(url)
    return watched


async def loaded(page: Page, timeout_s: float = 30.0) -> None:
    """Wait until the live page has drawn the API's figures once."""
    await page.wait_for_selector("#status[data-updated]", state="attached", timeout=timeout_s * 1000)


async def photograph(url: str, path: Path) -> None:
    async with chromium() as browser:
        watched = await open_page(browser, url)
        await loaded(watched.page)
        await watched.page.screenshot(path=str(path))
        if watched.errors:
            raise RuntimeError("\n".join(watched.errors))


if __name__ == "__main__":
    asyncio.run(photograph(sys.argv[1], Path(sys.argv[2])))
