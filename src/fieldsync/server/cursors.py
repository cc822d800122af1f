"""Pull cursors, `EPOCH.VERSION`: the last version a device read, in one database history.

The epoch names the database's history. Restoring a backup rewinds the version
counter, so versions a device has already seen would be issued again for other
changes; `fieldsync db restored` gives the database a new epoch, and every cursor
of the old one then answers `410 resync_required`.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy.engine import Connection

from fieldsync.errors import BadRequest, Gone
from fieldsync.server import meta

EPOCH_KEY = "epoch"
_CURSOR = re.compile(r"([0-9a-f]{8})\.([0-9]{1,18})")


def epoch(conn: Connection) -> str:
    """The current epoch (every prepared database has one)."""
    return str(meta.get(conn, EPOCH_KEY))


def ensure_epoch(conn: Connection) -> None:
    """Give a database its first epoch."""
    if meta.get(conn, EPOCH_KEY) is None:
        new_epoch(conn)


def new_epoch(conn: Connection) -> str:
    """Start a new history: every existing cursor must resync."""
    value = secrets.token_hex(4)
    meta.put(conn, EPOCH_KEY, value)
    return value


def parse(text: str | None, current_epoch: str) -> int:
    """The version a cursor names (0 for none); 400 when malformed, 410 from another epoch."""
    if not text:
        return 0
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise BadRequest("cursor must be the value a previous pull returned", code="bad_cursor")
    if match.group(1) != current_epoch:
        raise Gone(
            "the server's history changed (a backup was restored); download everything again"
        )
    return int(match.group(2))


def format_cursor(current_epoch: str, version: int) -> str:
    """The cursor of `version` in the current epoch."""
    return f"{current_epoch}.{version}"
