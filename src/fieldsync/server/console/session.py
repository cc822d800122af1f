"""Console sessions: an HttpOnly cookie holding a short-lived token, and CSRF tokens.

The cookie's token lives in the same `tokens` table as API tokens (stored hashed,
revocable), so logging out or disabling a user ends the session everywhere. The
CSRF token of a session is an HMAC of its token: only a page of the session knows it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from fieldsync import forms
from fieldsync.errors import Forbidden, Unauthorized
from fieldsync.server import users
from fieldsync.server.api.deps import Db
from fieldsync.server.users import Principal

COOKIE = "fieldsync_console"
LOGIN_COOKIE = "fieldsync_login"  # double-submit CSRF token of the login form
LIFETIME = timedelta(hours=12)


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Session:
    """The admin behind the cookie, and the CSRF token every form of theirs carries."""

    admin: Principal
    token: str

    @property
    def csrf(self) -> str:
        """The CSRF token of this session."""
        return csrf_of(self.token)


def csrf_of(token: str) -> str:
    """The CSRF token bound to a session token."""
    return hmac.new(token.encode(), b"fieldsync console csrf", hashlib.sha256).hexdigest()


def new_login_csrf() -> str:
    """A random token for the login form and its cookie."""
    return secrets.token_urlsafe(24)


def session(request: Request, db: Db) -> Session:
    """The admin's session, or a redirect to the login page; 403 for anyone not an admin."""
    token = request.cookies.get(COOKIE)
    # Back to the page after logging in; a form cannot be resent, so back to the start.
    back = str(request.url.replace(scheme="", netloc="")) if request.method == "GET" else "/admin"
    if not token:
        raise LoginRequired(back)
    try:
        with db.read() as conn:
            who = users.authenticate(conn, token)
    except Unauthorized:
        raise LoginRequired(back) from None
    if not who.is_admin:
        raise Forbidden("only admins may use the console", code="admin_only")
    return Session(who, token)


async def posted(request: Request, current: Annotated[Session, Depends(session)]) -> FormData:
    """The submitted form, once its CSRF token is checked."""
    form = await request.form()
    sent = form.get("csrf")
    if not forms.same_token(sent, current.csrf):
        raise Forbidden("the form is stale or not from this console; reload the page", code="csrf")
    return form


Current = Annotated[Session, Depends(session)]
Posted = Annotated[FormData, Depends(posted)]
