"""A model of the whole system, driven by Hypothesis: everything anyone can do, in any order.

A real server, three real devices (alice's phone, bob's phone and alice's tablet),
the back office and an admin take random steps: creates, edits and deletes of
accounts and of contacts under them, syncs, policy and detection changes, sync
filter changes, owner reassignments, remote resolutions, journal restores,
`db vacuum`, the users' choices, discard and retry, and devices that stay offline
for long (they simply do not sync). Every admin and back-office answer is checked
to be no 5xx. Then every device settles (decides, discards what was refused, syncs
until quiet) and syncs twice more, and:

- every device holds exactly the server's records of its scope (convergence and
  isolation: invariants 1 and 6);
- every value somebody typed is on the server, was overwritten by a write that
  reached the server after it, stands in the journal, or was discarded by its user
  (nothing lost: invariant 3).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from conftest import BACKENDS, Server, drop_pg_database, fresh_pg_database, pg_url
from fieldsync.device import Device
from fieldsync.server import tombstones
from fieldsync.server.background import running
from fieldsync.server.db import Database
from helpers import journal

USERS = ("alice", "bob", "alice")  # the owners of the three devices
FIELDS = {"account": ("city", "phone"), "contact": ("phone", "jobtitle")}
POLICIES = ("server_wins", "partial_device_wins", "full_device_wins", "user_action")
FILTERS = ("all", "owned", "none")
SETTLED = 1_000_000  # the step at which settling delivers what no scheduled sync did

devices_ = st.integers(0, len(USERS) - 1)
entities = st.sampled_from(sorted(FIELDS))
picks = st.integers(0, 1_000)


@dataclass
class Write:
    """A value somebody typed (`field` None: a delete), and when it reached the server."""

    step: int
    entity: str
    record_id: str
    field: str | None
    value: str | None
    device: int | None
    delivered: int = SETTLED
    discarded: bool = False

    @property
    def order(self) -> tuple[int, int]:
        return (self.delivered, self.step)


def ok(response: httpx.Response) -> httpx.Response:
    """Any answer but a server error: bad requests are fine, a 5xx never is."""
    assert response.status_code < 500, response.text
    return response


class SystemModel(RuleBasedStateMachine):
    """The server, three devices, the back office and the admin."""

    fresh_server: ClassVar[Callable[[], AbstractContextManager[Server]]]

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.server = self.stack.enter_context(self.fresh_server())
        self.office = self.server.client("admin")
        listed = ok(self.office.get("/v1/admin/users")).json()["users"]
        self.user_ids = {user["username"]: user["id"] for user in listed}
        for entity in FIELDS:
            ok(self.office.put(f"/v1/admin/entities/{entity}", json=_defaults()))
        self.tmp = tempfile.TemporaryDirectory(dir=self.server.tmp)
        self.devices = [
            Device.login(Path(self.tmp.name) / f"device{i}", self.server.url, user, "secret")
            for i, user in enumerate(USERS)
        ]
        self.ids: dict[str, list[str]] = {"account": [], "contact": []}
        self.writes: list[Write] = []
        self.steps = itertools.count()
        for owner in ("alice", "bob"):
            self.ids["account"].append(self._office_create("account", owner, {"name": owner}))

    def teardown(self) -> None:
        try:
            self.settle_and_check()
        finally:
            for device in self.devices:
                device.close()
            self.office.close()
            self.tmp.cleanup()
            self.stack.close()

    # --- the field workers -------------------------------------------------------------

    @rule(who=devices_)
    def create_account(self, who: int) -> None:
        step = next(self.steps)
        record_id = self.devices[who].create("account", {"name": f"n{step}", "city": f"v{step}"})
        self.ids["account"].append(record_id)
        self._wrote(Write(step, "account", record_id, "city", f"v{step}", who))

    @rule(who=devices_, parent=picks)
    def create_contact(self, who: int, parent: int) -> None:
        device = self.devices[who]
        account = self._pick("account", parent)
        if device.get("account", account) is None:
            return
        step = next(self.steps)
        values = {"lastname": f"l{step}", "phone": f"v{step}", "account": account}
        record_id = device.create("contact", values)
        self.ids["contact"].append(record_id)
        self._wrote(Write(step, "contact", record_id, "phone", f"v{step}", who))

    @rule(who=devices_, entity=entities, which=picks, field_=st.integers(0, 1))
    def edit(self, who: int, entity: str, which: int, field_: int) -> None:
        device, record_id = self.devices[who], self._pick(entity, which)
        if device.get(entity, record_id) is None:
            return
        step, name = next(self.steps), FIELDS[entity][field_]
        device.update(entity, record_id, {name: f"v{step}"})
        self._wrote(Write(step, entity, record_id, name, f"v{step}", who))

    @rule(who=devices_, entity=entities, which=picks)
    def delete(self, who: int, entity: str, which: int) -> None:
        device, record_id = self.devices[who], self._pick(entity, which)
        if device.get(entity, record_id) is None:
            return
        device.delete(entity, record_id)
        self._wrote(Write(next(self.steps), entity, record_id, None, None, who))

    @rule(who=devices_)
    def sync(self, who: int) -> None:
        self.devices[who].sync()
        self._delivered(who)

    @rule(who=devices_, choice=st.sampled_from(["device", "server", "merge"]))
    def decide(self, who: int, choice: str) -> None:
        _decide(self.devices[who], choice)

    @rule(who=devices_, retry=st.booleans())
    def discard_or_retry(self, who: int, retry: bool) -> None:
        device = self.devices[who]
        for error in device.errors():
            if error["type"] != "rejected":
                continue
            if retry:
                device.retry(error["entity"], error["record_id"])
            else:
                self._discard(who, error["entity"], error["record_id"])
            return

    # --- the back office ---------------------------------------------------------------

    @rule(entity=entities, which=picks, field_=st.integers(0, 1))
    def office_edit(self, entity: str, which: int, field_: int) -> None:
        record_id, step = self._pick(entity, which), next(self.steps)
        name = FIELDS[entity][field_]
        answer = ok(self.office.patch(_path(entity, record_id), json={name: f"v{step}"}))
        if answer.status_code == 200:
            self._wrote(Write(step, entity, record_id, name, f"v{step}", None))

    @rule(entity=entities, which=picks)
    def office_delete(self, entity: str, which: int) -> None:
        record_id, step = self._pick(entity, which), next(self.steps)
        if ok(self.office.delete(_path(entity, record_id))).status_code == 204:
            self._wrote(Write(step, entity, record_id, None, None, None))

    @rule(owner=st.sampled_from(["alice", "bob", "admin"]))
    def office_create(self, owner: str) -> None:
        step = next(self.steps)
        record_id = self._office_create("account", owner, {"name": f"o{step}", "city": f"v{step}"})
        self.ids["account"].append(record_id)
        self._wrote(Write(step, "account", record_id, "city", f"v{step}", None))

    @rule(entity=entities, which=picks, owner=st.sampled_from(["alice", "bob"]))
    def reassign(self, entity: str, which: int, owner: str) -> None:
        record_id = self._pick(entity, which)
        ok(self.office.post(f"{_path(entity, record_id)}/assign", json={"owner": owner}))

    # --- the admin -----------------------------------------------------------------------

    @rule(
        entity=entities,
        policy=st.sampled_from(POLICIES),
        detection=st.sampled_from(["record", "field"]),
    )
    def set_policy(self, entity: str, policy: str, detection: str) -> None:
        settings_ = {"on_conflict": policy, "conflict_detection": detection}
        ok(self.office.put(f"/v1/admin/entities/{entity}", json=settings_))

    @rule(entity=entities, sync_filter=st.sampled_from(FILTERS))
    def set_filter(self, entity: str, sync_filter: str) -> None:
        ok(self.office.put(f"/v1/admin/entities/{entity}", json={"sync_filter": sync_filter}))

    @rule(which=picks, use=st.sampled_from(["device", "server", "merge"]))
    def resolve_remotely(self, which: int, use: str) -> None:
        open_ = journal(self.office, status="open", limit=100)
        if not open_:
            return
        entry = open_[which % len(open_)]
        body: dict[str, Any] = {"use": use}
        if use == "merge":
            body["fields"] = {FIELDS[entry["entity"]][0]: "device"}
        ok(self.office.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json=body))

    @rule(which=picks)
    def restore(self, which: int) -> None:
        """The admin puts a journaled side back: it overwrites what it changes, as any
        later write does (an office edit it replaces is not lost, it was superseded)."""
        entries = journal(self.office, limit=100)
        if entries:
            entry = entries[which % len(entries)]
            entity, record_id = entry["entity"], entry["record_id"]
            before = self._server_values(entity, record_id)
            ok(self.office.post(f"/v1/admin/journal/{entry['id']}/restore"))
            after, step = self._server_values(entity, record_id), next(self.steps)
            for name in FIELDS[entity]:
                if after.get(name) != before.get(name):
                    self._wrote(Write(step, entity, record_id, name, after.get(name), None))

    @rule()
    def vacuum(self) -> None:
        with self.server.db.write() as conn:
            tombstones.vacuum(conn, timedelta(0))

    # --- settling and the invariants ---------------------------------------------------

    @rule()
    def settle_and_check(self) -> None:
        """Everyone settles, syncs twice more, and the invariants hold."""
        self._settle()
        for _ in range(2):
            for device in self.devices:
                device.sync()
        on_server = {entity: self._server_records(entity) for entity in FIELDS}
        for i, device in enumerate(self.devices):
            assert device.errors() == [], f"device {i} did not settle"
            for entity, (sync_filter, records) in on_server.items():
                expected = _scope(records, sync_filter, self.user_ids[USERS[i]])
                assert device.records(entity) == expected, f"device {i} diverged on {entity}"
        self._check_nothing_lost()

    def _settle(self) -> None:
        for round_ in itertools.count():
            assert round_ < 8, "the devices never settled"
            quiet = True
            for i, device in enumerate(self.devices):
                _decide(device, ("server", "device", "merge")[(round_ + i) % 3])
                for error in device.errors():
                    if error["type"] == "rejected":
                        self._discard(i, error["entity"], error["record_id"])
                report = device.sync()
                self._delivered(i)
                if report.pushed or report.pulled or device.errors():
                    quiet = False
            if quiet:
                return

    def _server_records(self, entity: str) -> tuple[str, list[dict[str, Any]]]:
        """The entity's sync filter and every one of its records on the server."""
        sync_filter = ok(self.office.get(f"/v1/admin/entities/{entity}")).json()["sync_filter"]
        records: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            params = {"limit": 1000, "offset": offset}
            page = ok(self.office.get(f"/v1/entities/{entity}/records", params=params)).json()
            records.extend(page["records"])
            offset = page["next_offset"]
        return sync_filter, records

    def _check_nothing_lost(self) -> None:
        entries = journal(self.office, limit=1000)
        for write in self.writes:
            if write.field is None or write.discarded:
                continue
            answer = ok(self.office.get(_path(write.entity, write.record_id)))
            final = answer.json()["record"] if answer.status_code == 200 else {}
            assert (
                (final or {}).get(write.field) == write.value
                or self._overwritten_later(write)
                or _journaled(entries, write)
            ), f"lost {write}"

    def _server_values(self, entity: str, record_id: str) -> dict[str, Any]:
        answer = ok(self.office.get(_path(entity, record_id)))
        return (answer.json()["record"] or {}) if answer.status_code == 200 else {}

    def _overwritten_later(self, write: Write) -> bool:
        return any(
            w.record_id == write.record_id
            and w.field in (write.field, None)
            and w.order > write.order
            and not w.discarded
            for w in self.writes
        )

    # --- bookkeeping ---------------------------------------------------------------------

    def _pick(self, entity: str, which: int) -> str:
        known = self.ids[entity] or self.ids["account"]
        return known[which % len(known)]

    def _office_create(self, entity: str, owner: str, values: dict[str, Any]) -> str:
        created = ok(self.office.post(f"/v1/entities/{entity}/records", json=values))
        assert created.status_code == 201, created.text
        record_id = str(created.json()["id"])
        if owner != "admin":
            ok(self.office.post(f"{_path(entity, record_id)}/assign", json={"owner": owner}))
        return record_id

    def _wrote(self, write: Write) -> None:
        if write.device is None:
            write.delivered = write.step
        self.writes.append(write)

    def _delivered(self, who: int) -> None:
        step = next(self.steps)
        for write in self.writes:
            if write.device == who and write.delivered == SETTLED:
                write.delivered = step

    def _discard(self, who: int, entity: str, record_id: str) -> None:
        """The user drops a refused change: what they typed there is theirs to lose."""
        self.devices[who].discard(entity, record_id)
        for write in self.writes:
            if write.device == who and write.record_id == record_id:
                write.discarded = True


