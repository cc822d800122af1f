"""The device's HTTP client: one kept-alive connection, errors mapped to the device's tree."""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any

import httpcore  # noqa: F401  (httpx imports it on the first client; a sync should not wait)
import httpx
import orjson

from fieldsync.device import address
from fieldsync.errors import CertificateRejected, Offline, ServerRefused

TIMEOUT = httpx.Timeout(60.0, connect=5.0)
ATTEMPTS = 3  # every call of the wire contract may be repeated: pushes carry their batch id
BACKOFF = 0.25  # seconds before the second attempt, doubling after
UNAVAILABLE = frozenset({502, 503, 504})  # a proxy or load balancer without a server behind


@functools.cache
def _tls(ca_file: str | None) -> ssl.SSLContext:
    """One verifying TLS context per process and CA file: building it costs ~40 ms, every
    sync paid it. Without a CA file: the system's CAs (or `SSL_CERT_FILE`'s); with one:
    that CA alone."""
    return ssl.create_default_context(cafile=ca_file)


class Client:
    """Talks the v1 wire contract to one server; `ca_file` trusts a private CA (PEM)."""

    def __init__(self, server: str, token: str | None = None, ca_file: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = address.server_url(server)
        # Plain HTTP uses no TLS: loading the certificates would only cost time.
        verify = _tls(ca_file) if address.is_tls(url) else False
        self.http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT, verify=verify)

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
                _check_certificate(failure)
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


def _check_certificate(failure: httpx.TransportError) -> None:
    """Raise CertificateRejected when TLS refused the server's certificate: trying again
    cannot help, and the user must hear why."""
    cause: BaseException | None = failure
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        raise CertificateRejected(
            f"the server's TLS certificate is not trusted ({cause.verify_message}); "
            "if the server uses a private CA, log in with --ca-file (docs/security.md)"
        ) from failure


def _refusal(response: httpx.Response) -> ServerRefused:
    try:
        error = orjson.loads(response.content)["error"]
        return ServerRefused(response.status_code, str(error["code"]), str(error["message"]))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ServerRefused(response.status_code, "http_error", response.text[:200])
