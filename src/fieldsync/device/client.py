"""The device's HTTP client: one kept-alive connection, errors mapped to the device's tree.

Compression: by default the device asks for compressed answers and compresses its
pushes in zstd, except with a server on a loopback address, where compressing costs
more CPU than the bytes it saves. `FIELDSYNC_COMPRESSION` (`auto`, `zstd`, `gzip`,
`none`) overrides it.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpcore  # noqa: F401  (httpx imports it on the first client; a sync should not wait)
import httpx
import orjson

from fieldsync import encoding
from fieldsync.errors import Offline, ServerRefused, ValidationFailed

TIMEOUT = httpx.Timeout(60.0, connect=5.0)
ATTEMPTS = 3  # every call of the wire contract may be repeated: pushes carry their batch id
BACKOFF = 0.25  # seconds before the second attempt, doubling after
UNAVAILABLE = frozenset({502, 503, 504})  # a proxy or load balancer without a server behind
COMPRESSION = "FIELDSYNC_COMPRESSION"
CHOICES = ("auto", encoding.ZSTD, encoding.GZIP, "none")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: building it costs ~40 ms, every sync paid it."""
    return ssl.create_default_context()


class Client:
    """Talks the v1 wire contract to one server."""

    def __init__(self, server: str, token: str | None = None) -> None:
        self.coding = coding(server)
        headers = {"Accept-Encoding": _accepted(self.coding)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Plain HTTP uses no TLS: loading the certificates would only cost time.
        verify = _tls() if server.startswith("https:") else False
        self.http = httpx.Client(
            base_url=server.rstrip("/"), headers=headers, timeout=TIMEOUT, verify=verify
        )

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """Send one request and return its JSON body; raise Offline or ServerRefused.

        `body` is a JSON value, or bytes already encoded. A dropped connection or an
        unavailable server is tried again with backoff before the device calls itself offline.
        """
        return self.measured_call(method, path, body, **params)[0]

    def measured_call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headed: Callable[[httpx.Headers], object] | None = None,
        **params: Any,
    ) -> tuple[Any, int]:
        """`call`, and how many bytes the answer's body took on the wire; `headed` is
        given the headers of a successful answer before its body is read."""
        content = body if body is None or isinstance(body, bytes) else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if content is not None and self.coding and len(content) >= encoding.MIN_SIZE:
            content = encoding.compress(content, self.coding)
            headers["Content-Encoding"] = self.coding
        query = {k: v for k, v in params.items() if v is not None}
        problem = "the server cannot be reached"
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(BACKOFF * 2 ** (attempt - 1))
            request = self.http.build_request(
                method, path, content=content, params=query, headers=headers
            )
            try:
                response = self._send(request, headed)
            except httpx.TransportError as failure:
                problem = f"the server cannot be reached: {failure}"
                continue
            if response.status_code in UNAVAILABLE:
                problem = f"the server is unavailable ({response.status_code})"
                continue
            if response.status_code >= 400:
                raise _refusal(response)
            answer = orjson.loads(response.content) if response.content else None
            return answer, response.num_bytes_downloaded
        raise Offline(problem)

    def _send(
        self, request: httpx.Request, headed: Callable[[httpx.Headers], object] | None
    ) -> httpx.Response:
        response = self.http.send(request, stream=True)
        try:
            if headed is not None and response.status_code < 300:
                headed(response.headers)
            response.read()
        finally:
            response.close()
        return response

    def close(self) -> None:
        """Close the connection."""
        self.http.close()


def coding(server: str) -> str | None:
    """The coding this device compresses in when talking to `server` (None: none)."""
    chosen = os.environ.get(COMPRESSION, "auto").strip().lower() or "auto"
    if chosen not in CHOICES:
        raise ValidationFailed(
            "bad_setting", f"{COMPRESSION} must be one of {', '.join(CHOICES)}, not {chosen!r}"
        )
    if chosen == "auto":
        return None if _loopback(httpx.URL(server).host) else encoding.ZSTD
    return None if chosen == "none" else chosen


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _accepted(chosen: str | None) -> str:
    """The Accept-Encoding for a device compressing in `chosen`."""
    return {None: encoding.IDENTITY, encoding.GZIP: encoding.GZIP}.get(chosen, "zstd, gzip")


def _refusal(response: httpx.Response) -> ServerRefused:
    try:
        error = orjson.loads(response.content)["error"]
        return ServerRefused(response.status_code, str(error["code"]), str(error["message"]))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ServerRefused(response.status_code, "http_error", response.text[:200])
