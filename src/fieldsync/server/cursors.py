"""Pull cursors, `EPOCH.VERSION`: the last version a device read, in one database history.

The epoch names the database's history. Restoring a backup rewinds the version
counter, so versions a device has already seen would be issued again for other
changes; `fieldsync db restored` gives the database a new epoch, and every cursor
of the old one then answers `410 resync_required`.

After a sync filter changed (see `scopes`) a cursor may say more, in two suffixes:

- `EPOCH.VERSION.SCOPE`: the device holds the scope in force at version SCOPE
  (newer than VERSION): it has received the difference a scope change made;
- `EPOCH.VERSION.SCOPE.TARGET.AFTER`: the device is receiving the difference
  between the scope in force at SCOPE (or VERSION, when larger) and the one at
  TARGET, and has it up to record version AFTER.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from fieldsync.errors import BadRequest, Gone
from fieldsync.server import meta

EPOCH_KEY = "epoch"
_NUMBER = r"\.([0-9]{1,18})"
_CURSOR = re.compile(rf"([0-9a-f]{{8}}){_NUMBER}(?:{_NUMBER}(?:{_NUMBER}{_NUMBER})?)?")


@dataclass(frozen=True)
class Position:
    """Where a device stands: the last version it read, and the scope it holds."""

    version: int
    scope: int = 0  # the device holds the scope in force at max(version, scope)
    target: int = 0  # not 0: receiving the difference to the scope in force at target
    after: int = 0  # ...delivered up to this record version

    @property
    def scope_version(self) -> int:
        """The version whose scope (sync filters) the device holds."""
        return max(self.version, self.scope)


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


def parse(text: str | None, current_epoch: str) -> Position:
    """The position a cursor names (version 0 for none); 400 when malformed, 410 from
    another epoch."""
    if not text:
        return Position(0)
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise _malformed()
    if match.group(1) != current_epoch:
        raise Gone(
            "the server's history changed (a backup was restored); download everything again"
        )
    version, scope, target, after = (int(g or 0) for g in match.groups()[1:])
    if (scope and not target and scope <= version) or (target and target <= max(version, scope)):
        raise _malformed()
    return Position(version, scope, target, after)


def _malformed() -> BadRequest:
    return BadRequest("cursor must be the value a previous pull returned", code="bad_cursor")


def format_cursor(current_epoch: str, position: Position) -> str:
    """The cursor of `position` in the current epoch (as short as it can say it)."""
    text = f"{current_epoch}.{position.version}"
    if position.target:
        return f"{text}.{position.scope_version}.{position.target}.{position.after}"
    if position.scope > position.version:
        return f"{text}.{position.scope}"
    return text
