"""Doors: login throttling, token lifetimes, scope over HTTP, headers."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Server
from tests.helpers import journal, office_edit, set_entity, synced_account
from typer.testing import CliRunner

from fieldsync.cli.main import app
from fieldsync.device import Device, address
from fieldsync.device.app import create_app
from fieldsync.errors import CertificateRejected, TooManyRequests, Unauthorized, ValidationFailed
from fieldsync.server.background import running, serving, spawn
from fieldsync.server.db import Database
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
    server.device("phone", "alice").close()
    with serving(create_app(server.tmp / "phone")) as url:
        assert httpx.post(f"{url}/sync", data={"csrf": "é"}).status_code == 403


def test_the_device_app_logs_in_again_trusting_the_private_ca_of_the_device(
    backend_db: Database, tmp_path: Path
) -> None:
    ca, cert, key = certificates(tmp_path)
    with running(backend_db, ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        Device.login(tmp_path / "phone", url, "alice", "secret", ca_file=ca).close()
        ca.unlink()  # the device keeps its own copy
        for directory, status, shown in (
            ("phone", 303, ""),
            ("tablet", 502, "certificate is not trusted"),
        ):
            app = create_app(tmp_path / directory)
            with serving(app) as app_url:
                form = {"server": url, "username": "alice", "password": "secret"}
                sent = httpx.post(f"{app_url}/login", data={**form, "csrf": app.state.csrf})
            assert sent.status_code == status, sent.text
            assert shown in sent.text
