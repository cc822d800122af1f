"""The app listens on 127.0.0.1 only; these keep other web pages out of it.

- Host check: a request must name this machine (`127.0.0.1` or `localhost`), so a
  page on another site cannot reach the app by DNS rebinding.
- CSRF: every form carries this process's random token; a form posted from any
  other page lacks it and is refused.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from fieldsync import forms
from fieldsync.errors import Forbidden

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


class LocalOnly:
    """Refuses requests whose Host header is not this machine."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if host.rsplit(":", 1)[0] not in LOCAL_HOSTS:
                response = PlainTextResponse("this app answers on 127.0.0.1 only", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def new_token() -> str:
    """The CSRF token of one app process."""
    return secrets.token_urlsafe(32)


async def posted(request: Request) -> FormData:
    """The submitted form, once its CSRF token is checked."""
    form = await request.form()
    sent = form.get("csrf")
    expected: str = request.app.state.csrf
    if not forms.same_token(sent, expected):
        raise Forbidden("the form is stale or not from this app; reload the page", code="csrf")
    return form


Posted = Annotated[FormData, Depends(posted)]
