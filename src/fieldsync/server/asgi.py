"""An app factory for ASGI servers that start several workers (`fieldsync serve --workers N`).

Each worker opens the database named by `FIELDSYNC_DB`, with the body time limit of
`FIELDSYNC_BODY_TIMEOUT` (seconds); nothing else is shared between them, as between
servers on different hosts.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from fieldsync.server import heap
from fieldsync.server.api import create_app
from fieldsync.server.api.guards import BODY_TIMEOUT
from fieldsync.server.db import Database


def create() -> FastAPI:
    """The app over the database in `FIELDSYNC_DB` (its schema must be current)."""
    database = Database(os.environ.get("FIELDSYNC_DB"))
    database.prepare()
    return serving(database, float(os.environ.get("FIELDSYNC_BODY_TIMEOUT", BODY_TIMEOUT)))


def serving(database: Database, body_timeout: float = BODY_TIMEOUT) -> FastAPI:
    """The app over `database`, in a process that is about to serve it (`heap`)."""
    app = create_app(database, body_timeout)
    heap.set_for_serving()
    return app
