"""Invariant 5 with writers that no longer take turns (PostgreSQL): a writer that took a
version and commits after others took and committed larger ones is never skipped.

Three `fieldsync serve` processes share a database. Devices push new accounts
through them in turn while a writer in this process holds its transaction open on
purpose, long and short in turn, each time after taking a version; an unrelated
transaction stays open and idle throughout. Pullers page through every process
with pages of 7: each must end holding every record at its latest version, and
none may wait for the idle transaction.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from conftest import pg_database, serving_processes
from fieldsync.server import projects, records
from fieldsync.server.db import Database
from fieldsync.server.schema import users as users_table
from helpers import create_batch, pull_until_stopped, server_versions

ROUNDS = 12  # per device: a push of 3 new accounts
HOLDS = (1.0, 0.0, 0.4, 0.0, 1.5, 0.1)  # seconds the held writer keeps each transaction open


@dataclass
class Cluster:
    """Server processes on one fresh database, and the database itself."""

    urls: list[str]
    db: Database


@pytest.fixture
def cluster(pg_admin: sa.Engine, pg_template: str) -> Iterator[Cluster]:
    with (
        pg_database(pg_admin, pg_template) as db_url,
        serving_processes(db_url, (), (), ()) as urls,
    ):
        db = Database(db_url)
        yield Cluster(urls, db)
        db.dispose()


def _client(url: str, user: str) -> httpx.Client:
    login = {"username": user, "password": "secret"}
    token = httpx.post(f"{url}/v1/auth/login", json=login, timeout=60).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def _device(urls: list[str], user: str, created: list[str], errors: list[str]) -> None:
    device_id = str(uuid.uuid4())
    clients = [_client(url, user) for url in urls]
    for round_ in range(ROUNDS):
        ids = [str(uuid.uuid4()) for _ in range(3)]
        body = create_batch(device_id, *ids, name=f"{user} {round_}")
        response = clients[round_ % len(clients)].post("/v1/sync/push", json=body)
        if response.status_code == 200:
            created.extend(ids)
        else:
            errors.append(response.text)
    for client in clients:
        client.close()


def _held_writer(db: Database, created: list[str]) -> None:
    """Create an account per hold, keeping the transaction open that long after the
    record's version was taken (others take and commit larger ones meanwhile)."""
    for hold in HOLDS:
        record_id = str(uuid.uuid4())
        with db.write_beside() as conn:
            account = projects.current(conn).entity("account")
            admin = conn.execute(
                sa.select(users_table.c.id).where(users_table.c.username == "admin")
            )
            assert account is not None
            records.save(
                conn, account, record_id, {"name": "held"}, actor=admin.scalar_one(), current=None
            )
            time.sleep(hold)
        created.append(record_id)


def test_a_writer_held_open_is_never_skipped_by_pullers_of_three_processes(
    cluster: Cluster,
) -> None:
    created: list[str] = []
    errors: list[str] = []
    stop = threading.Event()
    views: list[dict[str, int]] = [{} for _ in cluster.urls]
    clients = [_client(url, "admin") for url in cluster.urls]
    pullers = [
        threading.Thread(target=pull_until_stopped, args=(client, stop, view, errors))
        for client, view in zip(clients, views, strict=True)
    ]
    writers = [
        threading.Thread(target=_device, args=(cluster.urls, user, created, errors))
        for user in ("alice", "bob", "admin")
    ]
    writers.append(threading.Thread(target=_held_writer, args=(cluster.db, created)))
    with cluster.db.engine.connect() as idle:  # an unrelated transaction, open and idle
        idle.execute(sa.text("SELECT pg_current_xact_id()"))
        for thread in pullers + writers:
            thread.start()
        for thread in writers:
            thread.join()
        stop.set()
        for thread in pullers:
            thread.join()
        idle.rollback()
    for client in clients:
        client.close()

    assert errors == []
    assert len(created) == 3 * ROUNDS * 3 + len(HOLDS)
    with _client(cluster.urls[0], "admin") as office:
        truth = server_versions(office)
    assert set(truth) == set(created)
    for view in views:
        assert view == truth  # every puller holds every record at its latest version
