"""Doors: login throttling, passwords, token lifetimes and revocation, devices, scope."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from conftest import Server, stopped
from fieldsync.cli.main import app
from fieldsync.device import Device, address
from fieldsync.errors import (
    CertificateRejected,
    ServerRefused,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from fieldsync.server import password_hashes, users
from fieldsync.server.background import free_port, running, spawn
from fieldsync.server.db import Database
from fieldsync.server.schema import devices
from fieldsync.server.throttle import LoginThrottle
from helpers import journal, log_in, office_edit, one_backend, set_entity, synced_account

runner = CliRunner()


def login(
    server: Server | str, username: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    url = server if isinstance(server, str) else server.url
    body = {"username": username, "password": password}
    return httpx.post(f"{url}/v1/auth/login", json=body, headers=headers)


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
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def wrong() -> str:
    raise Unauthorized("wrong username or password")


def test_each_attempt_past_the_free_ones_waits_twice_as_long_up_to_a_cap(server: Server) -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
    waits = []
    for _ in range(7):
        with pytest.raises(TooManyRequests) as refused:
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
        waits.append(refused.value.retry_after)
        clock.now += refused.value.retry_after
        with pytest.raises(Unauthorized):
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
    assert waits == [30, 60, 120, 240, 480, 900, 900]
    elsewhere = throttle.guard(server.db, "alice", "10.0.0.2", lambda: "alice")
    assert elsewhere == "alice"  # another address may still try
    clock.now += 900
    assert throttle.guard(server.db, "alice", "10.0.0.1", lambda: "alice") == "alice"
    for _ in range(4):  # the success cleared the count: five are free again
        with pytest.raises(Unauthorized):
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
    assert throttle.guard(server.db, "alice", "10.0.0.1", lambda: "alice") == "alice"


def test_one_address_obeying_retry_after_cannot_lock_the_name_out_everywhere(
    server: Server,
) -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
    for _ in range(20):  # each further guess after the wait it was told
        with pytest.raises(TooManyRequests) as refused:
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
        clock.now += refused.value.retry_after
        with pytest.raises(Unauthorized):
            throttle.guard(server.db, "alice", "10.0.0.1", wrong)
    assert throttle.guard(server.db, "alice", "10.0.0.2", lambda: "alice") == "alice"


def test_a_login_checked_before_a_password_change_gets_no_token(server: Server) -> None:
    with server.db.read() as conn:  # the login's check, as the API runs it
        checked = users.check_password(conn, "alice", "secret")
    with server.db.write() as conn:
        users.set_password(conn, checked.user_id, "a fresh passphrase")
    with pytest.raises(Unauthorized) as refused, server.db.write() as conn:
        users.issue_token(conn, checked, None)
    assert refused.value.code == "bad_credentials"
    assert login(server, "alice", "secret").status_code == 401
    assert login(server, "alice", "a fresh passphrase").status_code == 200


def test_a_login_checked_before_the_user_is_disabled_gets_no_token(server: Server) -> None:
    with server.db.read() as conn:
        checked = users.check_password(conn, "alice", "secret")
    with server.db.write() as conn:
        users.set_disabled(conn, checked.user_id, True)
    with pytest.raises(Unauthorized), server.db.write() as conn:
        users.issue_token(conn, checked, None)


def test_a_right_password_clears_the_names_failures(server: Server) -> None:
    for _ in range(2):
        for _ in range(4):
            assert login(server, "alice", "guess").status_code == 401
        assert login(server, "alice", "secret").status_code == 200


def statuses(urls: list[str], bodies: list[dict[str, str]], **headers: str) -> Counter[int]:
    """The answers to logins sent all at once, one thread each, spread over `urls`."""
    start = threading.Barrier(len(bodies))

    def attempt(n: int) -> int:
        start.wait()
        url = urls[n % len(urls)]
        answer = httpx.post(f"{url}/v1/auth/login", json=bodies[n], headers=headers, timeout=60)
        if answer.status_code in (429, 503):
            assert int(answer.headers["Retry-After"]) > 0
        return answer.status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        return Counter(pool.map(attempt, range(len(bodies))))


GUESSES = [{"username": "alice", "password": f"guess {n}"} for n in range(40)]


def test_forty_parallel_guesses_get_no_more_than_five_passwords_checked(server: Server) -> None:
    answers = statuses([server.url], GUESSES)
    assert set(answers) <= {401, 429, 503}
    assert answers[401] <= 5
    assert answers[429] >= 30
    assert login(server, "alice", "secret").status_code == 429
    assert login(server, "bob", "secret").status_code == 200


def test_parallel_logins_with_the_right_password_all_get_in(server: Server) -> None:
    names = ["admin"] * 5 + ["alice", "alice", "bob"]
    bodies = [{"username": name, "password": "secret"} for name in names]
    assert statuses([server.url], bodies) == {200: len(bodies)}


def test_two_server_processes_share_one_limit(two_processes: list[str]) -> None:
    answers = statuses(two_processes, GUESSES)
    assert set(answers) <= {401, 429, 503}
    assert answers[401] <= 5


def test_x_forwarded_for_is_ignored_by_default(server: Server) -> None:
    for n in range(5):
        rotated = {"X-Forwarded-For": f"10.0.0.{n}"}
        assert login(server, "alice", "guess", rotated).status_code == 401
    assert login(server, "alice", "guess", {"X-Forwarded-For": "10.0.0.99"}).status_code == 429


@contextmanager
def spawned(db: Database, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`fieldsync serve` with `options` (and `env`) in a child process over `db`."""
    process, url = spawn(db.url, *options, env=env)
    try:
        yield url
    finally:
        process.terminate()
        stopped(process)


