"""Sync errors and the conflict screen of the field app, used as a field worker would.

A phone (Chromium at 390x844) signs in as alice, downloads records, edits them; the back
office edits the same records through the records API; the phone's sync meets the
conflict, and the worker settles it on the screen. What reaches the server is read back
through the API. These tests run on SQLite only: what they test is the app's screens and
decisions; the server's side of conflicts is tested on both backends elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app_fixtures import app_login, app_sync, axe
from conftest import Server
from helpers import (
    journal,
    office_account,
    office_delete,
    office_edit,
    server_record,
    server_values,
    set_entity,
)

IN_APP = """async ([module, name, args]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const m = await import(`/app/js/${module}.js`);
  return m[name](activeEngine().store, ...args);
}"""


def in_app(page: Page, module: str, name: str, *args: Any) -> Any:
    """Call a function of the app's module that takes the store first (edits.js, decisions.js)."""
    return page.evaluate(IN_APP, [module, name, list(args)])


def phone_edit(page: Page, record_id: str, **values: Any) -> None:
    """The worker edits an account on the phone (as the form does, through edits.js)."""
    in_app(page, "edits", "updateRecord", "account", record_id, values)


def in_app_row(page: Page, entity: str, record_id: str) -> Any:
    """A record's row on the phone (None when the phone has none)."""
    return page.evaluate(
        """async ([entity, id]) => {
          const { activeEngine } = await import("/app/js/sync.js");
          return activeEngine().store.getRecord(entity, id);
        }""",
        [entity, record_id],
    )


def phone_record(page: Page, record_id: str) -> Any:
    """The account's row on the phone (None when the phone has none)."""
    return in_app_row(page, "account", record_id)


def phone_delete(page: Page, record_id: str) -> None:
    in_app(page, "edits", "deleteRecord", "account", record_id)


@pytest.fixture
def worker(phone: Page, server: Server, crm: httpx.Client) -> Page:
    """Alice's phone, signed in, with the account entity under User Action."""
    set_entity(crm, "account", on_conflict="user_action")
    app_login(phone, server, "alice")
    return phone


def sync(page: Page) -> dict[str, Any]:
    """Sync now (Sync now), after any sync already running: it sends what is on the phone now."""
    result = app_sync(page)
    assert result["ok"], result
    return result


download = sync


@dataclass
class Both:
    """An account the office creates with `values`, then both sides change: `mine` on the
    phone, `office` in the back office (None: deleted)."""

    values: dict[str, Any]
    mine: dict[str, Any] | None
    office: dict[str, Any] | None


def changed_on_both_sides(
    worker: Page, crm: httpx.Client, *accounts: Both, open_conflicts: int | None = None
) -> list[str]:
    """The `accounts` created, downloaded, changed on both sides and synced: their ids.
    The sync leaves `open_conflicts` open (by default, one for each account)."""
    ids = [office_account(crm, **account.values) for account in accounts]
    download(worker)
    # The office first: the app syncs by itself soon after a change on the phone.
    for record_id, account in zip(ids, accounts, strict=True):
        if account.office is None:
            office_delete(crm, record_id)
        else:
            office_edit(crm, record_id, **account.office)
    for record_id, account in zip(ids, accounts, strict=True):
        if account.mine is None:
            phone_delete(worker, record_id)
        else:
            phone_edit(worker, record_id, **account.mine)
    expected = len(accounts) if open_conflicts is None else open_conflicts
    assert sync(worker)["conflicts"] == expected
    return ids


@contextmanager
def offline(page: Page) -> Iterator[None]:
    """The phone without network: decisions stay on it (no sync can send them) meanwhile."""
    page.context.set_offline(True)
    yield
    page.context.set_offline(False)


def open_errors(page: Page) -> None:
    page.evaluate("location.hash = '#/errors'")
    expect(page.get_by_role("heading", name="Sync errors", level=1)).to_be_visible()


def no_serious_findings(page: Page) -> None:
    assert axe(page) == []


