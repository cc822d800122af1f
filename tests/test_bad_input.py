"""Bad input gets a clear 4xx JSON error and changes nothing; one bad change blocks no other."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import Server
from fieldsync.server import tombstones
from helpers import journal, office_edit, server_record, set_entity
from test_console import log_in


def new_id() -> str:
    return str(uuid.uuid4())


DEVICE_ID = new_id()


def change(entity: str = "account", op: str = "create", **kw: Any) -> dict[str, Any]:
    body = {"change_id": new_id(), "entity": entity, "id": new_id(), "op": op}
    body.setdefault("fields", {"name": "Acme"})
    return {**body, **kw}


def push(
    client: httpx.Client, *changes: dict[str, Any], batch_id: str | None = None
) -> httpx.Response:
    body = {"device_id": DEVICE_ID, "batch_id": batch_id or new_id(), "changes": list(changes)}
    return client.post("/v1/sync/push", json=body)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def nothing_written(crm: httpx.Client) -> bool:
    return crm.get("/v1/entities/account/records").json()["records"] == []


@pytest.fixture
def alice(server: Server) -> Iterator[httpx.Client]:
    with server.client("alice") as client:
        yield client


def test_malformed_json_is_400(crm: httpx.Client, alice: httpx.Client) -> None:
    response = alice.post(
        "/v1/sync/push",
        content=b'{"device_id": "d", "batch_id":',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "malformed_json")
    assert nothing_written(crm)


def test_json_that_no_record_can_hold_is_400(crm: httpx.Client, alice: httpx.Client) -> None:
    for value in (b"NaN", b"Infinity", b'"\\ud800"'):
        response = alice.post(
            "/v1/entities/account/records",
            content=b'{"name": "Acme", "revenue": ' + value + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400, "malformed_json")
    assert nothing_written(crm)


def test_a_change_id_in_capitals_is_stored_in_canonical_form(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    record_id = new_id()
    response = push(alice, change(id=record_id.upper()))
    assert response.json()["results"][0]["status"] == "applied"
    assert crm.get(f"/v1/entities/account/records/{record_id}").json()["record"]["name"] == "Acme"


def test_non_utf8_body_is_400(crm: httpx.Client, alice: httpx.Client) -> None:
    response = alice.post(
        "/v1/entities/account/records",
        content=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert nothing_written(crm)


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_token"), ({"Authorization": "Bearer nope"}, "bad_token")],
)
def test_missing_or_bad_token_is_401(server: Server, headers: dict[str, str], code: str) -> None:
    for method, path in [
        ("GET", "/v1/project"),
        ("GET", "/v1/sync/pull"),
        ("POST", "/v1/sync/push"),
    ]:
        response = httpx.request(method, server.url + path, headers=headers, json={})
        assert_error(response, 401, code)


def test_wrong_password_is_401(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/v1/auth/login", json={"username": "alice", "password": "x"}
    )
    assert_error(response, 401, "bad_credentials")


def test_a_user_cannot_reach_admin_endpoints(alice: httpx.Client) -> None:
    assert_error(alice.get("/v1/admin/conflicts"), 403, "admin_only")
    assert_error(
        alice.put("/v1/admin/entities/account", json={"on_conflict": "user_action"}),
        403,
        "admin_only",
    )


def test_rejected_changes_never_block_the_rest_of_the_batch(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    good = change(fields={"name": "Good"})
    bad = [
        change(entity="nosuch"),
        change(fields={"name": "A", "nosuch": 1}),
        change(fields={"name": "A", "employees": "many"}),
        change(fields={"name": None}),
        change(fields={"name": "A", "industry": "Space"}),
        change(fields={"name": "x" * 161}),
        change(op="update", base_version=1, fields={"name": "ghost"}),
    ]
    response = push(alice, *bad, good)
    assert response.status_code == 200
    results = response.json()["results"]
    codes = [r["error"]["code"] for r in results[:-1]]
    assert codes == [
        "unknown_entity",
        "unknown_field",
        "wrong_type",
        "required",
        "not_an_option",
        "too_long",
        "not_found",
    ]
    assert all(r["status"] == "rejected" for r in results[:-1])
    assert results[-1]["status"] == "applied"
    [stored] = crm.get("/v1/entities/account/records").json()["records"]
    assert stored["record"]["name"] == "Good"


def test_lookup_to_a_missing_or_rejected_parent(crm: httpx.Client, alice: httpx.Client) -> None:
    parent = change(fields={"name": None})  # rejected: name is required
    child = change(entity="contact", fields={"lastname": "Doe", "account": parent["id"]})
    orphan = change(entity="contact", fields={"lastname": "Roe", "account": new_id()})
    results = push(alice, parent, child, orphan).json()["results"]
    assert [r["error"]["code"] for r in results] == [
        "required",
        "parent_rejected",
        "missing_parent",
    ]


def test_a_child_may_point_at_a_parent_created_earlier_in_the_batch(alice: httpx.Client) -> None:
    parent = change(fields={"name": "Parent"})
    child = change(entity="contact", fields={"lastname": "Doe", "account": parent["id"]})
    results = push(alice, parent, child).json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]


def test_lookups_meet_the_records_the_server_holds_now(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    live = crm.post("/v1/entities/account/records", json={"name": "Live"}).json()["id"]
    gone = crm.post("/v1/entities/account/records", json={"name": "Gone"}).json()["id"]
    crm.delete(f"/v1/entities/account/records/{gone}")
    later = change(fields={"name": "Pushed after its child"})
    existing = change(id=live, fields={"name": "Same id"})
    changes = [
        change(entity="contact", fields={"lastname": "A", "account": live}),
        change(entity="contact", fields={"lastname": "B", "account": live}),
        change(entity="contact", fields={"lastname": "C", "account": gone}),
        change(entity="contact", fields={"lastname": "D", "account": 'a"b\\c,{d}'}),
        change(entity="contact", fields={"lastname": "E", "account": later["id"]}),
        later,
        existing,
    ]
    results = push(alice, *changes).json()["results"]
    assert [r["status"] for r in results[:2]] == ["applied", "applied"]
    assert [r["error"]["code"] for r in results[2:5]] == [
        "parent_deleted",
        "wrong_type",
        "missing_parent",  # parents come before their children
    ]
    assert results[5]["status"] == "applied"
    assert results[6]["error"]["code"] == "already_exists"
    assert server_record(crm, live)["record"]["name"] == "Live"
    assert server_record(crm, changes[0]["id"], "contact")["record"]["account"] == live


OBJECT = "must be an object of field values"


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (lambda c: c.update(id="not-a-uuid"), "id", "id must be a UUID"),
        (lambda c: c.update(id=42), "id", "id must be a UUID"),
        (lambda c: c.update(op="upsert"), "op", "'create', 'update' or 'delete'"),
        (lambda c: c.update(surprise=True), "surprise", "Extra inputs are not permitted"),
        (lambda c: c.update(base_version=-1), "base_version", "greater than or equal to 0"),
        (lambda c: c.update(fields=["name", "Acme"]), "fields", OBJECT),
        (lambda c: c.update(fields=None), "fields", OBJECT),
        (lambda c: c.update(record="Acme"), "record", OBJECT),
        (lambda c: c.update(base=[]), "base", OBJECT),
        (lambda c: c.update(merged_from=7), "merged_from", OBJECT),
    ],
)
def test_malformed_changes_refuse_the_whole_batch(
    crm: httpx.Client, alice: httpx.Client, mutate: Any, where: str, problem: str
) -> None:
    bad = change()
    mutate(bad)
    response = push(alice, change(), bad)
    assert_error(response, 422, "invalid_request")
    [details] = response.json()["error"]["details"]
    assert details["where"] == f"body.changes.1.{where}"
    assert problem in details["problem"]
    assert nothing_written(crm)


def test_a_merge_without_the_record_it_was_made_of_is_rejected(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action")
    created = change(fields={"name": "Acme", "city": "Bratislava"})
    [result] = push(alice, created).json()["results"]
    office_edit(crm, created["id"], city="Zilina")
    edit = {"op": "update", "base_version": result["version"], "fields": {"city": "Kosice"}}
    [opened] = push(alice, {**created, **edit, "change_id": new_id()}).json()["results"]
    assert opened["status"] == "conflict"
    merge = {
        **created,
        **edit,
        "change_id": new_id(),
        "base_version": opened["version"],
        "record": {"name": "Acme", "city": "Kosice"},
        "resolves": opened["conflict_id"],
        "resolution": "merge",
    }
    [rejected] = push(alice, merge).json()["results"]
    assert rejected["status"] == "rejected"
    assert rejected["error"]["code"] == "merge_without_original"
    assert server_record(crm, created["id"])["record"]["city"] == "Zilina"
    assert journal(crm, status="open")[0]["id"] == opened["conflict_id"]


def test_duplicate_change_ids_refuse_the_batch(crm: httpx.Client, alice: httpx.Client) -> None:
    first = change()
    second = change(change_id=first["change_id"])
    assert_error(push(alice, first, second), 422, "duplicate_change")
    assert nothing_written(crm)


def test_a_batch_over_the_limit_is_413(crm: httpx.Client, alice: httpx.Client) -> None:
    changes = [change() for _ in range(5_001)]
    assert_error(push(alice, *changes), 413, "batch_too_large")
    assert nothing_written(crm)


def test_a_body_over_10_mb_is_413(crm: httpx.Client, alice: httpx.Client) -> None:
    huge = change(fields={"name": "A", "description": "x" * (11 * 1024 * 1024)})
    assert_error(push(alice, huge), 413, "body_too_large")
    assert nothing_written(crm)


def test_a_reused_batch_id_with_other_changes_is_409(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    batch_id = new_id()
    assert push(alice, change(fields={"name": "First"}), batch_id=batch_id).status_code == 200
    assert_error(
        push(alice, change(fields={"name": "Other"}), batch_id=batch_id), 409, "batch_id_reused"
    )
    names = [r["record"]["name"] for r in crm.get("/v1/entities/account/records").json()["records"]]
    assert names == ["First"]


def test_stale_if_match_is_412_and_changes_nothing(crm: httpx.Client) -> None:
    created = crm.post("/v1/entities/account/records", json={"name": "Acme"})
    etag = created.headers["ETag"]
    record_id = created.json()["id"]
    assert (
        crm.patch(
            f"/v1/entities/account/records/{record_id}",
            json={"city": "A"},
            headers={"If-Match": etag},
        ).status_code
        == 200
    )
    stale = crm.patch(
        f"/v1/entities/account/records/{record_id}", json={"city": "B"}, headers={"If-Match": etag}
    )
    assert_error(stale, 412, "version_mismatch")
    assert_error(
        crm.delete(f"/v1/entities/account/records/{record_id}", headers={"If-Match": etag}),
        412,
        "version_mismatch",
    )
    assert server_record(crm, record_id)["record"]["city"] == "A"


def test_records_api_validates_like_a_push(crm: httpx.Client) -> None:
    assert_error(
        crm.post("/v1/entities/account/records", json={"name": "A", "x": 1}), 422, "unknown_field"
    )
    assert_error(
        crm.post("/v1/entities/account/records", json={"name": "A", "active": "yes"}),
        422,
        "wrong_type",
    )
    assert_error(crm.post("/v1/entities/account/records", json={"city": "A"}), 422, "required")
    assert_error(
        crm.post("/v1/entities/account/records", json=["not", "an", "object"]),
        422,
        "invalid_request",
    )
    assert_error(crm.get("/v1/entities/nosuch/records"), 404, "unknown_entity")
    assert_error(
        crm.post("/v1/entities/account/records", json={"name": "A", "id": "bad"}), 400, "bad_id"
    )
    assert nothing_written(crm)


@pytest.mark.parametrize(
    ("cursor", "status", "code"),
    [
        ("-1", 400, "bad_cursor"),
        ("abc", 400, "bad_cursor"),
        ("99999", 400, "bad_cursor"),
        ("{epoch}.-1", 400, "bad_cursor"),
        ("{epoch}.99999", 410, "resync_required"),  # newer than anything the server issued
        ("0badcafe.1", 410, "resync_required"),  # another history: a restored backup
    ],
)
def test_bad_or_future_cursors(alice: httpx.Client, cursor: str, status: int, code: str) -> None:
    epoch = alice.get("/v1/sync/pull").json()["cursor"].split(".")[0]
    response = alice.get("/v1/sync/pull", params={"cursor": cursor.format(epoch=epoch)})
    assert_error(response, status, code)


def test_bad_entity_settings_are_422_and_change_nothing(crm: httpx.Client) -> None:
    assert_error(
        crm.put("/v1/admin/entities/account", json={"on_conflict": "coin_flip"}),
        422,
        "invalid_request",
    )
    assert_error(
        crm.put("/v1/admin/entities/nosuch", json={"on_conflict": "user_action"}),
        404,
        "unknown_entity",
    )
    bad_field = {"fields": [{"name": "x", "type": "lookup", "target": "nosuch"}]}
    assert_error(crm.put("/v1/admin/entities/account", json=bad_field), 422, "invalid_setting")
    assert crm.get("/v1/project").json()["version"] == 1


def test_a_none_filtered_entity_is_not_synchronized(crm: httpx.Client, alice: httpx.Client) -> None:
    set_entity(crm, "appointment", sync_filter="none")
    [result] = push(alice, change(entity="appointment", fields={"subject": "Visit"})).json()[
        "results"
    ]
    assert result["error"]["code"] == "entity_not_synced"
    assert journal(crm) == []


def rejection(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "rejected"
    return dict(result["error"])


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "A", "phone": {"a": [[[[[[[[[[{"b": 1}]]]]]]]]]]}}, "wrong_type"),
        ({"name": "A", "phone": "9" * 1_000_000}, "too_long"),
        ({"name": "A", 'phone"; DROP TABLE records; --': "1"}, "unknown_field"),
        ({"name": "A", "industry": "Retail' OR '1'='1"}, "not_an_option"),
        ({"name": "A", "revenue": "1e309"}, "wrong_type"),
    ],
    ids=["deeply-nested", "huge-string", "sql-field-name", "sql-option", "number-as-text"],
)
def test_hostile_values_are_rejected_and_change_nothing(
    crm: httpx.Client, alice: httpx.Client, fields: dict[str, Any], code: str
) -> None:
    assert rejection(push(alice, change(fields=fields)))["code"] == code
    assert nothing_written(crm)


def test_a_sql_looking_entity_name_is_refused_and_the_tables_stay(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    entity = "account; DROP TABLE records; --"
    assert rejection(push(alice, change(entity=entity[:64])))["code"] == "unknown_entity"
    listed = crm.get("/v1/entities/account' OR '1'='1/records")
    assert_error(listed, 404, "unknown_entity")
    assert push(alice, change(fields={"name": "Still here"})).status_code == 200
    assert len(crm.get("/v1/entities/account/records").json()["records"]) == 1


@pytest.mark.parametrize(
    ("record_id", "status", "code"),
    [
        ("1 OR 1=1", 404, "unknown_record"),
        ("..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
        ("x" * 5000, 404, "unknown_record"),
        ('a"b\\c,{d}', 404, "unknown_record"),
        ("NULL", 404, "unknown_record"),
        ("%00", 400, "nul_character"),
    ],
)
def test_odd_record_ids_in_the_records_api(
    crm: httpx.Client, record_id: str, status: int, code: str
) -> None:
    assert_error(crm.get(f"/v1/entities/account/records/{record_id}"), status, code)


@pytest.mark.parametrize(
    "fields",
    [{"name": "Nul\x00byte"}, {"name": "A", "description": "x" * 70_000 + "\x00"}],
    ids=["short", "split-across-chunks"],
)
def test_nul_characters_are_refused_on_every_backend(
    server: Server, crm: httpx.Client, alice: httpx.Client, fields: dict[str, str]
) -> None:
    assert_error(push(alice, change(fields=fields)), 400, "nul_character")
    assert_error(alice.get("/v1/sync/pull", params={"device_id": "d\x00"}), 400, "nul_character")
    login = {"username": "al\x00ice", "password": "secret"}
    assert_error(httpx.post(f"{server.url}/v1/auth/login", json=login), 400, "nul_character")
    assert nothing_written(crm)


@pytest.mark.parametrize(
    "media_type",
    ["application/x+json", "application/vnd.api+json", "Application/JSON; charset=utf-8"],
)
def test_nul_characters_are_refused_under_every_json_media_type(
    server: Server, crm: httpx.Client, media_type: str
) -> None:
    device = server.device("phone", "alice")
    token = device.store.get_meta("token")
    headers = {"Content-Type": media_type, "Authorization": f"Bearer {token}"}
    bodies = {
        "/v1/auth/login": {"username": "al\x00ice", "password": "secret"},
        "/v1/entities/account/records": {"name": "Nul\x00byte"},
        "/v1/sync/push": {
            "device_id": device.device_id,
            "batch_id": new_id(),
            "changes": [change(fields={"name": "Nul\x00byte"})],
        },
        "/v1/sync/conflicts": {"device_id": device.device_id, "ids": ["a\x00"]},
    }
    with httpx.Client(base_url=server.url, headers=headers) as client:
        for path, body in bodies.items():
            sent = client.post(path, content=json.dumps(body).encode())
            assert_error(sent, 400, "nul_character")
    assert nothing_written(crm)


@pytest.mark.parametrize("offset", [2**63, 10**30])
def test_an_offset_past_any_listing_is_refused(crm: httpx.Client, offset: int) -> None:
    for path in ("/v1/entities/account/records", "/v1/admin/conflicts"):
        assert_error(crm.get(path, params={"offset": offset}), 422, "invalid_request")


def test_a_base_version_past_64_bits_is_refused(crm: httpx.Client, alice: httpx.Client) -> None:
    record_id = crm.post("/v1/entities/account/records", json={"name": "Acme"}).json()["id"]
    update = change(op="update", id=record_id, base_version=2**63, fields={"name": "Mine"})
    assert_error(push(alice, update), 422, "invalid_request")
    assert server_record(crm, record_id)["record"]["name"] == "Acme"


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, -(2**63) - 1, 10**30])
def test_an_integer_past_64_bits_is_refused_with_its_field(
    crm: httpx.Client, alice: httpx.Client, value: int
) -> None:
    pushed = rejection(push(alice, change(fields={"name": "A", "employees": value})))
    assert pushed["code"] == "out_of_range"
    assert pushed["details"]["field"] == "employees"
    created = crm.post("/v1/entities/account/records", json={"name": "A", "employees": value})
    assert created.status_code == 422, created.text
    assert created.json()["error"]["details"]["field"] == "employees"
    assert nothing_written(crm)
    record_id = crm.post("/v1/entities/account/records", json={"name": "B"}).json()["id"]
    patched = crm.patch(f"/v1/entities/account/records/{record_id}", json={"employees": value})
    assert patched.status_code == 422, patched.text
    assert patched.json()["error"]["code"] == "out_of_range"
    assert server_record(crm, record_id)["record"]["employees"] is None


def test_the_largest_64_bit_integers_are_kept(crm: httpx.Client) -> None:
    for value in (2**63 - 1, -(2**63)):
        created = crm.post("/v1/entities/account/records", json={"name": "A", "employees": value})
        assert created.json()["record"]["employees"] == value


def test_the_console_refuses_offsets_and_integers_past_64_bits(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    for path in ("/admin/records/account", "/admin/conflicts", "/admin/devices"):
        shown = page.goto(f"{server.url}{path}?offset={2**63}")
        assert shown is not None
        assert shown.status == 422
    page.goto(f"{server.url}/admin/records/account/new")
    page.get_by_label("Name").fill("Acme")
    page.get_by_label("Employees").fill(str(2**63))
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("account.employees")
    assert nothing_written(crm)
    page.goto(f"{server.url}/admin/entities/account")
    page.get_by_label("Max length of phone").fill("9" * 30)
    page.get_by_role("button", name="Save fields").click()
    expect(page.get_by_role("alert")).to_contain_text("max length of phone")
    assert crm.get("/v1/project").json()["version"] == 1


def test_the_base_of_an_edit_of_a_purged_record_is_checked_like_any_value(
    server: Server, crm: httpx.Client, alice: httpx.Client
) -> None:
    gone = crm.post("/v1/entities/account/records", json={"name": "Gone"}).json()["id"]
    crm.delete(f"/v1/entities/account/records/{gone}")
    with server.db.write() as conn:  # a cutoff just ahead: the delete is purged at once
        assert tombstones.vacuum(conn, timedelta(seconds=-1)).purged == 1
    stale = change(
        op="update",
        id=gone,
        base_version=1,
        fields={"city": "Kosice"},
        base={"name": "Gone", "employees": "many"},
    )
    set_entity(crm, "account", on_conflict="full_device_wins")
    [result] = push(alice, stale).json()["results"]
    assert (result["status"], result["error"]["code"]) == ("rejected", "wrong_type")
    assert nothing_written(crm)


def console_login_form(client: httpx.Client) -> str:
    """Open the console's login page (its cookie goes into `client`); returns its CSRF token."""
    shown = client.get("/admin/login")
    found = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert found is not None, shown.text
    return found.group(1)