def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    backend_db: Database,
) -> None:
    with spawned(backend_db, "--forwarded-allow-ips", "127.0.0.1") as url:
        guesser, colleague = {"X-Forwarded-For": "10.0.0.1"}, {"X-Forwarded-For": "10.0.0.2"}
        for _ in range(5):
            assert login(url, "alice", "guess", guesser).status_code == 401
        assert login(url, "alice", "secret", guesser).status_code == 429
        assert login(url, "alice", "secret", colleague).status_code == 200
    with spawned(backend_db, "--forwarded-allow-ips", "10.9.9.9") as url:  # not us
        for n in range(5):
            assert login(url, "bob", "guess", {"X-Forwarded-For": f"10.0.1.{n}"}).status_code == 401
        assert login(url, "bob", "secret", {"X-Forwarded-For": "10.0.1.99"}).status_code == 429


def test_an_address_full_of_failures_still_lets_in_a_name_nobody_guessed_from_it(
    server: Server,
) -> None:
    sprayed = [{"username": f"user{n}", "password": "guess"} for n in range(50)]
    for lot in range(0, 50, 4):  # no more at once than one process checks
        assert statuses([server.url], sprayed[lot : lot + 4]) == {401: len(sprayed[lot : lot + 4])}
    assert login(server, "bob", "secret").status_code == 200
    assert login(server, "admin", "secret").status_code == 200
    assert login(server, "user0", "guess").status_code == 429  # guessed at from here already


def test_password_checks_past_the_process_bound_are_answered_busy(backend_db: Database) -> None:
    strangers = [{"username": f"stranger{n}", "password": "guess"} for n in range(20)]
    production_hashes = {password_hashes.CHEAP_FOR_TESTS: "0"}  # checks that take their time
    with spawned(backend_db, "--login-concurrency", "1", env=production_hashes) as url:
        answers = statuses([url], strangers)
    assert set(answers) == {401, 503}


def test_password_hashes_are_argon2id_with_rfc_9106_parameters_unless_the_tests_ask() -> None:
    made = subprocess.run(
        [sys.executable, "-c", HASH_ONE],
        env={k: v for k, v in os.environ.items() if k != password_hashes.CHEAP_FOR_TESTS},
        capture_output=True,
        text=True,
        check=True,
    )
    assert made.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


