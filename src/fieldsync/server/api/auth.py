"""Login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from fieldsync.server import users
from fieldsync.server.api.deps import Caller, Db, bearer_token, client_address, throttle_of
from fieldsync.server.wire import LoginIn, LoginOut, UserOut

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, db: Db) -> LoginOut:
    """Trade a username and password for a bearer token (bound to `device_id` if given).

    Five wrong passwords for a name from one address (or fifty from one address)
    within five minutes are answered 429 with Retry-After until the window moves on.
    """

    def check() -> users.Principal:
        with db.read() as conn:
            return users.check_password(conn, body.username, body.password)

    checked = throttle_of(request).guard(body.username, client_address(request), check)
    with db.write() as conn:
        token, who = users.issue_token(conn, checked, body.device_id)
    return LoginOut(token=token, user=UserOut(id=who.user_id, username=who.username, role=who.role))


@router.post("/logout", status_code=204)
def logout(_caller: Caller, token: Annotated[str, Depends(bearer_token)], db: Db) -> None:
    """Revoke the token of this request."""
    with db.write() as conn:
        users.logout(conn, token)
