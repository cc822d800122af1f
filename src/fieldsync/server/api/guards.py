"""Checks on every request before the app sees it: body size, time and coding, no NUL characters.

A body sent with `Content-Encoding: zstd` or `gzip` is inflated here, under the same
limit as a plain body: the app sees it as if it had been sent plain.

PostgreSQL text cannot hold NUL (U+0000), and no CRM value needs one: a NUL in the
path, the query or a body is refused with 400 on both backends alike, instead of
failing deep inside a query. A raw NUL byte is refused in every body; an escaped one
(`\\u0000` in JSON, `%00` in a form) as the body's media type spells it, read from
the first `Content-Type` header, the one Starlette and FastAPI go by. A request with
more than one is searched for every spelling.

uvicorn has no limit on how long a client may take to send a body, so a client that
trickles one, or stops halfway, would hold its connection for as long as it likes:
the whole body must arrive within `body_timeout` seconds, or the answer is 408 and
the connection is closed. (uvicorn has no such limit for headers either; a reverse
proxy in front sets it, see docs/operations.md.)
"""

from __future__ import annotations

import asyncio
import email.message
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

import anyio.to_thread
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldsync import encoding
from fieldsync.errors import ApiError, BadRequest, PayloadTooLarge, RequestTimeout
from fieldsync.server.settings import Settings

MAX_BODY = 10 * 1024 * 1024
NUL_MESSAGE = "text must not contain NUL (U+0000) characters"
RAW_NUL = b"\x00"
# An escaped NUL in JSON: `\u0000` after an even number of backslashes (`\\u0000` is
# a backslash and the text "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _json_nul(body: bytes) -> bool:
    # The plain search first: it is much the faster, and almost every body stops there.
    return b"\\u0000" in body and _JSON_NUL.search(body) is not None


def _form_nul(body: bytes) -> bool:
    return b"%00" in body


class RequestGuard:
    """Refuses bodies over `limit` bytes, plain or inflated (413), slower than
    `body_timeout` seconds (408), in codings it does not read (415), and NULs anywhere
    in a request (400)."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY, body_timeout: float = Settings.body_timeout
    ) -> None:
        self.app, self.limit, self.body_timeout = app, limit, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        declared = _first(headers, b"content-length") or b"0"
        if declared.isdigit() and int(declared) > self.limit:
            await _refuse(scope, send, self._too_large())
            return
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"\x00" in unquote_to_bytes(target):
            await _refuse(scope, send, BadRequest(NUL_MESSAGE, code="nul_character"))
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read(receive)
        except TimeoutError:
            late = RequestTimeout(f"the body did not arrive within {self.body_timeout:g} seconds")
            await _refuse(scope, send, late)
            return
        if body is None:
            await _refuse(scope, send, self._too_large())
            return
        coding = (_first(headers, b"content-encoding") or b"").decode("latin-1")
        if coding and body:  # nothing to inflate in an empty body
            try:
                body = await anyio.to_thread.run_sync(encoding.inflate, body, coding, self.limit)
            except ApiError as refusal:
                await _refuse(scope, send, refusal)
                return
            scope = _decoded(scope, len(body))
        if _has_nul(body, _content_types(headers)):
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


def _first(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of a header, as Starlette reads it."""
    return next((value for key, value in headers if key.lower() == name), None)


def _content_types(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [value for key, value in headers if key.lower() == b"content-type"]


def _has_nul(body: bytes, content_types: list[bytes]) -> bool:
    """True when a body holds a NUL, raw or as its media type escapes one."""
    if RAW_NUL in body:
        return True
    if len(content_types) > 1:  # whichever a parser takes, none may find a NUL
        escapes: tuple[Callable[[bytes], bool], ...] = (_json_nul, _form_nul)
    else:
        escapes = _escapes(content_types[0] if content_types else None)
    return any(escaped(body) for escaped in escapes)


def _escapes(content_type: bytes | None) -> tuple[Callable[[bytes], bool], ...]:
    """How a NUL may be escaped in a body of this media type.

    A body is JSON exactly when FastAPI would decode it as JSON (`application/json`
    and every `application/*+json`, parameters and letter case aside), so the check
    and the parser never disagree on which bodies are JSON.
    """
    if content_type is None:
        return ()
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")
    subtype = message.get_content_subtype()
    if message.get_content_maintype() == "application":
        if subtype == "json" or subtype.endswith("+json"):
            return (_json_nul,)
        if subtype == "x-www-form-urlencoded":
            return (_form_nul,)
    return ()


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
