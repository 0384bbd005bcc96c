"""Fixtures for the dashboard's browser tests: a real headless Chromium (Debian's ``chromium``)
driven by Playwright, and the real app (``api.app.create_app``) serving the real page over a
small fake of the measuring core's interface (``fake_sidecar.py``).

Chromium is never downloaded by Playwright: the system binary is used. When it is missing the
tests are skipped, unless FAILOVER_REQUIRE_BROWSER=1 (CI) turns that into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

import api.app
from api.app import create_app

from .fake_sidecar import TOKEN, FakeCore, FakeLab, LateStateAnswers, RequestRecorder

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


class Sidecar:
    """The real app over a :class:`FakeCore` in a uvicorn thread on a loopback port; what a test
    changes in the fake is done on the server's loop, as the core's events would arrive."""

    def __init__(self) -> None:
        self.fake = FakeCore()
        self.lab_fake = FakeLab(self.fake)
        self.app = RequestRecorder(LateStateAnswers(create_app(self.fake, token=TOKEN, lab=self.lab_fake), self.fake))
        self._sock = self._listen(0)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    def start(self) -> None:
        if self._sock.fileno() < 0:  # uvicorn closed it when it stopped: the same port again
            self._sock = self._listen(self.port)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None

    def call(self, fn, *args, **kw):
        loop = self.fake.loop
        if loop is None:  # not serving: nobody listens, change it here
            return fn(*args, **kw)

        async def run():
            return fn(*args, **kw)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(5)

    # -- what the tests do -------------------------------------------------------------------
    def patch_state(self, patch: dict) -> None:
        self.call(self.fake.patch_state, patch)

    def set_gateways(self, gateways: list[dict]) -> None:
        self.call(setattr, self.fake, "gateways", gateways)  # shown on the next gateways tick

    def log(self, event: dict) -> None:
        event = dict(event)
        self.call(self.fake.add_log, event.pop("kind"), event.pop("message"), **event)

    def lab(self, enabled: bool) -> None:
        self.lab_fake.enabled = enabled

    def reachable(self, up: bool) -> None:
        """Off: the server goes away (connections refused, streams end); on: it comes back."""
        if up:
            self.start()
        else:
            self.stop()

    def tick(self, interval: float | None = None, wobble: bool | None = None) -> None:
        if interval is not None:
            api.app.GATEWAYS_EVERY_S = interval
        if wobble is not None:
            self.fake.wobble = wobble

    def delays(self, pin_s: float = 0.0, state_s: float = 0.0) -> None:
        self.fake.pin_delay, self.fake.state_delay = pin_s, state_s

    def requests(self) -> list[dict]:
        return list(self.app.requests)


@pytest.fixture
def sidecar(monkeypatch):
    monkeypatch.setattr(api.app, "GATEWAYS_EVERY_S", 1.0)
    sc = Sidecar()
    sc.start()
    try:
        yield sc
    finally:
        sc.stop()
        sc._sock.close()


@pytest.fixture
def new_page(browser, sidecar, request):
    """Factory for pages on the app over the fake core; JavaScript errors on the page fail the test."""
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
