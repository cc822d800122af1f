"""The field app at /app/: the installable offline web app, served beside the API.

Every file comes from the package (`fieldsync/app/`), so a phone needs nothing but a
browser. Answers carry `Cache-Control: no-cache`: the browser asks again each time and
the service worker, not the HTTP cache, decides what is kept offline. They carry a
Content-Security-Policy too: the app runs only its own files (no inline script or
style, no other origin), so a record's text can never run as code, even if some screen
built HTML from it (none does: screens make DOM nodes and text). The service
worker is served with the app's version written into it, so a new release (or any
changed file) installs a new worker with a new cache.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

import fieldsync

PREFIX = "/app"
ROOT = Path(fieldsync.__file__).parent / "app"
VERSION_MARK, FILES_MARK = "__FIELDSYNC_APP_VERSION__", '"__FIELDSYNC_APP_FILES__"'
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NO_CACHE = {"Cache-Control": "no-cache", **SECURITY}

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")


@cache
def files() -> list[str]:
    """Every file the app serves but its service worker, as paths under /app/."""
    found = (p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file())
    return sorted(name for name in found if name != "sw.js" and "__pycache__" not in name)


@cache
def version() -> str:
    """The package version and a digest of every file the app serves: any change of a
    file makes a new service worker, whose cache never mixes old and new modules."""
    digest = hashlib.sha256()
    for name in [*files(), "sw.js"]:
        digest.update(name.encode())
        digest.update((ROOT / name).read_bytes())
    return f"{fieldsync.__version__}+{digest.hexdigest()[:12]}"


class _AppFiles(StaticFiles):
    """The app's files, each answered with `NO_CACHE` headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(NO_CACHE)
        return response


def mount(app: FastAPI) -> None:
    """Serve the field app at /app/ of the server `app`."""

    @app.get(PREFIX, include_in_schema=False)
    def app_home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307, headers=SECURITY)

    @app.get(f"{PREFIX}/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        text = (ROOT / "sw.js").read_text().replace(VERSION_MARK, version())
        text = text.replace(FILES_MARK, json.dumps(json.dumps(files())))
        return Response(text, media_type="text/javascript", headers=NO_CACHE)

    @app.get(f"{PREFIX}/version.json", include_in_schema=False)
    def app_version() -> Response:
        body = f'{{"version": "{version()}"}}'
        return Response(body, media_type="application/json", headers=NO_CACHE)

    app.mount(PREFIX, _AppFiles(directory=ROOT, html=True), name="field_app")