def field_section(page: Page, label: str) -> Any:
    return page.get_by_role("region", name=label, exact=True)


def test_an_edit_edit_conflict_shows_who_changed_what_and_a_merge_takes_each_side(
    worker: Page, crm: httpx.Client
) -> None:
    [record_id] = changed_on_both_sides(
        worker,
        crm,
        Both(
            {"name": "Acme", "city": "Lyon", "phone": "555 0100", "description": ""},
            mine={"description": "Gate code 4711", "phone": "555 0199"},
            office={"name": "Acme SA", "phone": "555 0111"},
        ),
    )
    open_errors(worker)
    no_serious_findings(worker)
    worker.get_by_role("link", name=re.compile("Acme")).click()
    expect(worker.get_by_text("You and the office both changed this record.")).to_be_visible()
    expect(field_section(worker, "Description")).to_contain_text("you")
    expect(field_section(worker, "Description")).to_contain_text("Gate code 4711")
    expect(field_section(worker, "Name")).to_contain_text("office")
    expect(field_section(worker, "Phone")).to_contain_text("both")
    for side in ("Before", "You", "Office"):
        expect(field_section(worker, "Phone")).to_contain_text(side)
    expect(field_section(worker, "City")).to_have_count(0)  # unchanged: collapsed
    expect(worker.get_by_text("Unchanged fields")).to_be_visible()
    no_serious_findings(worker)
    worker.get_by_role("button", name="Merge").click()
    merge = worker.get_by_role("region", name="Merge: choose per field")
    description = merge.get_by_role("group", name=re.compile("Description"))
    expect(description.get_by_role("radio", name=re.compile("Mine"))).to_be_checked()
    name = merge.get_by_role("group", name=re.compile("Name"))
    expect(name.get_by_role("radio", name=re.compile("Office's"))).to_be_checked()
    phone = merge.get_by_role("group", name=re.compile("Phone"))
    expect(phone.get_by_role("radio", name=re.compile("Mine"))).to_be_checked()
    result = merge.locator(".tw-result")
    expect(result).to_contain_text("555 0199")
    phone.get_by_role("radio", name=re.compile("Office's")).check()
    expect(result).to_contain_text("555 0111")  # the result follows the picks at once
    no_serious_findings(worker)
    merge.get_by_role("button", name="Use this merge").click()
    sync(worker)
    merged = server_values(crm, record_id)
    assert (merged["name"], merged["phone"]) == ("Acme SA", "555 0111")  # the office's
    assert (merged["description"], merged["city"]) == ("Gate code 4711", "Lyon")  # mine, as was


def test_use_my_version_and_use_office_version_reach_the_server(
    worker: Page, crm: httpx.Client
) -> None:
    mine, theirs = changed_on_both_sides(
        worker,
        crm,
        Both({"name": "Mine Ltd", "city": "Lyon"}, mine={"city": "Nice"}, office={"city": "Paris"}),
        Both(
            {"name": "Theirs Ltd", "city": "Lyon"}, mine={"city": "Nice"}, office={"city": "Paris"}
        ),
    )
    open_errors(worker)
    with offline(worker):
        worker.get_by_role("link", name=re.compile("Mine Ltd")).click()
        worker.get_by_role("button", name="Use my version").click()
        decided = worker.get_by_role("region", name="Decided — sent at the next sync")
        expect(decided).to_contain_text("Use my version")
        worker.get_by_role("link", name=re.compile("Theirs Ltd")).click()
        worker.get_by_role("button", name="Use office version").click()
        expect(decided).to_contain_text("Use office version")
    sync(worker)
    assert server_values(crm, mine)["city"] == "Nice"
    assert server_values(crm, theirs)["city"] == "Paris"
    open_errors(worker)
    expect(worker.get_by_text("No sync errors.")).to_be_visible()


