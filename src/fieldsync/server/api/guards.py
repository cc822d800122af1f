"""Checks on every request before the app sees it: body size, coding, and no NUL characters.

A body sent with `Content-Encoding: zstd` or `gzip` is inflated here, under the same
limit as a plain body: the app sees it as if it had been sent plain.

PostgreSQL text cannot hold NUL (U+0000), and no CRM value needs one: a NUL in the
path, the query or a body is refused with 400 on both backends alike, instead of
failing deep inside a query.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import anyio.to_thread
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldsync import encoding
from fieldsync.errors import ApiError, BadRequest, PayloadTooLarge

MAX_BODY = 10 * 1024 * 1024
NUL_MESSAGE = "text must not contain NUL (U+0000) characters"
# How a NUL looks in each kind of body.
NUL_IN_BODY = {b"application/json": b"\\u0000", b"application/x-www-form-urlencoded": b"%00"}


class RequestGuard:
    """Refuses bodies over `limit` bytes, plain or inflated (413), codings it does not
    read (415) and NULs anywhere in a request (400)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await _refuse(scope, send, self._too_large())
            return
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"\x00" in unquote_to_bytes(target):
            await _refuse(scope, send, BadRequest(NUL_MESSAGE, code="nul_character"))
            return
        body = await self._read(receive)
        if body is None:
            await _refuse(scope, send, self._too_large())
            return
        coding = headers.get(b"content-encoding", b"").decode("latin-1")
        if coding and body:  # nothing to inflate in an empty body
            try:
                body = await anyio.to_thread.run_sync(encoding.inflate, body, coding, self.limit)
            except ApiError as refusal:
                await _refuse(scope, send, refusal)
                return
            scope = _decoded(scope, len(body))
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if NUL_IN_BODY.get(content_type, b"\x00") in body:
            await _refuse(scope, send, BadRequest(NUL_MESSAGE, code="nul_character"))
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body (the app would read it whole anyway), or None past the limit."""
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app will see it
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the body is over {self.limit} bytes", code="body_too_large")


def _decoded(scope: Scope, length: int) -> Scope:
    """`scope` for the inflated body: its length, and no Content-Encoding."""
    dropped = (b"content-encoding", b"content-length")
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in dropped]
    return {**scope, "headers": [*headers, (b"content-length", b"%d" % length)]}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body read already, then the real messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _refuse(scope: Scope, send: Send, error: ApiError) -> None:
    body = orjson.dumps(error.body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
