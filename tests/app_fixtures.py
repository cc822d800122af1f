"""Fixtures and helpers for the field app's browser tests.

The fixtures are registered for every test module (`pytest_plugins` in conftest.py); a
test module imports the helpers (`app_login`, `app_sync`, `axe`, `engine_call`) by name.

The app's tests (the modules `test_app_*.py`) run once, on SQLite: their subject is the
app in the browser, and the server they talk to is tested on both backends elsewhere
(test_policies_e2e.py, test_exactly_once.py, test_sync_loop.py…). `pytest_generate_tests`
below says so in one place: every `server` (its `backend_db`) of those modules is SQLite.

- `phone`: a page in a fresh browser context at 390x844 (service workers allowed) on the
  running `server`; `tablet`: the same at 1024x768. `page.goto("/app/")` opens the app.
- `restartable`: a real server that a test can stop (a real network cut) and start again
  on the same address (the same origin, so the app keeps its data and service worker).
- `app_login(page, server, user)`: open the app and sign in (through the login screen when
  it shows one; a session of that user already there is kept), then wait for the engine.
- `app_sync(page)`: wait for a sync already running (the app syncs by itself when it
  opens, after a change…), then sync now; returns that fresh sync's SyncResult.
- `axe(page)`: the serious and critical axe-core findings on the page as it is.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, ViewportSize
from starlette.types import ASGIApp, Receive, Scope, Send

from conftest import Server
from fieldsync.server.api import create_app
from fieldsync.server.background import ThreadServer, free_port
from fieldsync.server.db import Database

APP_TESTS = "test_app_"  # the modules of the app's browser tests (run on SQLite only)
PHONE: ViewportSize = {"width": 390, "height": 844}
TABLET: ViewportSize = {"width": 1024, "height": 768}
AXE = Path(__file__).parents[1] / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 15_000


@pytest.hookimpl(tryfirst=True)  # before the marks and the fixtures' params are applied
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The app's tests run once, their server on SQLite (see the module docstring)."""
    module = metafunc.module.__name__.rpartition(".")[2]
    if module.startswith(APP_TESTS) and "backend_db" in metafunc.fixturenames:
        # As a mark, which takes the place of the fixture's own params (both backends).
        sqlite_only = pytest.mark.parametrize("backend_db", ["sqlite"], indirect=True)
        metafunc.definition.add_marker(sqlite_only)


def new_device(browser: Browser, url: str, viewport: ViewportSize) -> Page:
    """A page in a fresh context (its own storage: a new phone) on the server at `url`."""
    context = browser.new_context(
        base_url=url,
        viewport=viewport,
        service_workers="allow",
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def phone(browser: Browser, server: Server) -> Iterator[Page]:
    """A phone (390x844) with a fresh browser on the running server."""
    page = new_device(browser, server.url, PHONE)
    yield page
    page.context.close()


@pytest.fixture
def tablet(browser: Browser, server: Server) -> Iterator[Page]:
    """A tablet (1024x768) with a fresh browser on the running server."""
    page = new_device(browser, server.url, TABLET)
    yield page
    page.context.close()


class Restartable:
    """A real server on a fixed loopback port that can be stopped and started again."""

    def __init__(self, db: Database, tmp: Path) -> None:
        self.db, self.tmp = db, tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: dict[str, int] = {}
        self.server: ThreadServer | None = None

    def start(self, app: ASGIApp | None = None) -> None:
        """Serve the fieldsync server (or another `app`, e.g. a captive portal)."""
        config = uvicorn.Config(
            self.counting(app or create_app(self.db)),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = ThreadServer(config)
        self.server.start()

    def counting(self, app: ASGIApp) -> ASGIApp:
        """`app`, counting the requests per path in `self.requests`."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                self.requests[scope["path"]] = self.requests.get(scope["path"], 0) + 1
            await app(scope, receive, send)

        return counted

    def stop(self) -> None:
        """Close every connection and stop listening (a real cut, not an emulated one)."""
        if self.server is not None:
            self.server.stop(force=True)
            self.server = None

    def as_server(self) -> Server:
        return Server(self.url, self.db, self.tmp)


@pytest.fixture
def restartable(tmp_path: Path, sqlite_template: Path) -> Iterator[Restartable]:
    """A running server over a fresh seeded SQLite database, which the test may stop."""
    path = tmp_path / "server.db"
    shutil.copy(sqlite_template, path)
    db = Database(str(path))
    server = Restartable(db, tmp_path)
    server.start()
    yield server
    server.stop()
    db.dispose()


@pytest.fixture
def restartable_phone(browser: Browser, restartable: Restartable) -> Iterator[Page]:
    """A phone (390x844) on the `restartable` server."""
    page = new_device(browser, restartable.url, PHONE)
    yield page
    page.context.close()


ENGINE_CALL = """async ([name, args]) => {
  const sync = await import("/app/js/sync.js");
  return sync[name](...args);
}"""


def engine_call(page: Page, name: str, *args: Any) -> Any:
    """Call an export of the app's engine (js/sync.js) in the page; returns its result."""
    return page.evaluate(ENGINE_CALL, [name, list(args)])


ENGINE_USER = """import('/app/js/sync.js')
  .then((m) => m.activeEngine()?.store.username ?? null)"""


def app_login(page: Page, server: Server, user: str, password: str = "secret") -> None:
    """Open the app and sign in as `user`: through the login screen when the app shows one;
    a session of `user` the app resumed is kept, another user's is replaced through the
    engine. Returns once the app's engine runs for `user`."""
    page.goto(f"{server.url}/app/")
    page.wait_for_load_state("load")
    # The app shows the login screen or, with a session, its sync bar once it has booted.
    page.wait_for_selector("#login-password, #sync-text")
    password_field = page.get_by_label("Password", exact=True)
    if password_field.count() and password_field.is_visible():
        page.get_by_label("Username").fill(user)
        password_field.fill(password)
        password_field.press("Enter")
    elif wait_for_engine(page) != user:
        engine_call(page, "login", server.url, user, password)
    if wait_for_engine(page) != user:
        raise AssertionError(f"the app did not sign in {user}")


def wait_for_engine(page: Page) -> str:
    """The user of the app's engine, once it runs (after the login screen or a resumed
    session, the app starts it a moment later)."""
    # wait_for_function does not wait for a promise's value: ask until the engine is there.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (username := page.evaluate(ENGINE_USER)) is None:
        if time.monotonic() > deadline:
            raise AssertionError("the app's engine did not start in time")
        page.wait_for_timeout(100)
    return str(username)


SYNC_NOW = """async () => {
  const { activeEngine } = await import("/app/js/sync.js");
  const engine = activeEngine();
  while (engine.running) await engine.running;
  return engine.sync();
}"""


def app_sync(page: Page) -> dict[str, Any]:
    """Sync now with the engine the app runs: after the sync already running, if any, a
    fresh one (so that it starts after what the test did). Returns its SyncResult."""
    result: dict[str, Any] = page.evaluate(SYNC_NOW)
    return result


def axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core findings on the page as it shows now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci`", pytrace=False)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's debugger, not added as an inline <script> (which the
        # app's Content-Security-Policy refuses, as it should).
        page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
          const result = await window.axe.run(document);
          return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                          targets: v.nodes.map((n) => n.target.join(" "))}));
        }"""
    )
    return found