def test_edit_delete_and_delete_edit_are_said_in_plain_words(
    worker: Page, crm: httpx.Client
) -> None:
    edited, deleted = changed_on_both_sides(
        worker,
        crm,
        Both({"name": "Edited here", "city": "Lyon"}, mine={"city": "Nice"}, office=None),
        Both({"name": "Deleted here", "city": "Lyon"}, mine=None, office={"city": "Paris"}),
    )
    open_errors(worker)
    worker.get_by_role("link", name=re.compile("Edited here")).click()
    expect(worker.get_by_text("You changed this record; the office deleted it.")).to_be_visible()
    expect(worker.get_by_role("button", name="Accept delete")).to_be_visible()
    expect(worker.get_by_role("button", name="Merge")).to_have_count(0)
    no_serious_findings(worker)
    worker.get_by_role("button", name="Restore my version").click()
    worker.get_by_role("link", name=re.compile("Deleted here")).click()
    expect(worker.get_by_text("You deleted this record; the office changed it.")).to_be_visible()
    expect(field_section(worker, "City")).to_contain_text("Paris")
    expect(worker.get_by_role("button", name="Keep office version")).to_be_visible()
    worker.get_by_role("button", name="Delete anyway").click()
    sync(worker)
    assert server_values(crm, edited)["city"] == "Nice"  # restored with my change
    assert server_record(crm, deleted)["deleted"]


def test_apply_to_all_says_what_will_happen_and_asks_first(worker: Page, crm: httpx.Client) -> None:
    first, second, gone = changed_on_both_sides(
        worker,
        crm,
        Both({"name": "First", "city": "Lyon"}, mine={"city": "Nice"}, office={"city": "Paris"}),
        Both({"name": "Second", "city": "Lyon"}, mine={"city": "Nice"}, office={"city": "Paris"}),
        Both({"name": "Gone", "city": "Lyon"}, mine={"city": "Nice"}, office=None),
    )
    open_errors(worker)
    with offline(worker):
        worker.get_by_role("button", name="Keep the office's for all").click()
        dialog = worker.get_by_role("dialog")
        expect(dialog).to_contain_text("2 keep the office's, 1 deleted from this phone")
        no_serious_findings(worker)
        dialog.get_by_role("button", name="Cancel").click()
        expect(
            worker.get_by_role("heading", name=re.compile("Conflicts — need you"))
        ).to_be_visible()
        assert in_app(worker, "decisions", "summarize", "device")["mine"] == 3  # none decided
        worker.get_by_role("button", name="Keep the office's for all").click()
        worker.get_by_role("dialog").get_by_role("button", name="Apply to all").click()
        decided = worker.get_by_role("region", name="Decided — sent at the next sync")
        expect(decided.get_by_role("listitem")).to_have_count(3)
    sync(worker)
    assert server_values(crm, first)["city"] == "Paris"
    assert server_values(crm, second)["city"] == "Paris"
    assert server_record(crm, gone)["deleted"]
    assert phone_record(worker, first)["data"]["city"] == "Paris"  # the phone took the office's
    assert phone_record(worker, gone) is None  # deleted from this phone


def test_a_decision_can_be_undone_until_the_sync_sends_it(worker: Page, crm: httpx.Client) -> None:
    [record_id] = changed_on_both_sides(
        worker,
        crm,
        Both({"name": "Undone", "city": "Lyon"}, mine={"city": "Nice"}, office={"city": "Paris"}),
    )
    open_errors(worker)
    with offline(worker):
        worker.get_by_role("link", name=re.compile("Undone")).click()
        worker.get_by_role("button", name="Use my version").click()
        decided = worker.get_by_role("region", name="Decided — sent at the next sync")
        expect(decided).to_contain_text("Use my version")
        no_serious_findings(worker)
        decided.get_by_role("button", name=re.compile("Undo")).click()
        expect(decided).to_have_count(0)
        expect(worker.get_by_role("link", name=re.compile("Undone"))).to_be_visible()
    assert sync(worker)["conflicts"] == 1  # still open, nothing sent
    assert server_values(crm, record_id)["city"] == "Paris"


