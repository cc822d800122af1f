"""The admin console at /admin: the customization tool, the journal, records, users, devices.

Server-rendered pages (Jinja2) with plain forms; every form carries a CSRF token and
every page security headers. Only admins get a session (see `session`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from fieldsync.server.console import conflicts, dashboard, entities, login, people, records
from fieldsync.server.console.render import page
from fieldsync.server.console.session import LoginRequired

PREFIX = "/admin"


def is_console(request: Request) -> bool:
    """True for requests to the console, which get HTML errors rather than JSON."""
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error as a console page."""
    return page(request, "error.html", status, code=status, message=message)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"{PREFIX}/login?next={quote(exc.next_path)}", status_code=303)


def mount(app: FastAPI) -> None:
    """Add the console's pages and static files to `app`."""
    for module in (login, dashboard, entities, conflicts, records, people):
        app.include_router(module.router, prefix=PREFIX, include_in_schema=False)
    static = Path(__file__).parent / "static"
    app.mount(f"{PREFIX}/static", StaticFiles(directory=static), name="console-static")
    app.add_exception_handler(LoginRequired, _login_required)