def _defaults() -> dict[str, str]:
    return {"on_conflict": "server_wins", "conflict_detection": "record", "sync_filter": "all"}


def _path(entity: str, record_id: str) -> str:
    return f"/v1/entities/{entity}/records/{record_id}"


def _decide(device: Device, choice: str) -> None:
    """One choice for every undecided conflict (a deleted side cannot be merged)."""
    for error in device.errors():
        if error["type"] != "conflict" or error["choice"] is not None:
            continue
        if choice == "merge" and error["device"] is not None and error["server"] is not None:
            entity_fields = FIELDS.get(error["entity"], ("phone",))
            device.resolve(error["id"], "merge", {entity_fields[0]: "device"})
        else:
            device.resolve(error["id"], "device" if choice == "merge" else choice)


def _scope(
    records: list[dict[str, Any]], sync_filter: str, user_id: str
) -> dict[str, dict[str, Any]]:
    """The records a user's device must hold under the entity's sync filter."""
    return {
        record["id"]: record["record"]
        for record in records
        if sync_filter == "all" or (sync_filter == "owned" and record["owner"] == user_id)
    }


def _journaled(entries: list[dict[str, Any]], write: Write) -> bool:
    return any(
        entry["record_id"] == write.record_id
        and any((entry[side] or {}).get(write.field) == write.value for side in _SIDES)
        for entry in entries
    )


_SIDES = ("base", "device", "server", "result")


@pytest.fixture(params=BACKENDS)
def fresh_servers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[Server]]:
    """A new server over a new seeded database for every example, so that each one replays."""

    @contextmanager
    def fresh() -> Iterator[Server]:
        if request.param == "sqlite":
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            db, name = Database(str(path)), None
        else:
            admin = request.getfixturevalue("pg_admin")
            name = fresh_pg_database(admin, request.getfixturevalue("pg_template"))
            db = Database(pg_url(name))
        try:
            with running(db) as url:
                yield Server(url, db, tmp_path)
        finally:
            db.dispose()
            if name is not None:
                drop_pg_database(admin, name)

    return fresh


def test_everything_anyone_does_converges_and_loses_nothing(
    fresh_servers: Callable[[], AbstractContextManager[Server]],
) -> None:
    machine = type("Model", (SystemModel,), {"fresh_server": staticmethod(fresh_servers)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            # The same examples on every run, so that a run says what the code does;
            # FIELDSYNC_TEST_EXPLORE=1 draws new ones (how new defects are found).
            derandomize=not os.environ.get("FIELDSYNC_TEST_EXPLORE"),
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
