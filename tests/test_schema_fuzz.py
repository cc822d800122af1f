"""Schemathesis against the OpenAPI document: no 5xx, every answer as documented.

Runs over the real ASGI app on a seeded SQLite database, as an admin (who may call
every operation), with a bounded number of examples per operation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from conftest import seed
from fieldsync.server import users
from fieldsync.server.api import create_app
from fieldsync.server.db import Database

EXAMPLES = 25
# The document is read once at import; the fixture below gives the app its database.
APP = create_app(Database(str(Path(tempfile.gettempdir()) / "fieldsync-schema-only.db")))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# NUL characters are refused by design (400 nul_character; tests/test_bad_input.py).
schema.config.generation.update(allow_x00=False)


@pytest.fixture(scope="module")
def admin_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded database under the app, and an admin's token."""
    db = Database(str(tmp_path_factory.mktemp("fuzz") / "server.db"))
    seed(db)
    with db.read() as conn:
        admin = users.check_password(conn, "admin", "secret")
    with db.write() as conn:
        token, _ = users.issue_token(conn, admin, None)
    APP.state.db = db
    yield token
    db.dispose()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(
    case: schemathesis.Case, admin_token: str
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"})


def test_the_schema_lists_the_sync_operations() -> None:
    paths = set(schema.raw_schema["paths"])
    assert {"/v1/sync/push", "/v1/sync/pull", "/v1/admin/conflicts"} <= paths
    assert not any(p.startswith("/admin") for p in paths)  # the console is not API
