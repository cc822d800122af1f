"""What every route shares: JSON responses, the database, the caller and their role."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fieldsync.errors import Forbidden, Unauthorized
from fieldsync.server import users
from fieldsync.server.db import Database
from fieldsync.server.settings import Settings
from fieldsync.server.throttle import LoginThrottle
from fieldsync.server.users import Principal


class JSON(JSONResponse):
    """A JSON response rendered with orjson (a JSONResponse, so OpenAPI documents its model)."""

    def render(self, content: Any) -> bytes:
        """Serialize `content`."""
        return orjson.dumps(content)


class _OrjsonRequest(Request):
    """A request whose JSON body is decoded by orjson, faster than the standard library.

    Its errors are `json.JSONDecodeError`s, so a malformed body is still a 400. Unlike
    the standard library, orjson refuses NaN, Infinity and lone surrogates, which no
    record can store anyway, and a body nested deeper than `MAX_DEPTH`.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _within_depth(orjson.loads(await self.body()))
        return self._json


# orjson writes no deeper than this; no field value is nested at all, so any deeper
# body is refused before anything reads it (a record, a message, a fingerprint).
MAX_DEPTH = 254


def _within_depth(decoded: Any) -> Any:
    """`decoded`, once it is known to be nested at most `MAX_DEPTH` levels deep."""
    try:
        orjson.dumps(decoded)  # a fraction of the cost of decoding it
    except orjson.JSONEncodeError:
        raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", "", 0) from None
    return decoded


class OrjsonRoute(APIRoute):
    """The route class of the API: JSON bodies decoded by orjson."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handle(_OrjsonRequest(request.scope, request.receive))

        return route


_bearer = HTTPBearer(auto_error=False, description="The token from POST /v1/auth/login")


def database(request: Request) -> Database:
    """The server's database."""
    db: Database = request.app.state.db
    return db


def throttle_of(request: Request) -> LoginThrottle:
    """The server's login throttle."""
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


def settings_of(request: Request) -> Settings:
    """The server's settings."""
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    """The address a request came from: the peer's, or what a trusted proxy says it is
    (`fieldsync serve --forwarded-allow-ips`)."""
    return request.client.host if request.client else "unknown"


def checked_login(request: Request, db: Database, username: str, password: str) -> Principal:
    """The user behind a username and password, under the login throttle (401, 429)."""

    def check() -> Principal:
        with db.read() as conn:  # outside a write: Argon2 is slow on purpose
            return users.check_password(conn, username, password)

    return throttle_of(request).guard(db, username, client_address(request), check)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token of the request, or 401."""
    if credentials is None:
        raise Unauthorized("send Authorization: Bearer TOKEN", code="missing_token")
    return credentials.credentials


def principal(
    token: Annotated[str, Depends(bearer_token)], db: Annotated[Database, Depends(database)]
) -> Principal:
    """The authenticated caller."""
    with db.read() as conn:
        return users.authenticate(conn, token)


def admin(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    """The authenticated caller, who must be an admin."""
    if not caller.is_admin:
        raise Forbidden("only admins may do this", code="admin_only")
    return caller


Db = Annotated[Database, Depends(database)]
Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
