"""The admin console's server-rendered pages: templates and headers.

Pages are Jinja2 templates, autoescaped, sent with headers that forbid inline
scripts, framing and caching. After a form, a redirect carries a notice code that
the next page turns into one of its fixed sentences (never text from the URL).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException

from fieldsync.errors import Refused, as_api_error
from fieldsync.forms import shown

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Pages:
    """The templates of one package, with the notices its redirects may name."""

    def __init__(self, package: str, notices: dict[str, str], **globals_: Any) -> None:
        self.notices = notices
        self.env = Environment(
            # The package's own templates, then those the console and the app share.
            loader=ChoiceLoader(
                [PackageLoader(package, "templates"), PackageLoader("fieldsync", "templates")]
            ),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["shown"] = shown  # a value as the shared record form shows it
        self.env.globals.update(globals_)

    def page(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render `template` with the notice the URL asks for, if any."""
        notice = self.notices.get(request.query_params.get("notice", ""))
        html = self.env.get_template(template).render(request=request, notice=notice, **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def redirect(self, path: str, notice: str | None = None) -> RedirectResponse:
        """See other: back to a page after a form, with a notice code."""
        if notice is not None and notice not in self.notices:
            raise ValueError(f"unknown notice {notice!r}")
        target = f"{path}?notice={notice}" if notice else path
        return RedirectResponse(target, status_code=303, headers=HEADERS)


# What a web UI's error page shows for each error the app raises, and with what status.
REFUSALS: tuple[type[Exception], ...] = (
    Refused,
    HTTPException,
    RequestValidationError,
)


def refusal(exc: Exception) -> tuple[int, str, dict[str, str]]:
    """Status, message and extra headers of an error page for one of `REFUSALS`."""
    if isinstance(exc, Refused):
        answer = as_api_error(exc)
        return answer.status, answer.message, answer.headers
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail), dict(exc.headers or {})
    return 422, "The form or address is not valid.", {}
