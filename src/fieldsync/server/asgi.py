"""An app factory for ASGI servers that start several workers (`fieldsync serve --workers N`).

Each worker opens the database named by `FIELDSYNC_DB`, with the settings of its
environment (`settings`); nothing else is shared between them, as between servers on
different hosts.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from fieldsync.server import heap
from fieldsync.server.api import create_app
from fieldsync.server.db import Database
from fieldsync.server.settings import Settings


def create() -> FastAPI:
    """The app over the database in `FIELDSYNC_DB` (its schema must be current), with the
    settings of the environment."""
    database = Database(os.environ.get("FIELDSYNC_DB"))
    database.prepare()
    return serving(database, Settings.from_env())


def serving(database: Database, settings: Settings) -> FastAPI:
    """The app over `database`, in a process that is about to serve it (`heap`)."""
    app = create_app(database, settings)
    heap.set_for_serving()
    return app
