"""The device's HTTP client: one kept-alive connection, errors mapped to the device's tree.

Compression: by default the device asks for compressed answers and compresses its
pushes in zstd, except with a server on a loopback address, where compressing costs
more CPU than the bytes it saves. `FIELDSYNC_COMPRESSION` (`auto`, `zstd`, `gzip`,
`none`) overrides it.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeGuard

import httpcore  # noqa: F401  (httpx imports it on the first client; a sync should not wait)
import httpx
import orjson

from fieldsync import encoding
from fieldsync.device import address, retries
from fieldsync.device.retries import ATTEMPTS
from fieldsync.errors import CertificateRejected, Offline, ServerRefused, TooLarge, ValidationFailed
from fieldsync.wire import ErrorBody

TIMEOUT = httpx.Timeout(60.0, connect=5.0)
COMPRESSION = "FIELDSYNC_COMPRESSION"
CHOICES = ("auto", encoding.ZSTD, encoding.GZIP, "none")


@functools.cache
def _tls(ca_file: str | None) -> ssl.SSLContext:
    """One verifying TLS context per process and CA file: building one is costly, and
    every sync would pay it. Without a CA file: the system's CAs (or `SSL_CERT_FILE`'s);
    with one: that CA alone."""
    return ssl.create_default_context(cafile=ca_file)


class Client:
    """Talks the v1 wire contract to one server; `ca_file` trusts a private CA (PEM)."""

    def __init__(self, server: str, token: str | None = None, ca_file: str | None = None) -> None:
        url = address.server_url(server)
        self.coding = coding(url)
        headers = {"Accept-Encoding": _accepted(self.coding)}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Plain HTTP uses no TLS: loading the certificates would only cost time.
        verify = _tls(ca_file) if address.is_tls(url) else False
        self.http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT, verify=verify)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """Send one request and return its JSON body; raise Offline or ServerRefused.

        `body` is a JSON value, or bytes already encoded. Only a fieldsync server's JSON
        answer counts: its error body raises ServerRefused. Anything else (a dropped
        connection, a busy or unavailable server, a captive portal's page, a redirect, a
        proxy's error page, a cut answer) is tried again (see `retries`), then raises
        Offline; nothing was refused. A 413, from the server or from a proxy, raises
        TooLarge at once.
        """
        return self.measured_call(method, path, body, **params)[0]

    def measured_call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headed: Callable[[httpx.Headers], object] | None = None,
        decoded: bool = True,
        **params: Any,
    ) -> tuple[Any, int]:
        """`call`, and how many bytes the answer's body took on the wire; `headed` is
        given the headers of a successful answer before its body is read. Not `decoded`:
        a successful answer is the JSON's bytes as they came (errors are read as ever)."""
        content = body if body is None or isinstance(body, bytes) else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if content is not None and self.coding and len(content) >= encoding.MIN_SIZE:
            content = encoding.compress(content, self.coding)
            headers["Content-Encoding"] = self.coding
        query = {k: v for k, v in params.items() if v is not None}
        problem = "the server cannot be reached"
        for attempt in range(1, ATTEMPTS + 1):
            request = self.http.build_request(
                method, path, content=content, params=query, headers=headers
            )
            response = None
            try:
                response = self._send(request, headed)
            except httpx.TransportError as failure:
                _check_certificate(failure)
                problem = f"the server cannot be reached: {failure}"
            else:
                if response.status_code == 413:
                    raise TooLarge(_too_large(response))
                if response.status_code in retries.RETRIED:
                    problem = f"the server is busy or unavailable ({response.status_code})"
                else:
                    try:
                        answer = _answer(response) if decoded else _undecoded(response)
                        return answer, response.num_bytes_downloaded
                    except Offline as stranger:
                        problem = str(stranger)
            pause = retries.wait(attempt, _retry_after(response))
            if pause > retries.LONGEST_WAIT:
                problem = f"{problem}; it asks to be tried again in {_duration(pause)}"
                break
            if attempt == ATTEMPTS:
                break
            time.sleep(pause)
        if response is not None and response.status_code == 429:
            _answer(response)  # a fieldsync server's refusal says when to try again
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
        return None if address.is_loopback(httpx.URL(server).host) else encoding.ZSTD
    return None if chosen == "none" else chosen


def _accepted(chosen: str | None) -> str:
    """The Accept-Encoding for a device compressing in `chosen`."""
    return {None: encoding.IDENTITY, encoding.GZIP: encoding.GZIP}.get(chosen, "zstd, gzip")


def _duration(seconds: float) -> str:
    """A wait as a user reads it: seconds, or minutes from two on."""
    return f"{round(seconds / 60)} min" if seconds >= 120 else f"{round(seconds)} s"


def _retry_after(response: httpx.Response | None) -> str | None:
    """The wait a busy or unavailable answer asked for, if any."""
    if response is None or response.status_code not in retries.RETRIED:
        return None
    asked: str | None = response.headers.get("Retry-After")
    return asked


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


def _answer(response: httpx.Response) -> Any:
    """A fieldsync answer's JSON; ServerRefused for its error body, Offline for anything
    else (every v1 answer is a JSON object, but for 204 No Content)."""
    if response.status_code == 204:
        return None
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise Offline(_stranger(response))
    if response.is_success:
        return data
    error = data.get("error")
    if response.is_error and _is_error_body(error):
        raise ServerRefused(response.status_code, error["code"], error["message"])
    raise Offline(_stranger(response))


def _undecoded(response: httpx.Response) -> bytes:
    """A successful JSON answer's body, left for the caller to read; anything else as
    `_answer` has it (a refusal, or not a fieldsync server's answer)."""
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if response.is_success and media_type == "application/json":
        return response.content
    _answer(response)
    raise Offline(_stranger(response))


def _is_error_body(error: object) -> TypeGuard[ErrorBody]:
    """True for the `error` of the wire contract's error body."""
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


def _stranger(response: httpx.Response) -> str:
    """What answered instead of a fieldsync server, in one line."""
    request = response.request
    what = f"{response.status_code} {response.headers.get('content-type', 'no content type')}"
    if response.is_redirect:
        what = f"{response.status_code} to {response.headers.get('location', 'nowhere')}"
    return (
        f"the answer to {request.method} {request.url.path} is not a fieldsync server's "
        f"({what}): a captive portal, a proxy, or an answer cut short"
    )


def _too_large(response: httpx.Response) -> str:
    try:
        error = orjson.loads(response.content).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        error = None
    if _is_error_body(error):
        return f"the server refused the request as too large: {error['message']}"
    return "the request is too large for a proxy between the device and the server (413)"