def test_a_decision_the_office_overtook_comes_back_explained(
    worker: Page, crm: httpx.Client
) -> None:
    [record_id] = changed_on_both_sides(
        worker,
        crm,
        Both(
            {"name": "Overtaken", "city": "Lyon"}, mine={"city": "Nice"}, office={"city": "Paris"}
        ),
    )
    open_errors(worker)
    with offline(worker):
        worker.get_by_role("link", name=re.compile("Overtaken")).click()
        worker.get_by_role("button", name="Use my version").click()
        expect(worker.get_by_role("region", name="Decided — sent at the next sync")).to_be_visible()
        office_edit(crm, record_id, city="Marseille")  # after the decision, before it is sent
    assert sync(worker)["conflicts"] == 1
    assert server_values(crm, record_id)["city"] == "Marseille"  # nothing overwritten unseen
    open_errors(worker)
    expect(worker.get_by_text("The office changed this again after you decided")).to_be_visible()
    worker.get_by_role("link", name=re.compile("Overtaken")).click()
    expect(worker.get_by_role("note")).to_contain_text(
        "The office changed this again after you decided: check again"
    )
    expect(worker.get_by_role("note")).to_contain_text("You had chosen “Use my version”")
    expect(field_section(worker, "City")).to_contain_text("Marseille")
    no_serious_findings(worker)
    worker.get_by_role("button", name="Use my version").click()
    sync(worker)
    assert server_values(crm, record_id)["city"] == "Nice"


def resolved_by_the_office(worker: Page, crm: httpx.Client, name: str) -> tuple[str, Any]:
    """An account whose conflict (city: Nice here, Paris there) an admin resolved
    keeping the office's version; the phone has not synced since. Its id, and the
    record as the resolution left it."""
    [record_id] = changed_on_both_sides(
        worker,
        crm,
        Both(
            {"name": name, "city": "Lyon", "phone": "100"},
            mine={"city": "Nice"},
            office={"city": "Paris"},
        ),
    )
    [entry] = journal(crm, status="open")
    answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
    assert answer.status_code == 200, answer.text
    return record_id, server_values(crm, record_id)


def test_an_edit_typed_after_the_office_resolved_the_conflict_meets_the_offices_next_edit(
    worker: Page, crm: httpx.Client
) -> None:
    record_id, resolved = resolved_by_the_office(worker, crm, "Resolved Ltd")
    with offline(worker):
        phone_edit(worker, record_id, phone="300")
        office_edit(crm, record_id, phone="555")  # after the resolution, before the sync

    assert sync(worker)["conflicts"] == 1

    assert server_values(crm, record_id) == {**resolved, "phone": "555"}  # nothing overwritten
    open_errors(worker)
    worker.get_by_role("link", name=re.compile("Resolved Ltd")).click()
    phone_field = field_section(worker, "Phone")
    expect(phone_field).to_contain_text("both")
    for value in ("100", "300", "555"):  # before (the resolution's), you, the office
        expect(phone_field).to_contain_text(value)
    expect(field_section(worker, "City")).to_have_count(0)  # the resolution settled it
    worker.get_by_role("button", name="Use my version").click()
    sync(worker)
    assert server_values(crm, record_id) == {**resolved, "phone": "300"}


def test_an_edit_typed_after_the_office_resolved_the_conflict_is_noticed_under_server_wins(
    worker: Page, crm: httpx.Client
) -> None:
    record_id, resolved = resolved_by_the_office(worker, crm, "Noticed Ltd")
    set_entity(crm, "account", on_conflict="server_wins")
    with offline(worker):
        phone_edit(worker, record_id, phone="300")
        office_edit(crm, record_id, phone="555")

    assert sync(worker)["conflicts"] == 0

    assert server_values(crm, record_id) == {**resolved, "phone": "555"}
    assert phone_record(worker, record_id)["data"] == server_values(crm, record_id)
    [entry] = journal(crm, policy="server_wins")
    assert (entry["device"]["phone"], entry["result"]["phone"]) == ("300", "555")
    open_errors(worker)
    notices = worker.get_by_role("region", name="Recent notices")
    expect(notices).to_contain_text("Phone: you typed “300”, now “555”")