HASH_ONE = "from fieldsync.server import password_hashes as p; print(p.hash_password('a phrase'))"


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


def test_a_password_set_in_the_console_signs_the_user_out_of_every_device(
    page: Page, server: Server
) -> None:
    phone = server.device("phone", "alice")
    with server.client("alice") as api:
        assert api.get("/v1/project").status_code == 200
        record_id = phone.create("account", {"name": "Written offline"})
        log_in(page, server.url)
        page.goto(f"{server.url}/admin/users")
        page.get_by_label("New password for alice").fill("a fresh passphrase")
        page.locator("#user-alice").get_by_role("button", name="Set").click()
        expect(page.get_by_role("status")).to_contain_text("Password changed")
        assert api.get("/v1/project").json()["error"]["code"] == "bad_token"
    with pytest.raises(ServerRefused, match="401"):
        phone.sync()
    assert phone.unsynced() == 1  # the edit waits on the device
    phone = Device.login(phone.directory, server.url, "alice", "a fresh passphrase")
    phone.sync()
    with server.client("admin") as crm:
        stored = crm.get(f"/v1/entities/account/records/{record_id}").json()
    assert stored["record"]["name"] == "Written offline"


def test_fieldsync_user_passwd_ends_the_users_console_sessions_too(
    page: Page, server: Server
) -> None:
    log_in(page, server.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    changed = runner.invoke(
        app, ["user", "passwd", "admin", "--password", "a fresh passphrase", "--db", server.db.url]
    )
    assert changed.exit_code == 0, changed.output
    assert "revoked 1 token" in changed.output
    page.goto(f"{server.url}/admin/users")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    assert login(server, "admin", "a fresh passphrase").status_code == 200


def test_pull_refuses_another_users_device_from_the_first_page(
    server: Server, crm: httpx.Client
) -> None:
    tablet = server.device("tablet", "bob")
    for n in range(3):
        crm.post("/v1/entities/account/records", json={"name": f"Account {n}"})
    tablet.sync()
    with server.client("alice") as alice:
        query = {"device_id": tablet.device_id, "limit": 1, "skip_own": True}
        refused = alice.get("/v1/sync/pull", params=query)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "foreign_device"


def test_a_user_registers_at_most_twenty_devices_until_an_admin_removes_one(
    server: Server, crm: httpx.Client
) -> None:
    def phone_login(device_id: str) -> httpx.Response:
        body = {"username": "alice", "password": "secret", "device_id": device_id}
        return httpx.post(f"{server.url}/v1/auth/login", json=body)

    phones = [str(uuid.uuid4()) for _ in range(21)]
    for phone in phones[:20]:
        assert phone_login(phone).status_code == 200
    refused = phone_login(phones[20])
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_devices"
    assert "an admin can remove old ones" in refused.json()["error"]["message"]
    squatted = str(uuid.uuid4())
    with server.client("alice") as alice:
        pushed = alice.post(
            "/v1/sync/push", json={"device_id": squatted, "batch_id": "b1", "changes": []}
        )
        assert pushed.status_code == 409
        pulled = alice.get("/v1/sync/pull", params={"device_id": squatted})
        assert pulled.status_code == 409
    assert crm.delete(f"/v1/admin/devices/{phones[0]}").status_code == 204
    assert phone_login(phones[20]).status_code == 200
    ids = {d["id"] for d in crm.get("/v1/admin/devices").json()["devices"]}
    assert phones[0] not in ids
    assert len(ids) == 20


NOT_UUIDS = ["a/b", "..", "q?x=1", "<b>x</b>", "PHONE-1", "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"]


@pytest.mark.parametrize("device_id", NOT_UUIDS)
def test_a_device_id_that_is_not_a_lowercase_uuid_is_refused_everywhere(
    server: Server, crm: httpx.Client, device_id: str
) -> None:
    body = {"username": "alice", "password": "secret", "device_id": device_id}
    answers = [httpx.post(f"{server.url}/v1/auth/login", json=body)]
    with server.client("alice") as alice:
        push = {"device_id": device_id, "batch_id": "b1", "changes": []}
        answers.append(alice.post("/v1/sync/push", json=push))
        answers.append(alice.get("/v1/sync/pull", params={"device_id": device_id}))
        asked = {"device_id": device_id, "ids": []}
        answers.append(alice.post("/v1/sync/conflicts", json=asked))
    for answer in answers:
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_request"
        assert "a device id must be a UUID" in str(error["details"])
    assert crm.get("/v1/admin/devices").json()["devices"] == []


def test_the_console_lists_devices_a_page_at_a_time_and_removes_one(
    page: Page, server: Server
) -> None:
    with server.db.write() as conn:
        alice = conn.execute(sa.text("SELECT id FROM users WHERE username = 'alice'")).scalar()
        rows = [
            {"id": f"device-{n:02}", "user_id": alice, "created_at": f"2026-01-01T00:00:{n:02}Z"}
            for n in range(60)
        ]
        conn.execute(sa.insert(devices), rows)
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/devices")
    listed = page.locator("table.devices tbody tr")
    expect(listed).to_have_count(50)
    page.get_by_role("link", name=re.compile("^later")).click()
    expect(listed).to_have_count(10)
    page.get_by_role("link", name="device-59").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove device").click()
    expect(page.get_by_role("status")).to_contain_text("Device removed")
    page.goto(f"{server.url}/admin/devices?offset=50")
    expect(listed).to_have_count(9)


WEAK = ["1234", "    ", "        ", "password1", "Qwertyuiop", "carol-the-great"]


def test_weak_passwords_are_refused_wherever_a_person_sets_one(
    page: Page, server: Server, crm: httpx.Client
) -> None:
    for password in WEAK:
        refused = crm.post("/v1/admin/users", json={"username": "carol", "password": password})
        assert refused.status_code == 422, password
        assert refused.json()["error"]["code"] == "weak_password"
    boss = {"username": "boss", "password": "boss", "role": "admin"}
    assert crm.post("/v1/admin/users", json=boss).status_code == 422
    listed = [u["username"] for u in crm.get("/v1/admin/users").json()["users"]]
    assert "carol" not in listed
    assert "boss" not in listed
    db = ["--db", server.db.url]
    added = runner.invoke(app, ["user", "add", "dave", "--password", "12345678", *db])
    assert added.exit_code == 1
    assert "commonly used" in added.output
    changed = runner.invoke(app, ["user", "passwd", "alice", "--password", "alice2026", *db])
    assert changed.exit_code == 1
    assert "must not contain the username" in changed.output
    log_in(page, server.url)
    page.goto(f"{server.url}/admin/users")
    add = page.locator("form", has=page.get_by_role("heading", name="Add a user"))
    add.get_by_label("Username").fill("erin")
    add.get_by_label("Password").fill("password1")
    add.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("alert")).to_contain_text("commonly used passwords")
    good = {"username": "carol", "password": "correct horse battery staple"}
    assert crm.post("/v1/admin/users", json=good).status_code == 201


