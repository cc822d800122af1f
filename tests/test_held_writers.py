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

from conftest import drop_pg_database, fresh_pg_database, pg_url
from fieldsync.server import projects, records
from fieldsync.server.background import spawn
from fieldsync.server.db import Database
from fieldsync.server.schema import users as users_table
from helpers import create_batch

ROUNDS = 12  # per device: a push of 3 new accounts
HOLDS = (1.0, 0.0, 0.4, 0.0, 1.5, 0.1)  # seconds the held writer keeps each transaction open


@dataclass
class Cluster:
    """Server processes on one fresh database, and the database itself."""

    urls: list[str]
    db: Database


@pytest.fixture
def cluster(pg_admin: sa.Engine, pg_template: str) -> Iterator[Cluster]:
    name = fresh_pg_database(pg_admin, pg_template)
    started = [spawn(pg_url(name)) for _ in range(3)]
    db = Database(pg_url(name))
    try:
        yield Cluster([url for _, url in started], db)
    finally:
        db.dispose()
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(timeout=10)
        drop_pg_database(pg_admin, name)


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


def _puller(url: str, stop: threading.Event, seen: dict[str, int], errors: list[str]) -> None:
    cursor = ""
    with _client(url, "admin") as client:
        while True:
            finished = stop.is_set()  # read before the pull: one more full drain after the end
            more = True
            while more:
                response = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": 7})
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                page = response.json()
                seen |= {change["id"]: change["version"] for change in page["changes"]}
                cursor, more = page["cursor"], page["more"]
            if finished:
                return


def test_a_writer_held_open_is_never_skipped_by_pullers_of_three_processes(
    cluster: Cluster,
) -> None:
    created: list[str] = []
    errors: list[str] = []
    stop = threading.Event()
    views: list[dict[str, int]] = [{} for _ in cluster.urls]
    pullers = [
        threading.Thread(target=_puller, args=(url, stop, view, errors))
        for url, view in zip(cluster.urls, views, strict=True)
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

    assert errors == []
    assert len(created) == 3 * ROUNDS * 3 + len(HOLDS)
    truth = _server_versions(cluster.urls[0])
    assert set(truth) == set(created)
    for view in views:
        assert view == truth  # every puller holds every record at its latest version


def _server_versions(url: str) -> dict[str, int]:
    with _client(url, "admin") as office:
        body = office.get("/v1/entities/account/records", params={"limit": 1000}).json()
    assert body["next_offset"] is None
    return {r["id"]: r["version"] for r in body["records"]}