def test_an_edit_typed_while_a_superseded_conflict_was_settled_meets_the_offices_next_edit(
    worker: Page, crm: httpx.Client
) -> None:
    set_entity(crm, "account", conflict_detection="field")
    [record_id] = changed_on_both_sides(
        worker,
        crm,
        Both(
            {"name": "Settled Ltd", "city": "Lyon", "phone": "100", "email": "old@s.example"},
            mine={"city": "Nice", "email": "new@s.example"},
            office={"city": "Paris"},
        ),
    )
    [entry] = journal(crm, status="open")
    office_edit(crm, record_id, city="Nice")  # the office agrees: nothing left to decide
    answer = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
    assert answer.json()["error"]["details"]["conflict_id"] is None
    merged = server_values(crm, record_id)  # the phone's email merged in
    with offline(worker):
        phone_edit(worker, record_id, phone="300")
        office_edit(crm, record_id, phone="555")  # after the merge, before the sync

    assert sync(worker)["conflicts"] == 1

    assert server_values(crm, record_id) == {**merged, "phone": "555"}  # nothing overwritten
    open_errors(worker)
    worker.get_by_role("link", name=re.compile("Settled Ltd")).click()
    phone_field = field_section(worker, "Phone")
    for value in ("100", "300", "555"):  # before (the merge's), you, the office
        expect(phone_field).to_contain_text(value)
    worker.get_by_role("button", name="Use my version").click()
    sync(worker)
    assert server_values(crm, record_id) == {**merged, "phone": "300"}


