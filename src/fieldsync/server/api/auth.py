"""Login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from fieldsync.server import users
from fieldsync.server.api.deps import (
    Caller,
    Db,
    OrjsonRoute,
    bearer_token,
    checked_login,
    settings_of,
)
from fieldsync.wire import LoginIn, LoginOut, UserOut

router = APIRouter(prefix="/v1/auth", tags=["auth"], route_class=OrjsonRoute)


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, db: Db) -> LoginOut:
    """Trade a username and password for a bearer token (bound to `device_id` if given).

    Attempts past the throttle's free ones wait (429 with Retry-After; docs/security.md);
    a new `device_id` past the user's device limit is refused (409 `too_many_devices`).
    """
    checked = checked_login(request, db, body.username, body.password)
    with db.write() as conn:
        if body.device_id is not None:
            limit = settings_of(request).devices_per_user
            users.claim_device(conn, checked, body.device_id, limit)
        token, who = users.issue_token(conn, checked, body.device_id)
    return LoginOut(token=token, user=UserOut(id=who.user_id, username=who.username, role=who.role))


@router.post("/logout", status_code=204)
def logout(_caller: Caller, token: Annotated[str, Depends(bearer_token)], db: Db) -> None:
    """Revoke the token of this request."""
    with db.write() as conn:
        users.logout(conn, token)
