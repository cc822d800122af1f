"""The journal's round trip: what a conflict writes reads back exactly, on both backends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fieldsync.conflicts import Choice, Detection, Op, Policy, Situation, decide, resolve
from fieldsync.server import bulk, journal
from fieldsync.server.db import Database
from fieldsync.server.schema import journal as journal_table

NESTED = {"tags": ["a", {"b": [1, 2.5, None]}], "empty": {}, "flag": False}
ODD = 'a "quoted" \\ back\\slash, ümlaut, 🙂\nnew line'
BASE = {"name": "Acme", "city": "Bratislava", "revenue": 2**62, "note": None}
DEVICE = {**BASE, "city": "Kosice", "extra": NESTED, "note": ODD}
SERVER = {"name": "Acme", "city": "Zilina", "revenue": -(2**63), "note": None, "phone": "555"}


def situation(device: dict[str, Any] | None, server_deleted: bool = False) -> Situation:
    return Situation(
        policy=Policy.USER_ACTION if device is not None else Policy.FULL_DEVICE_WINS,
        detection=Detection.RECORD,
        op=Op.UPDATE if device is not None else Op.DELETE,
        device=device,
        device_changed=frozenset({"city", "extra", "note"}) if device is not None else frozenset(),
        server=SERVER,
        server_deleted=server_deleted,
        server_modified=True,
        server_changed=frozenset({"city", "phone"}),
    )


def conflict(base: dict[str, Any] | None = BASE) -> journal.ConflictingChange:
    return journal.ConflictingChange(
        entity="account", record_id="r-1", change_id="c-1", base=base, base_version=1,
        server_version=2, user_id="u-1", device_id="d-1",
    )  # fmt: skip


def write(db: Database, entry: dict[str, Any]) -> journal.JournalEntry:
    with db.write() as conn, bulk.QueuedWrites(conn) as writes:
        journal.queue(writes, entry)
    with db.read() as conn:
        return journal.get(conn, entry["id"])


def test_an_open_conflict_reads_back_base_device_and_server_exactly(
    backend_db: Database,
) -> None:
    s = situation(DEVICE)
    entry = journal.new_entry(conflict(), s, resolve(s), "2026-12-06T10:00:00.000000Z", 2)
    stored = write(backend_db, entry)
    assert stored.row == entry
    assert (stored.row["base"], stored.row["device"], stored.row["server"]) == (
        BASE,
        DEVICE,
        SERVER,
    )
    assert (stored.row["result"], stored.row["result_version"]) == (None, None)
    assert stored.is_open


def test_a_settled_conflict_reads_back_its_result_and_the_device_it_was_chosen_on(
    backend_db: Database,
) -> None:
    s = situation(DEVICE)
    stored = write(backend_db, journal.new_entry(conflict(), s, resolve(s), "2026-12-06T10:00Z", 2))
    outcome = decide(s, Choice.DEVICE)
    chosen_on = {**DEVICE, "city": "Presov"}
    with backend_db.write() as conn, bulk.QueuedWrites(conn) as writes:
        journal.settle(writes, stored.state, outcome, "u-1", version=3, device=chosen_on)
    with backend_db.read() as conn:
        settled = journal.get(conn, stored.id)
        [state] = journal.states(conn, "d-1", [stored.id])
    assert (settled.row["status"], settled.row["outcome"]) == ("resolved", "device_wins")
    assert (settled.row["result"], settled.row["result_version"]) == (outcome.result, 3)
    assert (settled.row["device"], settled.row["base"]) == (chosen_on, BASE)
    assert (state.result, state.result_version) == (outcome.result, 3)  # as a sync reads it


def test_a_superseded_conflict_keeps_a_result_only_when_it_was_settled_at_once(
    backend_db: Database,
) -> None:
    s = situation(DEVICE)
    entries = [
        write(backend_db, journal.new_entry(conflict(), s, resolve(s), "2026-12-06T10:00Z", 2))
        for _ in range(2)
    ]
    met_again = decide(s, Choice.DEVICE)  # what meeting D with a newer S wrote, say
    with backend_db.write() as conn, bulk.QueuedWrites(conn) as writes:
        journal.supersede(writes, entries[0].state, "u-1", settled=(met_again, 4))
        journal.supersede(writes, entries[1].state, "u-1")  # a new conflict took its place
    with backend_db.read() as conn:
        settled, replaced = (journal.get(conn, e.id) for e in entries)
        states = journal.states(conn, "d-1", [e.id for e in entries])
    assert (settled.row["status"], settled.row["outcome"]) == ("superseded", "superseded")
    assert (settled.row["result"], settled.row["result_version"]) == (met_again.result, 4)
    assert (replaced.row["result"], replaced.row["result_version"]) == (None, None)
    assert {(st.id, st.result_version) for st in states} == {
        (settled.id, 4),
        (replaced.id, None),
    }
    # Restore offers S whole either way: the result was written over a newer S, not this one.
    assert journal.losing_values(settled) == journal.losing_values(replaced) == SERVER


def test_missing_records_read_back_as_none_and_are_null_in_sql(backend_db: Database) -> None:
    """A device delete has no D, a device without a base sent none, and a delete that
    won leaves no result: an admin's SQL sees NULL, not JSON's null."""
    s = situation(None)
    outcome = resolve(s)
    assert outcome.result is None
    stored = write(
        backend_db, journal.new_entry(conflict(None), s, outcome, "2026-12-06T10:00Z", 3)
    )
    assert (stored.row["base"], stored.row["device"], stored.row["result"]) == (None, None, None)
    assert stored.row["result_version"] == 3  # the delete that won was written as version 3
    with backend_db.read() as conn:
        query = sa.select(sa.func.count()).where(
            journal_table.c.base.is_(None),
            journal_table.c.device.is_(None),
            journal_table.c.result.is_(None),
        )
        assert conn.execute(query).scalar_one() == 1


def test_the_records_are_stored_whole_as_an_admin_reads_them_with_sql(
    backend_db: Database,
) -> None:
    s = situation(DEVICE)
    stored = write(backend_db, journal.new_entry(conflict(), s, resolve(s), "2026-12-06T10:00Z", 2))
    with backend_db.read() as conn:
        text = sa.select(
            sa.cast(journal_table.c.base, sa.Text),
            sa.cast(journal_table.c.device, sa.Text),
            sa.cast(journal_table.c.server, sa.Text),
        )
        sides = conn.execute(text.where(journal_table.c.id == stored.id)).one()
    assert [bulk.json_value(side) for side in sides] == [BASE, DEVICE, SERVER]