def test_a_refused_change_names_the_field_and_limit_and_its_fix_goes_through(
    worker: Page, crm: httpx.Client
) -> None:
    record_id = office_account(crm, name="Shorty", phone="555")
    download(worker)
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    for field in fields:
        if field["name"] == "phone":
            field["max_length"] = 20
    set_entity(crm, "account", fields=fields)
    phone_edit(worker, record_id, phone="+421 900 123 456 ext. 789")  # 25 characters
    assert sync(worker)["refused"] == 1
    open_errors(worker)
    refused = worker.get_by_role("region", name=re.compile("Refused by the server"))
    expect(refused).to_contain_text("Phone is too long for the server's 20 characters.")
    expect(refused.get_by_role("button", name="Retry")).to_have_count(0)  # it cannot succeed
    expect(refused.get_by_role("button", name="Discard my change")).to_be_visible()
    no_serious_findings(worker)
    refused.get_by_role("button", name="Fix Phone").click()
    expect(worker.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    expect(
        worker.get_by_text("Phone is too long for the server's 20 characters.")
    ).to_be_visible()  # beside it
    worker.get_by_label("Phone").fill("+421 900 123 456")
    worker.get_by_role("button", name="Save").click()
    sync(worker)
    assert server_values(crm, record_id)["phone"] == "+421 900 123 456"
    open_errors(worker)
    expect(worker.get_by_text("No sync errors.")).to_be_visible()


def test_a_notice_says_what_server_wins_replaced_of_what_was_typed(
    worker: Page, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="server_wins")
    changed_on_both_sides(
        worker,
        crm,
        Both(
            {"name": "Noticed", "phone": "555 0100"},
            mine={"phone": "555 0199"},
            office={"phone": "555 0111"},
        ),
        open_conflicts=0,  # Server Wins settles it
    )
    open_errors(worker)
    notices = worker.get_by_role("region", name="Recent notices")
    expect(notices).to_contain_text("Noticed")
    expect(notices).to_contain_text("The office's version replaced what you typed:")
    expect(notices).to_contain_text("Phone: you typed “555 0199”, now “555 0111”")
    no_serious_findings(worker)


def test_a_change_refused_for_its_deleted_account_says_so_and_discard_undoes_it(
    worker: Page, crm: httpx.Client
) -> None:
    account_id = office_account(crm, name="Closed Shop")
    download(worker)
    with offline(worker):
        contact_id = in_app(
            worker, "edits", "createRecord", "contact", {"lastname": "Novak", "account": account_id}
        )
        office_delete(crm, account_id)
    assert sync(worker)["refused"] == 1
    open_errors(worker)
    refused = worker.get_by_role("region", name=re.compile("Refused by the server"))
    expect(refused).to_contain_text("Its account was deleted on the server.")
    expect(refused.get_by_role("button", name="Retry")).to_have_count(0)
    no_serious_findings(worker)
    refused.get_by_role("button", name="Discard my change").click()
    worker.get_by_role("dialog").get_by_role("button", name="Discard my change").click()
    expect(worker.get_by_text("No sync errors.")).to_be_visible()
    assert in_app_row(worker, "contact", contact_id) is None  # never on the server: gone
    assert sync(worker)["pushed"] == 0


def alices_conflict(worker: Page, crm: httpx.Client, name: str) -> tuple[str, str]:
    """An account of alice's (sync filter `owned`) whose conflict (city: Nice here, Paris
    there) is open: its id and the conflict's id."""
    set_entity(crm, "account", sync_filter="owned")
    record_id = office_account(crm, name=name, city="Lyon", phone="100")
    assign(crm, record_id, "alice")
    download(worker)
    office_edit(crm, record_id, city="Paris")
    phone_edit(worker, record_id, city="Nice")
    assert sync(worker)["conflicts"] == 1
    [entry] = journal(crm, status="open")
    return record_id, entry["id"]


def assign(crm: httpx.Client, record_id: str, owner: str) -> None:
    given = crm.post(f"/v1/entities/account/records/{record_id}/assign", json={"owner": owner})
    assert given.status_code == 200, given.text


def test_a_conflict_superseded_while_its_record_is_bobs_waits_for_it_to_come_back(
    worker: Page, crm: httpx.Client
) -> None:
    record_id, conflict_id = alices_conflict(worker, crm, "Away Ltd")
    assign(crm, record_id, "bob")
    answer = crm.post(f"/v1/admin/conflicts/{conflict_id}/resolve", json={"use": "device"})
    new_id = answer.json()["error"]["details"]["conflict_id"]

    sync(worker)
    sync(worker)

    row = phone_record(worker, record_id)
    assert (row["conflict_id"], row["data"]["city"]) == (new_id, "Nice")
    assign(crm, record_id, "alice")
    sync(worker)
    assert phone_record(worker, record_id)["conflict_id"] == new_id
    open_errors(worker)
    worker.get_by_role("link", name=re.compile("Away Ltd")).click()
    worker.get_by_role("button", name="Use my version").click()
    sync(worker)  # the choice met the versions the reassignments wrote: asked again
    open_errors(worker)
    worker.get_by_role("link", name=re.compile("Away Ltd")).click()
    worker.get_by_role("button", name="Use my version").click()
    sync(worker)
    assert server_values(crm, record_id)["city"] == "Nice"


def test_an_edit_typed_before_a_resolution_and_a_trip_to_bob_keeps_the_whole_record(
    worker: Page, crm: httpx.Client
) -> None:
    record_id, conflict_id = alices_conflict(worker, crm, "Trip Ltd")
    with offline(worker):
        phone_edit(worker, record_id, phone="300")
        answer = crm.post(f"/v1/admin/conflicts/{conflict_id}/resolve", json={"use": "device"})
        assert answer.status_code == 200, answer.text
        resolved = server_values(crm, record_id)
        assign(crm, record_id, "bob")

    sync(worker)
    assign(crm, record_id, "alice")
    sync(worker)

    row = phone_record(worker, record_id)
    assert (row["data"], row["conflict_id"]) == ({**resolved, "phone": "300"}, None)
