"""Pages: Jinja2 templates (autoescaped), security headers, notices after a redirect."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from fieldsync.project import POLICY_DESCRIPTIONS, Policy

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

# What a redirect after a successful form may say; only these codes are shown.
NOTICES = {
    "saved": "Saved. Devices receive the new settings at their next sync.",
    "field_added": "Field added. Devices receive it at their next sync.",
    "resolved": "Resolved. The device receives the outcome at its next sync.",
    "restored": "Restored as a new server change; devices receive it at their next sync.",
    "record_saved": "Record saved.",
    "record_created": "Record created.",
    "record_deleted": "Record deleted.",
    "user_added": "User added.",
    "password_set": "Password changed.",
    "user_disabled": "User disabled; their devices are signed out.",
    "user_enabled": "User enabled.",
    "device_revoked": "The device is signed out; it must log in again to sync.",
    "logged_out": "You are logged out.",
}

POLICY_LABELS = {
    Policy.SERVER_WINS: "Server Wins",
    Policy.PARTIAL_DEVICE_WINS: "Partial Device Wins",
    Policy.FULL_DEVICE_WINS: "Full Device Wins",
    Policy.USER_ACTION: "User Action",
}

_env = Environment(
    loader=PackageLoader("fieldsync.server.console", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(
    policies=[(p.value, POLICY_LABELS[p], POLICY_DESCRIPTIONS[p]) for p in Policy],
    policy_label={p.value: label for p, label in POLICY_LABELS.items()},
)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` with the notice the URL asks for, if any."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    html = _env.get_template(template).render(request=request, notice=notice, **context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(path: str, notice: str | None = None) -> RedirectResponse:
    """See other: back to a page after a form, with a notice code."""
    target = f"{path}?notice={notice}" if notice else path
    return RedirectResponse(target, status_code=303, headers=HEADERS)
