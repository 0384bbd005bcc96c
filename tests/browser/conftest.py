"""Fixtures for the dashboard's browser tests: a real headless Chromium (Debian's ``chromium``)
driven by Playwright, and a fake sidecar (``fake_sidecar.py``) serving the real page.

Chromium is never downloaded by Playwright: the system binary is used. When it is missing the
tests are skipped, unless FAILOVER_REQUIRE_BROWSER=1 (CI) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from .fake_sidecar import FakeSidecar, create_app

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("FAILOVER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str):
    if os.environ.get("FAILOVER_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


# Module scope: Playwright's sync API keeps an event loop running in the main thread while it
# is open, and any later test calling asyncio.run() would fail under a session-wide browser.
@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed in this environment")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Sidecar:
    url: str
    fake: FakeSidecar

    def control(self, method: str, path: str, json=None):
        r = httpx.request(method, self.url + path, json=json, timeout=5)
        r.raise_for_status()
        return r.json()

    def requests(self) -> list[dict]:
        return self.control("GET", "/test/requests")


@pytest.fixture
def sidecar():
    """The fake sidecar in a uvicorn thread on a free loopback port."""
    fake = FakeSidecar()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(fake), log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake sidecar did not start")
        time.sleep(0.02)
    try:
        yield Sidecar(url=f"http://127.0.0.1:{port}", fake=fake)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def new_page(browser, sidecar, request):
    """Factory for pages on the fake sidecar; JavaScript errors on the page fail the test."""
    contexts, errors = [], []

    def make(width=1280, height=900, **kw):
        ctx = browser.new_context(viewport={"width": width, "height": height},
                                  base_url=sidecar.url, **kw)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(10_000)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, ctx in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for j, p in enumerate(ctx.pages):
                p.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-{i}{j}.png"))
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