def two_content_types(first: str) -> list[tuple[str, str]]:
    """Headers naming `first` as the media type, then `text/plain`."""
    return [("Content-Type", first), ("Content-Type", "text/plain")]


def test_nul_characters_are_refused_whatever_content_types_follow_the_first(
    server: Server, crm: httpx.Client
) -> None:
    device = server.device("phone", "alice")
    token = device.store.get_meta("token")
    bodies = {
        ("POST", "/v1/auth/login"): {"username": "al\x00ice", "password": "secret"},
        ("POST", "/v1/auth/login", "device"): {
            "username": "alice",
            "password": "secret",
            "device_id": "d\x00",
        },
        ("POST", "/v1/entities/account/records"): {"name": "x\x00dup"},
        ("POST", "/v1/sync/push"): {
            "device_id": device.device_id,
            "batch_id": new_id(),
            "changes": [change(fields={"name": "Nul\x00byte"})],
        },
        ("POST", "/v1/sync/push", "batch"): {
            "device_id": device.device_id,
            "batch_id": "b\x00",
            "changes": [change()],
        },
        ("POST", "/v1/sync/conflicts"): {"device_id": device.device_id, "ids": ["a\x00"]},
        ("PUT", "/v1/admin/entities/account"): {"label": "Acc\x00"},
    }
    admin_token = crm.headers["Authorization"]
    for (method, path, *_), body in bodies.items():
        who = admin_token if "admin" in path else f"Bearer {token}"
        sent = httpx.request(
            method,
            server.url + path,
            content=json.dumps(body).encode(),
            headers=[*two_content_types("application/json"), ("Authorization", who)],
        )
        assert_error(sent, 400, "nul_character")
    assert nothing_written(crm)
    assert crm.get("/v1/project").json()["version"] == 1
    with httpx.Client(base_url=server.url) as browser:
        form = f"username=al%00ice&password=x&csrf={console_login_form(browser)}"
        sent = browser.post(
            "/admin/login",
            content=form.encode(),
            headers=two_content_types("application/x-www-form-urlencoded"),
        )
        assert_error(sent, 400, "nul_character")


