"""The settings of a server process: one table for `fieldsync serve`'s options and its environment.

Each setting is an option of `fieldsync serve` (`--devices-per-user`) and a variable
of the environment (`FIELDSYNC_DEVICES_PER_USER`), which the workers of
`serve --workers N` read. docs/operations.md lists them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

HELP = {
    "forwarded_allow_ips": (
        "Addresses of the proxies whose X-Forwarded-For names the client (comma-separated, "
        "'*' for any); none by default, so a client cannot choose the address it is counted as."
    ),
    "devices_per_user": "Devices one user may register; an admin removes old ones.",
    "body_timeout": "Seconds a request's body may take to arrive (then 408).",
    "login_concurrency": (
        "Password checks at once per process (Argon2 takes 64 MiB each); four times as many "
        "wait their turn, more are answered 503."
    ),
}


@dataclass(frozen=True)
class Settings:
    """What a server process is told at start."""

    forwarded_allow_ips: str = ""
    devices_per_user: int = 20
    login_concurrency: int = 4
    body_timeout: float = 30.0  # room for a device's largest push over a slow mobile link

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """The settings in the environment; defaults for the rest."""
        given = {f.name: env[variable(f.name)] for f in fields(cls) if variable(f.name) in env}
        typed = {name: type(getattr(cls(), name))(value) for name, value in given.items()}
        return cls(**typed)

    def to_env(self) -> dict[str, str]:
        """The environment that gives a worker process these settings."""
        return {variable(f.name): str(getattr(self, f.name)) for f in fields(self)}


def variable(name: str) -> str:
    """The environment variable of a setting."""
    return f"FIELDSYNC_{name.upper()}"
