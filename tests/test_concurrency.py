"""Invariant 5 under concurrency: a pull never skips a change, on SQLite and PostgreSQL.

Writers push new records and patch existing ones at the same time while pullers
page through changes with a small page size. Every record is created once, so a
change a puller skipped (a version that committed after the puller's cursor had
passed it) would be missing from its final view.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from conftest import Server
from helpers import create_batch, pull_until_stopped, server_versions

WRITERS = 4
PULLERS = 3
ROUNDS = 25  # per writer: one push of 4 new records and one back-office patch


def _writer(server: Server, name: str, created: list[str], errors: list[str]) -> None:
    device_id = str(uuid.uuid4())
    with server.client(name) as client:
        for round_ in range(ROUNDS):
            ids = [str(uuid.uuid4()) for _ in range(4)]
            body = create_batch(device_id, *ids, name=f"{name} {round_}")
            response = client.post("/v1/sync/push", json=body)
            if response.status_code != 200:
                errors.append(response.text)
                continue
            created.extend(ids)
            patched = client.patch(
                f"/v1/entities/account/records/{ids[0]}", json={"city": f"round {round_}"}
            )
            if patched.status_code != 200:
                errors.append(patched.text)


def test_concurrent_writers_never_make_a_puller_skip_a_change(server: Server, crm: Any) -> None:
    names = ["alice", "bob", "admin", "alice"]
    created: list[str] = []
    errors: list[str] = []
    stop = threading.Event()
    views: list[dict[str, int]] = [{} for _ in range(PULLERS)]
    clients = [server.client("admin") for _ in views]
    pullers = [
        threading.Thread(target=pull_until_stopped, args=(client, stop, view, errors))
        for client, view in zip(clients, views, strict=True)
    ]
    writers = [
        threading.Thread(target=_writer, args=(server, names[i], created, errors))
        for i in range(WRITERS)
    ]
    for thread in pullers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in pullers:
        thread.join()
    for client in clients:
        client.close()

    assert errors == []
    assert len(created) == WRITERS * ROUNDS * 4
    truth = server_versions(crm)
    assert set(truth) == set(created)
    for view in views:
        assert view == truth  # every puller holds every record at its latest version
