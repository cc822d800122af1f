"""The admin console at /admin: the customization tool, the journal, records, users, devices.

Server-rendered pages (Jinja2) with plain forms; every form carries a CSRF token and
every page security headers. Only admins get a session (see `session`). The console
is an application of its own, mounted by the server: its errors are pages, not JSON.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from fieldsync.server.console import conflicts, dashboard, entities, login, people, records
from fieldsync.server.console.render import page
from fieldsync.server.console.session import LoginRequired
from fieldsync.server.db import Database
from fieldsync.server.throttle import LoginThrottle
from fieldsync.web import REFUSALS, refusal

PREFIX = "/admin"


async def _error_page(request: Request, exc: Exception) -> Response:
    status, message, headers = refusal(exc)
    shown = page(request, "error.html", status, code=status, message=message)
    shown.headers.update(headers)
    return shown


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"{PREFIX}/login?next={quote(exc.next_path)}", status_code=303)


def create_console(db: Database, throttle: LoginThrottle) -> FastAPI:
    """The console over `db`, sharing the server's login throttle."""
    console = FastAPI(title="fieldsync console", docs_url=None, redoc_url=None, openapi_url=None)
    console.state.db, console.state.throttle = db, throttle
    for module in (login, dashboard, entities, conflicts, records, people):
        console.include_router(module.router)
    console.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"))
    console.add_exception_handler(LoginRequired, _login_required)
    for kind in REFUSALS:
        console.add_exception_handler(kind, _error_page)
    return console


def mount(app: FastAPI) -> None:
    """Serve the console at /admin of the server `app` (whose state holds db and throttle)."""

    @app.get(PREFIX, include_in_schema=False)
    def console_home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    app.mount(PREFIX, create_console(app.state.db, app.state.throttle))
