"""The ASGI application: routes, error bodies and request limits."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

import fieldsync
from fieldsync.errors import Refused, as_api_error, error_body
from fieldsync.server import checkpoints, console, field_app
from fieldsync.server.api import admin, auth, records, sync
from fieldsync.server.api.compression import ResponseCompression
from fieldsync.server.api.deps import JSON
from fieldsync.server.api.guards import RequestGuard
from fieldsync.server.api.no_store import NoStore
from fieldsync.server.db import Database
from fieldsync.server.settings import Settings
from fieldsync.server.throttle import LoginThrottle
from fieldsync.wire import HealthOut


def _error(status: int, code: str, message: str, details: Any = None) -> JSON:
    return JSON(error_body(code, message, details), status)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    answer = as_api_error(exc)
    response = _error(answer.status, answer.code, answer.message, answer.details)
    response.headers.update(answer.headers)
    return response


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": _problem(e)}
        for e in exc.errors()
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return _error(400, "malformed_json", "the body is not valid JSON", problems)
    return _error(422, "invalid_request", "the request does not match the API", problems)


def _problem(error: dict[str, Any]) -> str:
    """What is wrong, with the JSON decoder's own words when it has them."""
    decoder = (error.get("ctx") or {}).get("error") if error.get("type") == "json_invalid" else None
    return f"{error.get('msg', '')}: {decoder}" if decoder else str(error.get("msg", ""))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = _error(exc.status_code, code, str(exc.detail))
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed(request)
    return response


def _allowed(request: Request) -> str:
    """Every method some route of this path takes (Starlette names only the first route's)."""
    path = request.url.path
    methods = {
        method
        for route in request.app.routes
        if isinstance(route, APIRoute) and route.path_regex.match(path)
        for method in route.methods or ()
    }
    return ", ".join(sorted(methods))


def create_app(db: Database, settings: Settings | None = None) -> FastAPI:
    """The fieldsync server over `db` (whose tables must exist), with `settings` (or the
    environment's)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What start-up made (modules, schemas, compiled queries) lives as long as the
        # process: taken out of the collector's view, a full collection does not walk
        # it.
        gc.freeze()
        with checkpoints.running(db.engine):
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="fieldsync",
        version=fieldsync.__version__,
        description=(
            "Offline-first CRM synchronization: wire contract v1. Text anywhere in a "
            "request must not contain NUL (U+0000): such requests are refused with 400."
        ),
        default_response_class=JSON,
        responses={"4XX": {"description": '`{"error": {"code", "message", "details"}}`'}},
    )
    app.state.db = db
    app.state.settings = settings
    app.state.throttle = LoginThrottle(settings.login_concurrency)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    for module in (auth, sync, records, admin):
        app.include_router(module.router)

    @app.get("/health", tags=["health"], response_model=HealthOut)
    def health() -> JSON:
        """Liveness: answers without a token."""
        return JSON({"status": "ok"})

    console.mount(app)
    field_app.mount(app)

    app.add_middleware(ResponseCompression)
    app.add_middleware(RequestGuard, body_timeout=settings.body_timeout)
    app.add_middleware(NoStore)
    return app
