"""Invariants 1-4 (docs/design.md), checked after a fault: converged, nothing lost, once."""

from __future__ import annotations

from typing import Any

import httpx

from fieldsync.device import Device
from fieldsync.errors import Offline

QUIET_ROUNDS = 5


def sync_until_quiet(device: Device) -> None:
    """Sync until a sync has nothing to send or receive (a crash may leave one to redo)."""
    for _ in range(QUIET_ROUNDS):
        report = device.sync()
        if report.pushed == 0 and report.pulled == 0:
            return
    raise AssertionError(f"{device.directory} still syncs changes after {QUIET_ROUNDS} rounds")


def server_accounts(office: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every live account on the server, by id."""
    found: dict[str, dict[str, Any]] = {}
    offset: int | None = 0
    while offset is not None:
        page = office.get("/v1/entities/account/records", params={"limit": 1000, "offset": offset})
        assert page.status_code == 200, page.text
        body = page.json()
        found.update({r["id"]: r["record"] for r in body["records"]})
        offset = body["next_offset"]
    return found


def assert_invariants(
    office: httpx.Client, device: Device, expected: dict[str, dict[str, Any]]
) -> None:
    """After recovery: every device edit on the server once, device and server equal."""
    sync_until_quiet(device)
    on_server = server_accounts(office)
    names = [r["name"] for r in on_server.values()]
    assert len(names) == len(set(names)), "a record was created twice"  # invariant 3, 4
    for record_id, values in expected.items():  # invariant 2: every edit present
        assert record_id in on_server, f"{record_id} was lost"
        assert {k: on_server[record_id][k] for k in values} == values
    journal = office.get("/v1/admin/conflicts").json()["conflicts"]
    assert journal == [], "a replayed change met its own earlier application"  # invariant 3
    assert device.records("account") == on_server  # invariant 1: converged
    assert device.unsynced() == 0
    assert device.errors() == []


def offline(device: Device) -> bool:
    """True when a sync now fails only because the server cannot be reached."""
    try:
        device.sync()
    except Offline:
        return True
    return False
