"""The server's address as a device keeps it: parsed and normalized once, at login.

Only `http` and `https` are spoken, in any letter case (`HTTPS://` is TLS as much
as `https://`, and is verified the same). A URL carrying a user name, a password,
a query or a fragment is refused: credentials go to the login, and nothing else
belongs in the address the device calls.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from fieldsync.errors import ValidationFailed

SCHEMES = ("http", "https")


def server_url(text: str) -> str:
    """`text` as `scheme://host[:port][/path]`, scheme and host in lower case, no trailing
    slash; a ValidationFailed (`bad_server_url`) for anything else."""
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018  (a port that is no number raises here)
    except ValueError as failure:
        raise _refused(text, str(failure)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise _refused(text, "it must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise _refused(text, "it must not carry a user name or password (give them to login)")
    if parts.query or parts.fragment or text.rstrip().endswith(("?", "#")):
        raise _refused(text, "it must not carry a query or a fragment")
    if not parts.hostname:
        raise _refused(text, "it names no host")
    return f"{scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def is_tls(url: str) -> bool:
    """True when the (normalized) URL is spoken over TLS."""
    return url.startswith("https://")


def plain_http_warning(url: str) -> str | None:
    """A warning for a (normalized) URL that sends passwords and tokens in the clear to
    another machine; None for TLS or the loopback interface."""
    if is_tls(url) or is_loopback(urlsplit(url).hostname or ""):
        return None
    return (
        f"{url} is plain HTTP: the password and the token cross the network unencrypted; "
        "use https:// (docs/security.md)"
    )


def is_loopback(host: str) -> bool:
    """True for a host name or address of this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refused(text: str, why: str) -> ValidationFailed:
    return ValidationFailed("bad_server_url", f"the server URL {text!r:.100} is refused: {why}")