def test_look_alike_usernames_are_refused(crm: httpx.Client) -> None:
    password = "correct horse battery staple"
    for name in ("ADMIN", "\uff41\uff4c\uff49\uff43\uff45"):  # upper case; full-width letters
        taken = crm.post("/v1/admin/users", json={"username": name, "password": password})
        assert taken.status_code == 409, name
        assert taken.json()["error"]["code"] == "user_exists"
    mixed = crm.post("/v1/admin/users", json={"username": "adm\u0456n", "password": password})
    assert mixed.status_code == 422  # a Cyrillic i among Latin letters
    assert "must not mix Cyrillic and Latin letters" in mixed.json()["error"]["message"]
    listed = [u["username"] for u in crm.get("/v1/admin/users").json()["users"]]
    assert sorted(listed) == ["admin", "alice", "bob"]


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
    stale = crm.post(f"/v1/admin/conflicts/{entry['id']}/resolve", json={"use": "server"})
    assert stale.status_code == 409, stale.text  # bob changed it since: met anew
    status = asked()
    assert (status["status"], status["record"], status["deleted"]) == ("superseded", None, True)
    ask["ids"] = [stale.json()["error"]["details"]["conflict_id"]]
    resolved = crm.post(f"/v1/admin/conflicts/{ask['ids'][0]}/resolve", json={"use": "server"})
    assert resolved.status_code == 200, resolved.text
    status = asked()
    assert (status["status"], status["record"], status["deleted"]) == ("resolved", None, True)
    set_entity(crm, "account", sync_filter="none")
    assert asked()["record"] is None
    phone.sync()
    assert phone.get("account", record_id) is None


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate it signed for 127.0.0.1: (CA, certificate, key)."""
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    for command in (
        f"req -x509 {key} -keyout ca.key -out ca.pem -days 2 -subj /CN=Test_CA"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
        f"req {key} -keyout server.key -out server.csr -subj /CN=127.0.0.1",
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem"
        " -days 2 -extfile server.ext",
    ):
        subprocess.run(
            ["openssl", *command.split()], cwd=directory, check=True, capture_output=True
        )
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


@one_backend
@pytest.mark.parametrize("scheme", ["HTTPS", "Https", "https"])
def test_a_device_verifies_the_servers_certificate_however_https_is_spelled(
    backend_db: Database, tmp_path: Path, scheme: str
) -> None:
    ca, cert, key = certificates(tmp_path)
    with running(backend_db, ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        spelled = url.replace("https", scheme, 1) + "/"
        with pytest.raises(CertificateRejected, match="certificate is not trusted"):
            Device.login(tmp_path / "phone", spelled, "alice", "secret")
        phone = Device.login(tmp_path / "phone", spelled, "alice", "secret", ca_file=ca)
        ca.unlink()  # the device keeps its own copy
        assert phone.store.get_meta("server") == url
        record_id = phone.create("account", {"name": "Over TLS"})
        phone.sync()
        with httpx.Client(
            base_url=url,
            verify=ssl.create_default_context(cafile=phone.directory / "server-ca.pem"),
        ) as office:
            token = office.post(
                "/v1/auth/login", json={"username": "admin", "password": "secret"}
            ).json()["token"]
            shown = office.get(
                f"/v1/entities/account/records/{record_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert shown.json()["record"]["name"] == "Over TLS"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://crm.example.com",
        "crm.example.com",
        "https://alice:secret@crm.example.com",
        "https://crm.example.com/?next=1",
        "https://crm.example.com#top",
        "https://crm.example.com:port",
        "https:///v1",
    ],
)
def test_a_server_url_that_is_not_plainly_http_or_https_is_refused(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Device.login(tmp_path / "phone", url, "alice", "secret")
    assert refused.value.code == "bad_server_url"


def test_server_urls_are_normalized_and_plain_http_to_another_machine_warns() -> None:
    assert address.server_url("HTTPS://CRM.Example.com:8443/Sync/") == (
        "https://crm.example.com:8443/Sync"
    )
    assert address.plain_http_warning("http://crm.example.com") is not None
    for quiet in (
        "https://crm.example.com",
        "http://127.0.0.1:8765",
        "http://localhost",
        "http://[::1]:80",
    ):
        assert address.plain_http_warning(quiet) is None


@one_backend
def test_device_login_on_the_command_line_trusts_a_private_ca_only_when_told(
    backend_db: Database, tmp_path: Path
) -> None:
    ca, cert, key = certificates(tmp_path)
    phone = str(tmp_path / "phone")
    with running(backend_db, ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        login = ["device", "login", "--dir", phone, "--server", url.upper(), "--user", "alice"]
        refused = CliRunner().invoke(app, [*login, "--password", "secret"])
        assert refused.exit_code == 1
        assert "certificate is not trusted" in refused.output
        trusted = CliRunner().invoke(app, [*login, "--password", "secret", "--ca-file", str(ca)])
        assert trusted.exit_code == 0, trusted.output
        synced = CliRunner().invoke(app, ["device", "sync", "--dir", phone])
        assert synced.exit_code == 0, synced.output


def answer_to_a_stalled_body(url: str, path: str) -> bytes:
    """What the server sends a client that sends half a body and then nothing, until it
    closes the connection (bounded: a server that never does fails the test)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n".encode()
            + b'{"username": "alice", '
        )
        received = b""
        for _ in range(100):
            chunk = client.recv(65536)
            if not chunk:
                return received
            received += chunk
    raise AssertionError(f"the connection stayed open after {received!r}")


