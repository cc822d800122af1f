"""`Cache-Control: no-store` on every answer of the API (`/v1/`).

Its answers carry tokens, records and users: none may be kept by a browser's cache (a
shared phone's next user could read it) or by a proxy on the way. The console and the
field app's files set their own caching.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/v1/"
HEADER = (b"cache-control", b"no-store")


class NoStore:
    """Adds `Cache-Control: no-store` to the answers of `/v1/` that set no caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(key.lower() == HEADER[0] for key, _ in headers):
                    headers.append(HEADER)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)
