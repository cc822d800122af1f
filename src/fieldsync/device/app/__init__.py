"""The device app: the field worker's offline CRM in a browser, served on 127.0.0.1.

`fieldsync device app --dir DIR` serves one device store. Everything works without
the server (it is an offline app); the Sync button, and auto-sync on start, after a
change and on an interval, run in one background thread (`syncer`). Sync errors —
open conflicts and rejected changes — are settled here or with the CLI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from fieldsync.device import Device
from fieldsync.device.app import guard, home, records, sync, sync_errors
from fieldsync.device.app.render import page, redirect
from fieldsync.device.app.syncer import Syncer
from fieldsync.errors import NotLoggedIn
from fieldsync.web import REFUSALS, refusal


async def _not_logged_in(_request: Request, _exc: Exception) -> Response:
    return redirect("/login")


async def _refused(request: Request, exc: Exception) -> Response:
    status, message, headers = refusal(exc)
    shown = page(request, "error.html", status, message=message)
    shown.headers.update(headers)
    return shown


def create_app(directory: Path) -> FastAPI:
    """The app over the device store in `directory`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.syncer.start()
        yield
        app.state.syncer.stop()
        app.state.device.close()

    app = FastAPI(title="fieldsync device app", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.device = Device(directory)
    app.state.syncer = Syncer(directory)
    app.state.csrf = guard.new_token()
    for module in (home, records, sync_errors, sync):
        app.include_router(module.router)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_exception_handler(NotLoggedIn, _not_logged_in)
    for kind in REFUSALS:
        app.add_exception_handler(kind, _refused)
    app.add_middleware(guard.LocalOnly)
    return app