@one_backend
def test_a_client_that_stalls_halfway_through_a_body_is_answered_408_and_let_go(
    backend_db: Database,
) -> None:
    process, url = spawn(backend_db.url, "--body-timeout", "0.5")
    try:
        stalled = [answer_to_a_stalled_body(url, "/v1/auth/login") for _ in range(3)]
        assert httpx.get(f"{url}/health").status_code == 200  # the server goes on
    finally:
        process.terminate()
        process.wait(timeout=30)
    for answer in stalled:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in head.lower()
        assert orjson.loads(body)["error"]["code"] == "body_timeout"


def console_login_page(client: httpx.Client) -> str:
    """Open the console's login page (its cookie goes into `client`); returns its CSRF token."""
    shown = client.get("/admin/login")
    found = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert found is not None, shown.text
    return found.group(1)


@one_backend
def test_a_csrf_token_in_any_script_is_a_stale_form(server: Server) -> None:
    with httpx.Client(base_url=server.url) as browser:
        console_login_page(browser)
        sent = {"username": "admin", "password": "secret", "csrf": "é"}
        refused = browser.post("/admin/login", data=sent)
        assert refused.status_code == 401
        assert "The form expired" in refused.text
    sent = {"username": "admin", "password": "secret", "csrf": "x"}
    cookie = {"Cookie": "fieldsync_login=é".encode()}
    refused = httpx.post(f"{server.url}/admin/login", data=sent, headers=cookie)
    assert refused.status_code == 401
    assert "The form expired" in refused.text
    with httpx.Client(base_url=server.url) as browser:
        token = console_login_page(browser)
        sent = {"username": "admin", "password": "secret", "csrf": token}
        assert browser.post("/admin/login", data=sent).status_code == 303
        assert browser.post("/admin/logout", data={"csrf": "é"}).status_code == 403
        assert browser.get("/admin/conflicts").status_code == 200  # still logged in


def test_fieldsync_serve_serves_https_with_a_certificate(tmp_path: Path) -> None:
    """A phone's browser runs the field app's service worker only from an HTTPS origin."""
    ca, cert, key = certificates(tmp_path)
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    port = free_port()
    command = [sys.executable, "-m", "fieldsync", "serve", "--db", db, "--port", str(port)]
    tls = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    process = subprocess.Popen([*command, *tls], stdout=subprocess.DEVNULL)
    try:
        trusted = ssl.create_default_context(cafile=ca)
        health = None
        with httpx.Client(verify=trusted) as client:
            for _ in range(300):
                try:
                    health = client.get(f"https://127.0.0.1:{port}/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert health is not None
            assert health.status_code == 200
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"https://127.0.0.1:{port}/health")  # the private CA is not trusted
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_fieldsync_serve_wants_both_the_certificate_and_its_key(tmp_path: Path) -> None:
    _, cert, _ = certificates(tmp_path)
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    result = CliRunner().invoke(app, ["serve", "--db", db, "--ssl-certfile", str(cert)])
    assert result.exit_code == 2
    assert "--ssl-certfile and --ssl-keyfile go together" in result.output