def test_a_raw_nul_byte_in_a_console_form_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url) as browser:
        form = f"username=al\x00ice&password=x&csrf={console_login_form(browser)}"
        sent = browser.post(
            "/admin/login",
            content=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_error(sent, 400, "nul_character")


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(crm: httpx.Client) -> None:
    created = crm.post(
        "/v1/entities/account/records",
        content=b'{"name": "C:\\\\u0000dir"}',
        headers={"Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert server_record(crm, created.json()["id"])["record"]["name"] == "C:\\u0000dir"
    for escaped in (b'"C:\\\\\\u0000dir"', b'"\\u0000"'):  # a backslash, then a real NUL
        refused = crm.post(
            "/v1/entities/account/records",
            content=b'{"name": ' + escaped + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert_error(refused, 400, "nul_character")


def entity_fields(crm: httpx.Client, name: str) -> list[dict[str, Any]]:
    entities = crm.get("/v1/project").json()["entities"]
    return list(next(e for e in entities if e["name"] == name)["fields"])


def nested(depth: int) -> bytes:
    """A JSON value nested `depth` arrays deep."""
    return b"[" * depth + b"1" + b"]" * depth


@pytest.mark.parametrize("where", ["fields", "record", "base"])
def test_a_push_with_a_value_nested_past_any_record_is_refused(
    crm: httpx.Client, alice: httpx.Client, where: str
) -> None:
    record_id = crm.post("/v1/entities/account/records", json={"name": "Acme"}).json()["id"]
    update = change(op="update", id=record_id, base_version=1, fields={"name": "Mine"})
    update[where] = {"name": "Mine", "phone": "__nested__"}
    for depth, status in ((254, 400), (1000, 400), (100, 200)):
        body = json.dumps({"device_id": DEVICE_ID, "batch_id": new_id(), "changes": [update]})
        sent = alice.post(
            "/v1/sync/push",
            content=body.encode().replace(b'"__nested__"', nested(depth)),
            headers={"Content-Type": "application/json"},
        )
        if status == 400:
            assert_error(sent, 400, "malformed_json")
        else:
            assert rejection(sent)["code"] == "wrong_type"
    assert server_record(crm, record_id)["record"]["name"] == "Acme"
    assert journal(crm) == []


def test_the_records_and_admin_apis_refuse_deeply_nested_values(crm: httpx.Client) -> None:
    for depth, status, code in ((1000, 400, "malformed_json"), (200, 422, "wrong_type")):
        sent = crm.post(
            "/v1/entities/account/records",
            content=b'{"name": ' + nested(depth) + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert_error(sent, status, code)
    fields = entity_fields(crm, "account")
    for field in fields:
        if field["name"] == "industry":
            field["options"] = [*field["options"], "__nested__"]
    body = json.dumps({"fields": fields}).encode()
    sent = crm.put(
        "/v1/admin/entities/account",
        content=body.replace(b'"__nested__"', nested(1000)),
        headers={"Content-Type": "application/json"},
    )
    assert_error(sent, 400, "malformed_json")
    assert nothing_written(crm)
    assert crm.get("/v1/project").json()["version"] == 1


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30])
def test_an_integer_a_json_decoder_makes_a_float_of_is_out_of_range(
    crm: httpx.Client, alice: httpx.Client, value: int
) -> None:
    pushed = rejection(push(alice, change(fields={"name": "A", "employees": value})))
    assert (pushed["code"], pushed["details"]["field"]) == ("out_of_range", "employees")
    created = crm.post("/v1/entities/account/records", json={"name": "A", "employees": value})
    assert_error(created, 422, "out_of_range")
    assert nothing_written(crm)


def test_a_boolean_or_a_float_is_no_whole_number_of_the_wire(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    fields = entity_fields(crm, "contact")
    for bad in (True, 12.0):
        edited = [{**f, "max_length": bad} if f["name"] == "firstname" else f for f in fields]
        sent = crm.put("/v1/admin/entities/contact", json={"fields": edited})
        assert_error(sent, 422, "invalid_setting")
    assert crm.get("/v1/project").json()["version"] == 1
    record_id = crm.post("/v1/entities/account/records", json={"name": "Acme"}).json()["id"]
    for bad in (True, 1.0):
        update = change(op="update", id=record_id, base_version=bad, fields={"name": "Mine"})
        assert_error(push(alice, update), 422, "invalid_request")
    assert server_record(crm, record_id)["record"]["name"] == "Acme"


def test_the_base_of_a_change_keeps_only_single_values_of_the_entitys_fields(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    record_id = crm.post("/v1/entities/account/records", json={"name": "Acme"}).json()["id"]
    crm.patch(f"/v1/entities/account/records/{record_id}", json={"name": "Office"})
    for base, code in (
        ({"name": "Acme", "phone": ["1"]}, "wrong_type"),
        ({"name": "Acme", "phone": {"a": 1}}, "wrong_type"),
        ({"name": "Acme", "description": "x" * 100_001}, "too_long"),
    ):
        stale = change(op="update", id=record_id, base_version=1, fields={"city": "A"}, base=base)
        refused = rejection(push(alice, stale))
        assert refused["code"] == code
        assert refused["details"]["field"] in base
    assert journal(crm) == []
    odd = {"name": "Acme", "<img src=x>": "1", "dropped_since": 2}
    stale = change(op="update", id=record_id, base_version=1, fields={"name": "Mine"}, base=odd)
    [result] = push(alice, stale).json()["results"]
    assert result["status"] == "server_wins"
    [entry] = journal(crm)
    assert entry["base"] is not None
    assert "<img src=x>" not in entry["base"]
    assert "dropped_since" not in entry["base"]


def test_the_console_takes_only_ascii_digits_for_a_whole_number(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    log_in(page, server.url)
    # full-width 12, Arabic-Indic 3: int() takes both
    for typed in ("\uff11\uff12", "\u0663", "1_000", "1.0"):
        page.goto(f"{server.url}/admin/records/account/new")
        page.get_by_label("Name").fill("Acme")
        page.get_by_label("Employees").fill(typed)
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("alert")).to_contain_text("must be a number")
    assert nothing_written(crm)
    page.goto(f"{server.url}/admin/entities/account")
    page.get_by_label("Max length of phone").fill("\uff15\uff10")
    page.get_by_role("button", name="Save fields").click()
    expect(page.get_by_role("alert")).to_contain_text("max length of phone")
    assert crm.get("/v1/project").json()["version"] == 1
    page.goto(f"{server.url}/admin/records/account/new")
    page.get_by_label("Name").fill("Acme")
    page.get_by_label("Employees").fill(" -12 ")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("Record created.")
    [created] = crm.get("/v1/entities/account/records").json()["records"]
    assert created["record"]["employees"] == -12
