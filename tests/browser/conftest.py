"""Browser tests: Debian's Chromium driven by Playwright, and a screenshot of every step, written
to test-artifacts/<test>/ when the test fails. The test module provides the `stack` fixture (the
live system the browser talks to).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server.demo.stack import Stack

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Keep each phase's report on the item, so the `steps` fixture knows whether the test failed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM:
        pytest.skip("no Chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Steps:
    """Name the steps of a flow; each ends with a screenshot kept in memory until the end."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.current = "start"
        self.shots: list[tuple[str, bytes]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.current = name
        yield
        self.shots.append((name, self.page.screenshot(full_page=True)))

    def save(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for i, (name, png) in enumerate(self.shots, 1):
            (folder / f"{i:02d}-{_slug(name)}.png").write_bytes(png)
        try:
            self.page.screenshot(
                path=str(folder / f"{len(self.shots) + 1:02d}-failed-in-{_slug(self.current)}.png"),
                full_page=True,
                timeout=10_000,
            )
        except Exception as exc:  # the page itself may be what broke
            (folder / "no-final-screenshot.txt").write_text(f"{type(exc).__name__}: {exc}\n")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context (no cookies); fails the test if a page loads anything from off
    this machine (a CDN font or script would break the app offline)."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    foreign: list[str] = []
    context.on("request", lambda request: _is_local(request.url) or foreign.append(request.url))
    page = context.new_page()
    yield page
    context.close()
    assert not foreign, f"requests that left the machine: {foreign}"


def _is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:")) or urlsplit(url).hostname in ("127.0.0.1", "localhost")


@pytest.fixture
def steps(request: pytest.FixtureRequest, page: object, stack: Stack) -> Iterator[Steps]:
    steps = Steps(page)
    yield steps
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = ARTIFACTS / _slug(request.node.name)
        steps.save(folder)
        where = f"screenshots of each step: {folder}\nlogs of the live system: {stack.workdir / 'logs'}"
        report.sections.append(("browser test artifacts", where))  # shown with the failure
        print(where)
