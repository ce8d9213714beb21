"""The console under a real browser: the app served on 127.0.0.1 over one SQLite world, one Chromium per run.

Package-scoped on purpose: the served app, its world and the browser are made once for every console test and
closed when they are done, so the browser suite costs one start-up and other tests never share its event loop.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import Settings
from models.db import make_engine
from models.migrate import upgrade
from tests.ui.browser import ARGS, DESK, Guard, browser_path
from tests.ui.world import build_console_world


class Served:
    """The app on a free port of 127.0.0.1 in a background thread, until stop()."""

    def __init__(self, engine):
        app = create_app(Settings(database_url="sqlite://", run_in_process=True), engine=engine)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console's test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="package")
def console_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('console') / 'console.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="package")
def world(console_engine):
    return build_console_world(console_engine)


@pytest.fixture(scope="package")
def served(console_engine, world):
    server = Served(console_engine)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def api(served):
    """An HTTP client of the served API, to read back through /v1 what a page did."""
    with httpx.Client(base_url=served.base, timeout=30) as client:
        yield client


@pytest.fixture(scope="package")
def browser():
    path = browser_path()
    if not path:
        pytest.fail("no Chromium: `make test` installs Debian's `chromium` (or set UI_BROWSER to a Chromium binary)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def guard():
    """Every request of a console test passes here; none may leave 127.0.0.1."""
    g = Guard()
    yield g
    assert g.offsite == [], f"requests left 127.0.0.1: {g.offsite[:5]}"


@pytest.fixture
def open_as(browser, served, world, guard):
    """open_as(role, path, locale="zh-CN", viewport=DESK) -> a page signed in as that role, at that path."""
    contexts = []

    def opener(role: str | None, path: str = "/ui/", locale: str = "zh-CN", viewport: dict = DESK):
        context = browser.new_context(locale=locale, viewport=viewport, base_url=served.base,
                                      timezone_id="Asia/Shanghai")
        context.route("**/*", guard)
        if role is not None:
            context.add_cookies([{"name": "ui_token", "value": world.tokens[role], "domain": "127.0.0.1",
                                  "path": "/ui", "httpOnly": True, "sameSite": "Strict"}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(path)
        return page

    yield opener
    for context in contexts:
        context.close()
