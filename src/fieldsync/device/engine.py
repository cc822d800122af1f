"""The sync coordinator: named phases, each in its own module.

remote resolutions → push (+ apply results) → pull (+ apply) → project → sync log

The pull's first page is asked for as soon as the server has answered the last
push batch, while the device stores its results.
"""

from __future__ import annotations

from fieldsync.clock import now
from fieldsync.device import pull, push, remote
from fieldsync.device.client import Client
from fieldsync.device.report import Progress, SyncReport
from fieldsync.device.store import Store


def sync(store: Store, client: Client, progress: Progress) -> SyncReport:
    """One full sync; raises Offline (nothing lost) when the server cannot be reached."""
    report = SyncReport()
    started = now()
    remote.fetch_resolutions(store, client, report)
    with pull.Pull(store, client) as pulling:
        push.push(store, client, report, progress, answered=pulling.start)
        project_version = pulling.run(report, progress)
    if project_version != store.project().version:
        refresh_project(store, client)
    with store.transaction() as conn:
        store.set_meta(conn, "last_sync", now())
        store.log(conn, started, "sync", report.as_dict())
    return report


def refresh_project(store: Store, client: Client) -> None:
    """Download the project (entities, fields, policies) from the server."""
    project = client.call("GET", "/v1/project")
    with store.transaction() as conn:
        store.set_meta(conn, "project", project)
