"""The device's HTTP client: one kept-alive connection, errors mapped to the device's tree."""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any

import httpcore  # noqa: F401  (httpx imports it on the first client; a sync should not wait)
import httpx
import orjson

from fieldsync.errors import Offline, ServerRefused

TIMEOUT = httpx.Timeout(60.0, connect=5.0)
ATTEMPTS = 3  # every call of the wire contract may be repeated: pushes carry their batch id
BACKOFF = 0.25  # seconds before the second attempt, doubling after
UNAVAILABLE = frozenset({502, 503, 504})  # a proxy or load balancer without a server behind


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: building it costs ~40 ms, every sync paid it."""
    return ssl.create_default_context()


class Client:
    """Talks the v1 wire contract to one server."""

    def __init__(self, server: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
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
        content = body if body is None or isinstance(body, bytes) else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        query = {k: v for k, v in params.items() if v is not None}
        problem = "the server cannot be reached"
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(BACKOFF * 2 ** (attempt - 1))
            try:
                response = self.http.request(
                    method, path, content=content, params=query, headers=headers
                )
            except httpx.TransportError as failure:
                problem = f"the server cannot be reached: {failure}"
                continue
            if response.status_code in UNAVAILABLE:
                problem = f"the server is unavailable ({response.status_code})"
                continue
            if response.status_code >= 400:
                raise _refusal(response)
            return orjson.loads(response.content) if response.content else None
        raise Offline(problem)

    def close(self) -> None:
        """Close the connection."""
        self.http.close()


def _refusal(response: httpx.Response) -> ServerRefused:
    try:
        error = orjson.loads(response.content)["error"]
        return ServerRefused(response.status_code, str(error["code"]), str(error["message"]))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ServerRefused(response.status_code, "http_error", response.text[:200])
