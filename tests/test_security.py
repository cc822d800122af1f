"""Doors: login throttling, token lifetimes, scope over HTTP, headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import Server
from tests.helpers import journal, office_edit, set_entity, synced_account

from fieldsync.errors import TooManyRequests, Unauthorized
from fieldsync.server.throttle import LoginThrottle


def login(server: Server, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/auth/login", json={"username": username, "password": password}
    )


def test_five_wrong_passwords_lock_the_name_for_a_while(server: Server) -> None:
    for _ in range(5):
        assert login(server, "alice", "guess").status_code == 401
    locked = login(server, "alice", "secret")  # even the right password waits
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    assert login(server, "bob", "secret").status_code == 200  # others are not locked out


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wrong() -> str:
    raise Unauthorized("wrong username or password")


def test_the_lock_lifts_when_the_window_moves_on_and_a_success_clears_it() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_name=3, per_address=10, window=60, clock=clock)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            throttle.guard("alice", "10.0.0.1", wrong)
    with pytest.raises(TooManyRequests) as refused:
        throttle.guard("alice", "10.0.0.1", lambda: "alice")
    assert refused.value.retry_after == 60
    assert throttle.guard("alice", "10.0.0.2", lambda: "alice") == "alice"  # another address
    clock.now += 61
    assert throttle.guard("alice", "10.0.0.1", lambda: "alice") == "alice"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            throttle.guard("alice", "10.0.0.1", wrong)
    throttle.guard("alice", "10.0.0.1", lambda: "alice")  # clears the two failures
    for _ in range(2):
        with pytest.raises(Unauthorized):
            throttle.guard("alice", "10.0.0.1", wrong)
    assert throttle.guard("alice", "10.0.0.1", lambda: "alice") == "alice"


def test_one_address_guessing_many_names_is_locked_too() -> None:
    throttle = LoginThrottle(per_name=5, per_address=4, window=60, clock=Clock())
    for n in range(4):
        with pytest.raises(Unauthorized):
            throttle.guard(f"user{n}", "10.0.0.9", wrong)
    with pytest.raises(TooManyRequests):
        throttle.guard("someone-else", "10.0.0.9", lambda: "x")


def test_a_logged_out_token_is_dead(server: Server) -> None:
    token = login(server, "alice", "secret").json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/v1/project", headers=headers).status_code == 200
    assert httpx.post(f"{server.url}/v1/auth/logout", headers=headers).status_code == 204
    dead = httpx.get(f"{server.url}/v1/project", headers=headers)
    assert dead.status_code == 401
    assert dead.json()["error"]["code"] == "bad_token"


def test_an_expired_token_is_refused(server: Server) -> None:
    token = login(server, "alice", "secret").json()["token"]
    with server.db.write() as conn:
        conn.exec_driver_sql("UPDATE tokens SET expires_at = '2020-01-01T00:00:00.000Z'")
    expired = httpx.get(f"{server.url}/v1/project", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "token_expired"


def test_a_user_cannot_read_change_or_pull_records_outside_their_scope(
    server: Server, crm: httpx.Client
) -> None:
    crm.put("/v1/admin/entities/account", json={"sync_filter": "owned"})
    with server.client("bob") as bob:
        record_id = bob.post("/v1/entities/account/records", json={"name": "Bob's"}).json()["id"]
    with server.client("alice") as alice:
        assert alice.get(f"/v1/entities/account/records/{record_id}").status_code == 404
        patched = alice.patch(f"/v1/entities/account/records/{record_id}", json={"name": "Mine"})
        assert patched.status_code == 404
        assert alice.delete(f"/v1/entities/account/records/{record_id}").status_code == 404
        assert alice.get("/v1/entities/account/records").json()["records"] == []
        pulled = alice.get("/v1/sync/pull").json()["changes"]
        assert [c for c in pulled if c["id"] == record_id] == []
    assert crm.get(f"/v1/entities/account/records/{record_id}").json()["record"]["name"] == "Bob's"


def test_a_conflicts_status_never_shows_a_record_that_left_the_callers_scope(
    server: Server, crm: httpx.Client
) -> None:
    set_entity(crm, "account", on_conflict="user_action", sync_filter="owned")
    phone = server.device("phone", "alice")
    record_id = synced_account(phone)
    phone.update("account", record_id, {"city": "Kosice"})
    office_edit(crm, record_id, city="Zilina")
    phone.sync()
    [entry] = journal(crm, status="open")
    token = phone.store.get_meta("token")
    ask = {"device_id": phone.device_id, "ids": [entry["id"]]}

    def asked() -> dict[str, Any]:
        answer = httpx.post(
            f"{server.url}/v1/sync/conflicts",
            json=ask,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        [status] = answer.json()["conflicts"]
        assert "Bob's" not in answer.text
        return dict(status)

    assert asked()["record"]["city"] == "Zilina"  # alice's own record: she sees it
    assigned = crm.post(f"/v1/entities/account/records/{record_id}/assign", json={"owner": "bob"})
    assert assigned.status_code == 200, assigned.text
    with server.client("bob") as bob:
        office_edit(bob, record_id, city="Bob's city")
    status = asked()
    assert (status["status"], status["record"], status["deleted"]) == ("open", None, True)
    resolved = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
    assert resolved.status_code == 200, resolved.text
    status = asked()
    assert (status["status"], status["record"], status["deleted"]) == ("resolved", None, True)
    set_entity(crm, "account", sync_filter="none")
    assert asked()["record"] is None
    phone.sync()
    assert phone.get("account", record_id) is None
