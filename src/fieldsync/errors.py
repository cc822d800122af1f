"""The one error tree of fieldsync.

FieldsyncError
├── Refused                  a request or a change refused: code, message, details
│   ├── ValidationFailed     values break a rule (a record's, a setting's)
│   ├── InvalidProject       a project, entity or field definition cannot be used
│   ├── Missing              what a request names does not exist (or is out of reach)
│   ├── StateConflict        what a request names is not in a state that allows it
│   └── ApiError             an HTTP-facing error: carries its status and headers
│       ├── BadRequest           400 malformed input
│       ├── Unauthorized         401 missing, bad or expired token
│       ├── Forbidden            403 the caller's role or device may not do this
│       ├── NotFound             404 unknown entity, record, conflict…
│       ├── Conflict             409 the request clashes with the current state
│       │   └── Superseded       409 a choice for a conflict the server changed since
│       ├── Gone                 410 resync_required: a cursor older than the horizon
│       ├── RequestTimeout       408 the body did not arrive in time
│       ├── PreconditionFailed   412 stale If-Match
│       ├── PayloadTooLarge      413 a body or batch over the limits (also once inflated)
│       ├── UnsupportedEncoding  415 a Content-Encoding the server does not read
│       ├── Unprocessable        422 well-formed but invalid values
│       └── TooManyRequests      429 too many failed logins: wait (Retry-After)
│           └── ServiceUnavailable  503 too busy right now: try again (Retry-After)
├── MissingExtra             an optional dependency is not installed (fieldsync[postgresql])
└── DeviceError              raised by the device library
    ├── NotLoggedIn          the device directory has no session
    ├── StoreTooNew          the device directory was made by a newer fieldsync
    ├── Offline              the server cannot be reached, or something else answered
    │   ├── CertificateRejected  its TLS certificate failed verification
    │   └── TooLarge         a request body refused as too large (413), by the server or a proxy
    └── ServerRefused        the server answered with an error

The first four refusals carry nothing of HTTP, so the code the device shares with the
server (the project, validation) raises them; the server answers each with the
`ApiError` that `as_api_error` names for its type.
"""

from __future__ import annotations

from typing import Any


class FieldsyncError(Exception):
    """Base of every error fieldsync raises on purpose."""


class Refused(FieldsyncError):
    """A refusal that says what was refused: a `code` for programs, a `message` for
    people, and `details` (the field, the options…) for both."""

    code = "refused"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class ValidationFailed(Refused):
    """Values break a rule: a record's (a wrong type, an empty required field, a lookup
    to a record that does not exist…) or a setting's (a server URL, a `field=value`
    word); `code` is what a rejected change carries, so it comes first."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)


class InvalidProject(Refused):
    """A project, entity or field definition that cannot be used, with what is wrong."""

    code = "invalid_setting"


class Missing(Refused):
    """What a request names does not exist, or not where the caller may reach it."""

    code = "not_found"


class StateConflict(Refused):
    """What a request names is not in a state that allows it (a conflict closed, a
    change not rejected…)."""

    code = "conflict"


class ApiError(Refused):
    """An error the server turns into `{"error": {"code", "message", "details"}}` with
    its HTTP `status`."""

    status = 400
    code = "bad_request"

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (Retry-After, say)."""
        return {}

    def body(self) -> dict[str, Any]:
        """The JSON error body of the wire contract."""
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of every error answer: `{"error": {"code", "message", "details"}}`."""
    return {"error": {"code": code, "message": message, "details": details}}


class BadRequest(ApiError):
    """400: the request cannot be read."""


class Unauthorized(ApiError):
    """401: no valid bearer token."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """403: authenticated, but not allowed."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """404: the thing does not exist or is outside the caller's scope."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """409: the request clashes with the current state."""

    status = 409
    code = "conflict"


class Superseded(Conflict):
    """409: a choice for a conflict whose record the server changed after it opened.

    Refused: the choice was not written, and the conflict was met again with the
    newest server version (`conflict_id` in the details; None when that left nothing
    to decide, and the server wrote what the meeting settled)."""

    code = "conflict_superseded"

    def __init__(self, superseded: str, conflict_id: str | None) -> None:
        again = (
            f"decide again on conflict {conflict_id}"
            if conflict_id
            else "nothing was left to decide, and the server wrote what that settled"
        )
        super().__init__(
            "the server changed this record after the conflict opened, so your choice was "
            f"not written; the conflict was met again with the newest server version: {again}",
            details={"superseded": superseded, "conflict_id": conflict_id},
        )
        self.conflict_id = conflict_id


class Gone(ApiError):
    """410: the pull cursor is older than the tombstone horizon."""

    status = 410
    code = "resync_required"


class RequestTimeout(ApiError):
    """408: the request's body did not arrive within the server's time limit."""

    status = 408
    code = "body_timeout"

    @property
    def headers(self) -> dict[str, str]:
        """Connection: close, so a stalled client's connection is not kept."""
        return {"Connection": "close"}


class PreconditionFailed(ApiError):
    """412: If-Match names a version that is no longer current."""

    status = 412
    code = "version_mismatch"


class PayloadTooLarge(ApiError):
    """413: a body or a batch over the configured limits."""

    status = 413
    code = "too_large"


class UnsupportedEncoding(ApiError):
    """415: a request body in a Content-Encoding the server does not read."""

    status = 415
    code = "unsupported_encoding"

    @property
    def headers(self) -> dict[str, str]:
        """Accept-Encoding: the codings a request body may use (RFC 7694)."""
        return {"Accept-Encoding": "zstd, gzip"}


class Unprocessable(ApiError):
    """422: well-formed JSON with invalid values."""

    status = 422
    code = "invalid"


class TooManyRequests(ApiError):
    """429: too many failed attempts; `retry_after` seconds until the next may be tried."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """Retry-After, as HTTP clients expect."""
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(TooManyRequests):
    """503: the server is too busy for this request now; try again after `retry_after` s."""

    status = 503
    code = "busy"


# The HTTP error that answers each refusal that carries no status of its own.
_ANSWERS: dict[type[Refused], type[ApiError]] = {
    ValidationFailed: Unprocessable,
    InvalidProject: Unprocessable,
    Missing: NotFound,
    StateConflict: Conflict,
}


def as_api_error(refused: Refused) -> ApiError:
    """The HTTP error the server answers `refused` with: itself when it is one, else the
    one its type maps to, with the same code, message and details."""
    if isinstance(refused, ApiError):
        return refused
    kinds = (http for kind, http in _ANSWERS.items() if isinstance(refused, kind))
    answer = next(kinds, Unprocessable)  # a refusal of no narrower kind
    return answer(refused.message, code=refused.code, details=refused.details)


class MissingExtra(FieldsyncError):
    """A feature needs an optional dependency that is not installed; the message names the
    extra that brings it."""


class DeviceError(FieldsyncError):
    """Raised by the device library."""


class NotLoggedIn(DeviceError):
    """The device directory has no server session yet."""


class StoreTooNew(DeviceError):
    """The device's store was made by a newer fieldsync, whose schema this one does not know."""


class Offline(DeviceError):
    """The server could not be reached, or what answered was not a fieldsync server (a
    captive portal, a proxy's error page, a cut answer): nothing was refused, local work
    goes on and the changes stay pending."""


class TooLarge(Offline):
    """A request body was refused as too large (413), by the server or a proxy on the way:
    a push then sends its batch in smaller parts."""


class CertificateRejected(Offline):
    """The server's TLS certificate failed verification: nothing was sent, nothing is lost."""


class ServerRefused(DeviceError):
    """The server answered a device request with an error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
