"""Soak: 50 devices edit, delete, sync and settle conflicts at once while the back office
edits too and the admin turns the On Conflict policy through all four; then every
device converges, nothing was lost, and the server never answered 5xx.

On PostgreSQL, bounded by FIELDSYNC_SOAK_SECONDS (default 20).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from faults.conftest import Served
from faults.invariants import server_accounts
from fieldsync.device import Device
from fieldsync.errors import Offline, Refused, ServerRefused
from fieldsync.project import Policy
from fieldsync.server.settings import variable

DEVICES = 50
SECONDS = float(os.environ.get("FIELDSYNC_SOAK_SECONDS", "20"))
USERS = ("alice", "bob")


@pytest.fixture(autouse=True)
def devices_for_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fifty devices for two users: more than a user's default device limit."""
    monkeypatch.setenv(variable("devices_per_user"), str(DEVICES))


@dataclass
class Tally:
    """What happened during the soak, shared by every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)
    created: set[str] = field(default_factory=set)
    dropped: set[str] = field(
        default_factory=set
    )  # deleted or discarded before the server had them
    failures: list[str] = field(default_factory=list)
    sync_seconds: list[float] = field(default_factory=list)

    def add(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n


def device_loop(device: Device, tally: Tally, until: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        roll = rng.random()
        try:
            mine = list(device.records("account"))
            if roll < 0.25 or not mine:
                record_id = device.create("account", {"name": f"S{seed}-{rng.randrange(10**9)}"})
                with tally.lock:
                    tally.created.add(record_id)
                tally.add("creates")
            elif roll < 0.6:
                field_name = rng.choice(["phone", "city", "email", "street"])
                device.update("account", rng.choice(mine), {field_name: f"{seed}-{rng.random()}"})
                tally.add("updates")
            elif roll < 0.68:
                target = rng.choice(mine)
                never_sent = device.status("account", target) == "created"
                device.delete("account", target)
                if never_sent:
                    with tally.lock:
                        tally.dropped.add(target)
                tally.add("deletes")
            else:
                sync_and_settle(device, tally, rng)
        except Refused:
            tally.add("refused locally")  # e.g. a record a sync just deleted
        except ServerRefused as refused:
            tally.add(f"http {refused.status}")
            if refused.status >= 500:
                with tally.lock:
                    tally.failures.append(str(refused))
        except Offline as offline:
            with tally.lock:
                tally.failures.append(f"offline: {offline}")


def sync_and_settle(device: Device, tally: Tally, rng: random.Random) -> None:
    started = time.monotonic()
    report = device.sync()
    with tally.lock:
        tally.sync_seconds.append(time.monotonic() - started)
    tally.add("syncs")
    tally.add("conflicts left to the user", report.conflicts)
    for error in device.errors():
        if error["type"] == "conflict" and not error["choice"]:
            device.resolve(error["id"], rng.choice(["device", "server"]))
            tally.add("conflicts decided")
        elif error["type"] == "rejected":
            device.discard(error["entity"], error["record_id"])
            with tally.lock:
                tally.dropped.add(error["record_id"])
            tally.add("rejections discarded")


def back_office_loop(office: httpx.Client, tally: Tally, until: float) -> None:
    rng = random.Random(7)
    policies, turn, start = list(Policy), -1, time.monotonic()
    while time.monotonic() < until:
        due = int((time.monotonic() - start) / (SECONDS / 8))  # each policy twice
        if due != turn:
            turn = due
            office.put("/v1/admin/entities/account", json={"on_conflict": policies[turn % 4]})
            tally.add("policy changes")
        listed = office.get("/v1/entities/account/records", params={"limit": 50}).json()
        if listed["records"]:
            target = rng.choice(listed["records"])["id"]
            if rng.random() < 0.9:
                answer = office.patch(
                    f"/v1/entities/account/records/{target}",
                    json={"city": f"office-{rng.random()}"},
                )
            else:
                answer = office.delete(f"/v1/entities/account/records/{target}")
            tally.add(f"office http {answer.status_code}")
            if answer.status_code >= 500:
                with tally.lock:
                    tally.failures.append(f"office: {answer.status_code} {answer.text[:200]}")


def settle_all(devices: list[Device], tally: Tally) -> None:
    """After the storm: everyone takes the device's version and syncs until quiet."""
    for _ in range(6):
        busy = False
        for device in devices:
            device.resolve_all("device")
            for error in device.errors():
                if error["type"] == "rejected":
                    device.discard(error["entity"], error["record_id"])
                    tally.dropped.add(error["record_id"])
            report = device.sync()
            busy = busy or report.pushed > 0 or report.pulled > 0 or bool(device.errors())
        if not busy:
            return
    raise AssertionError("the devices did not settle")


@pytest.mark.parametrize("backend_db", ["postgresql"], indirect=True)
def test_fifty_devices_converge_with_nothing_lost_and_no_5xx(served: Served) -> None:
    devices = [
        Device.login(served.tmp / f"d{n}", served.url, USERS[n % 2], "secret")
        for n in range(DEVICES)
    ]
    tally = Tally()
    until = time.monotonic() + SECONDS
    with served.office() as office:
        threads = [
            threading.Thread(target=device_loop, args=(d, tally, until, n))
            for n, d in enumerate(devices)
        ]
        threads.append(threading.Thread(target=back_office_loop, args=(office, tally, until)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 120)
        assert tally.failures == []  # no 5xx, never offline
        settle_all(devices, tally)

        on_server = server_accounts(office)
        for device in devices:
            assert device.records("account") == on_server
            assert device.unsynced() == 0
        lost = [
            record_id
            for record_id in tally.created - tally.dropped
            if record_id not in on_server
            and office.get(f"/v1/entities/account/records/{record_id}").status_code != 200
        ]
        assert lost == [], "created records the server never got"  # deleted ones keep tombstones
        journal = office.get("/v1/admin/conflicts", params={"limit": 1000}).json()["conflicts"]
        assert {entry["policy"] for entry in journal} == {p.value for p in Policy}
    times = sorted(tally.sync_seconds)
    policies = Counter(entry["policy"] for entry in journal)
    print(  # the figures for the closing note
        f"\nsoak {SECONDS:.0f}s, {DEVICES} devices: {dict(tally.counts)}; "
        f"journal (newest 1000) by policy {dict(policies)}; server accounts {len(on_server)}; "
        f"sync p50 {times[len(times) // 2]:.3f}s p95 {times[int(len(times) * 0.95)]:.3f}s"
    )
    assert tally.counts["syncs"] > DEVICES
