"""Hypothesis: random schedules of edits, deletes and syncs on two devices and the server.

Whatever the policy and detection mode, once every device has settled its conflicts
and synced until quiet, every device holds exactly the server's records
(invariant 1), and no value a device or the back office wrote disappeared without
either a later write to the same field or a journal entry that keeps it (invariant 3).
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import Server
from fieldsync.device import Device
from fieldsync.server.settings import variable
from helpers import journal, set_entity

FIELDS = ("city", "phone")
DEVICES = 2
START_RECORDS = 2

device_step = st.tuples(
    st.sampled_from(["edit", "delete", "create", "sync"]),
    st.integers(0, DEVICES - 1),
    st.integers(0, 2),
    st.sampled_from(FIELDS),
)
server_step = st.tuples(
    st.sampled_from(["server_edit", "server_delete"]),
    st.just(0),
    st.integers(0, 2),
    st.sampled_from(FIELDS),
)
schedules = st.lists(st.one_of(device_step, server_step), min_size=6, max_size=20)


@pytest.fixture(autouse=True)
def devices_for_every_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example logs in new devices on one server: more than a user's default limit."""
    monkeypatch.setenv(variable("devices_per_user"), "1000")


SETTLE = 10_000  # the step at which `settle` delivers what no scheduled sync did


@dataclass
class Write:
    """A value somebody wrote (`field` None: a delete).

    It reaches the server when it is delivered: at once from the back office, at the
    device's next sync from a device. It must survive, be overwritten by a write
    delivered after it, or be journaled.
    """

    step: int
    record_id: str
    field: str | None
    value: str | None
    delivered: int = SETTLE

    @property
    def order(self) -> tuple[int, int]:
        return (self.delivered, self.step)


def decide(device: Device, choice: str) -> None:
    """Make one choice for every undecided conflict; a merge takes the device's city and
    the server's phone (a deleted side cannot be merged: the device's version is used)."""
    for error in device.errors():
        if error["type"] != "conflict" or error["choice"] is not None:
            continue
        if choice != "merge":
            device.resolve(error["id"], choice)
        elif error["device"] is None or error["server"] is None:
            device.resolve(error["id"], "device")
        else:
            device.resolve(error["id"], "merge", {"city": "device"})


@dataclass
class World:
    server: Server
    office: httpx.Client
    devices: list[Device]
    records: list[str]
    writes: list[Write] = field(default_factory=list)
    undelivered: dict[int, list[Write]] = field(default_factory=dict)  # device → writes

    def wrote(self, write: Write, device: int | None) -> None:
        self.writes.append(write)
        if device is None:
            write.delivered = write.step
        else:
            self.undelivered.setdefault(device, []).append(write)

    def synced(self, device: int, step: int) -> None:
        for write in self.undelivered.pop(device, []):
            write.delivered = step

    def run(self, step: int, action: str, who: int, which: int, name: str) -> None:
        record_id = self.records[which % len(self.records)]
        value = f"v{step}"
        device = self.devices[who]
        path = f"/v1/entities/account/records/{record_id}"
        if action == "sync":
            device.sync()
            self.synced(who, step)
        elif action == "create":
            self.records.append(device.create("account", {"name": f"n{step}"}))
        elif action == "edit" and device.get("account", record_id) is not None:
            device.update("account", record_id, {name: value})
            self.wrote(Write(step, record_id, name, value), who)
        elif action == "delete" and device.get("account", record_id) is not None:
            device.delete("account", record_id)
            self.wrote(Write(step, record_id, None, None), who)
        elif action == "server_edit":
            if self.office.patch(path, json={name: value}).status_code == 200:
                self.wrote(Write(step, record_id, name, value), None)
        elif action == "server_delete" and self.office.delete(path).status_code == 204:
            self.wrote(Write(step, record_id, None, None), None)

    def settle(self) -> None:
        """Decide every open conflict, then sync every device until nothing moves."""
        for round_ in itertools.count():
            assert round_ < 6, "the devices never settled"
            quiet = True
            for i, device in enumerate(self.devices):
                decide(device, ("server", "device", "merge")[(round_ + i) % 3])
                report = device.sync()
                if report.pushed or report.pulled or device.errors():
                    quiet = False
            if quiet:
                return

    def server_records(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        offset: int | None = 0
        while offset is not None:
            page = self.office.get(
                "/v1/entities/account/records", params={"limit": 1000, "offset": offset}
            ).json()
            found |= {r["id"]: r["record"] for r in page["records"]}
            offset = page["next_offset"]
        return found


def _overwritten_later(world: World, write: Write) -> bool:
    """True when a write delivered after this one replaced the field or deleted the record."""
    return any(
        w.record_id == write.record_id and w.field in (write.field, None) and w.order > write.order
        for w in world.writes
    )


def _journaled(entries: list[dict[str, Any]], write: Write) -> bool:
    for entry in entries:
        if entry["record_id"] != write.record_id:
            continue
        for side in ("device", "server"):
            values = entry[side] or {}
            if values.get(write.field) == write.value:
                return True
    return False


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    policy=st.sampled_from(
        ["server_wins", "partial_device_wins", "full_device_wins", "user_action"]
    ),
    detection=st.sampled_from(["record", "field"]),
    schedule=schedules,
)
@example(  # both edit the city; the device syncs after the back office
    policy="server_wins",
    detection="record",
    schedule=[("edit", 0, 0, "city"), ("server_edit", 0, 0, "city"), ("sync", 0, 0, "city")],
)
@example(  # the device deletes what the back office edited
    policy="full_device_wins",
    detection="field",
    schedule=[("server_edit", 0, 1, "phone"), ("delete", 1, 1, "phone"), ("sync", 1, 0, "city")],
)
@example(  # an edit made while a User Action conflict is open, then "use server version"
    policy="user_action",
    detection="record",
    schedule=[
        ("edit", 0, 0, "city"),
        ("server_edit", 0, 1, "city"),
        ("edit", 0, 0, "city"),
        ("edit", 0, 1, "city"),
        ("sync", 0, 0, "city"),
        ("edit", 0, 1, "city"),
    ],
)
def test_random_schedules_converge_and_lose_nothing(
    server: Server, crm: httpx.Client, policy: str, detection: str, schedule: list[Any]
) -> None:
    set_entity(crm, "account", on_conflict=policy, conflict_detection=detection)
    with tempfile.TemporaryDirectory(dir=server.tmp) as tmp:
        records = [
            crm.post("/v1/entities/account/records", json={"name": f"start {i}"}).json()["id"]
            for i in range(START_RECORDS)
        ]
        devices = [
            Device.login(Path(tmp) / f"device{i}", server.url, ("alice", "bob")[i], "secret")
            for i in range(DEVICES)
        ]
        for device in devices:
            device.sync()
        world = World(server, crm, devices, records)
        for step, (action, who, which, name) in enumerate(schedule):
            world.run(step, action, who, which, name)
        world.settle()

        expected = world.server_records()
        for device in devices:
            assert device.records("account") == expected  # invariant 1
            assert device.errors() == []
        entries = journal(crm, limit=1000)
        for write in world.writes:
            if write.field is None:
                continue  # a delete has no value to keep
            final = expected.get(write.record_id, {}).get(write.field)
            assert (
                final == write.value
                or _overwritten_later(world, write)
                or _journaled(entries, write)
            ), f"lost {write}"  # invariant 3
        for device in devices:
            device.close()
