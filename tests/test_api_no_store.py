"""The API's answers are never kept by a browser's or a proxy's cache.

Pulls, records and login answers carry records and tokens: a shared phone's next user,
or a proxy on the way, must not find them in a cache. Each answer of `/v1/` says
`Cache-Control: no-store`, a refusal too; the field app's files keep their own caching.
"""

from __future__ import annotations

import httpx

from conftest import Server


def test_a_pull_a_record_read_and_a_login_say_no_store(server: Server, crm: httpx.Client) -> None:
    created = crm.post("/v1/entities/account/records", json={"name": "Farm"})
    assert created.headers["Cache-Control"] == "no-store"
    record_id = created.json()["id"]
    read = crm.get(f"/v1/entities/account/records/{record_id}")
    assert read.status_code == 200
    assert read.json()["record"]["name"] == "Farm"
    assert read.headers["Cache-Control"] == "no-store"
    pulled = crm.get("/v1/sync/pull")
    assert pulled.status_code == 200
    assert pulled.headers["Cache-Control"] == "no-store"
    login = httpx.post(
        f"{server.url}/v1/auth/login", json={"username": "alice", "password": "secret"}
    )
    assert "token" in login.json()
    assert login.headers["Cache-Control"] == "no-store"


def test_a_refusal_says_no_store_and_the_app_keeps_its_own_caching(server: Server) -> None:
    refused = httpx.get(f"{server.url}/v1/sync/pull")
    assert refused.status_code == 401
    assert refused.headers["Cache-Control"] == "no-store"
    app = httpx.get(f"{server.url}/app/")
    assert app.status_code == 200
    assert app.headers["Cache-Control"] != "no-store"
