"""Logging in and out of the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from fieldsync import forms
from fieldsync.errors import TooManyRequests, Unauthorized
from fieldsync.server import users
from fieldsync.server.api.deps import Db, checked_login
from fieldsync.server.console import session
from fieldsync.server.console.render import page, redirect
from fieldsync.server.console.session import Current, Posted

router = APIRouter()


def _safe_next(path: str | None) -> str:
    """Only paths of the console itself: never another site."""
    if path and path.startswith("/admin") and not path.startswith("//"):
        return path
    return "/admin"


def _login_page(request: Request, next_path: str, error: str | None = None) -> HTMLResponse:
    token = session.new_login_csrf()
    status = 401 if error else 200
    response = page(request, "login.html", status, csrf=token, next=next_path, error=error)
    response.set_cookie(
        session.LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/admin"
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The login page."""
    return _login_page(request, _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    db: Db,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=500)] = "/admin",
) -> Response:
    """Check the password of an admin and start a session."""
    expected = request.cookies.get(session.LOGIN_COOKIE, "")
    if not forms.same_token(csrf, expected):
        return _login_page(request, _safe_next(next), "The form expired; please try again.")

    try:
        who = checked_login(request, db, username, password)
    except Unauthorized:
        return _login_page(request, _safe_next(next), "Wrong username or password.")
    except TooManyRequests as refused:  # or too busy: 503
        page = _login_page(request, _safe_next(next), refused.message.capitalize() + ".")
        page.status_code = refused.status
        page.headers.update(refused.headers)
        return page
    if not who.is_admin:
        return _login_page(request, _safe_next(next), "Only admins may use the console.")
    with db.write() as conn:
        token, _ = users.issue_token(conn, who, None, lifetime=session.LIFETIME)
    response = redirect(_safe_next(next))
    response.set_cookie(
        session.COOKIE,
        token,
        max_age=int(session.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/admin",
    )
    response.delete_cookie(session.LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
def logout(current: Current, _form: Posted, db: Db) -> Response:
    """End the session: its token is revoked, the cookie removed."""
    with db.write() as conn:
        users.logout(conn, current.token)
    response = redirect("/admin/login", "logged_out")
    response.delete_cookie(session.COOKIE, path="/admin")
    return response
