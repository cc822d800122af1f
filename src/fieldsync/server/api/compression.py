"""Compressed answers: zstd or gzip, as the client's `Accept-Encoding` allows.

An answer is compressed whole, as the route made it (a pull page keeps the stored
JSON of its records as it is: nothing is decoded to be compressed), when it is text
of at least `encoding.MIN_SIZE` bytes. Streamed answers (static files) go as they are.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldsync import encoding

COMPRESSIBLE = (b"application/json", b"text/", b"application/javascript")


class ResponseCompression:
    """Compresses the answers worth it for clients that accept zstd or gzip."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = None
        if scope["type"] == "http":
            coding = encoding.negotiate(Headers(scope=scope).get("accept-encoding", ""))
        if coding is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Compressing(send, coding).send)


class _Compressing:
    """A `send` that holds the start of an answer until its body shows whether to compress."""

    def __init__(self, send: Send, coding: str) -> None:
        self.downstream, self.coding = send, coding
        self.start: Message | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.downstream(message)
            return
        start, self.start = self.start, None
        body: bytes = message.get("body", b"")
        if message.get("more_body", False) or not _worth_it(start, body):
            await self.downstream(start)
            await self.downstream(message)
            return
        compressed = await anyio.to_thread.run_sync(encoding.compress, body, self.coding)
        headers = MutableHeaders(raw=list(start["headers"]))
        headers["content-encoding"] = self.coding
        headers["content-length"] = str(len(compressed))
        headers.add_vary_header("Accept-Encoding")
        await self.downstream({**start, "headers": headers.raw})
        await self.downstream({"type": "http.response.body", "body": compressed})


def _worth_it(start: Message, body: bytes) -> bool:
    """True for a whole text answer, big enough, not already in some coding."""
    headers = Headers(raw=start["headers"])
    kind = headers.get("content-type", "").encode("latin-1")
    return (
        len(body) >= encoding.MIN_SIZE
        and "content-encoding" not in headers
        and kind.startswith(COMPRESSIBLE)
    )
