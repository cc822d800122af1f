"""Bytes on a slow link: compressed answers and pushes, and pull pages capped in bytes."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import zstandard

from conftest import Server
from fieldsync.device import Device
from helpers import one_backend

pytestmark = one_backend

DESCRIPTION = "Visited on Tuesday; wants the spring catalogue and a call back. " * 30

DEVICE_ID = str(uuid.uuid4())  # one device pushes every body of this module


@pytest.fixture
def alice(server: Server) -> Iterator[httpx.Client]:
    with server.client("alice") as client:
        yield client


def push_body(count: int, description: str = DESCRIPTION) -> dict[str, Any]:
    changes = [
        {
            "change_id": str(uuid.uuid4()),
            "entity": "account",
            "id": str(uuid.uuid4()),
            "op": "create",
            "fields": {"name": f"Account {n}", "description": description},
        }
        for n in range(count)
    ]
    return {"device_id": DEVICE_ID, "batch_id": str(uuid.uuid4()), "changes": changes}


def post_encoded(
    client: httpx.Client, body: bytes, coding: str, path: str = "/v1/sync/push"
) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    return client.post(path, content=body, headers=headers)


def account_names(crm: httpx.Client) -> list[str]:
    records = crm.get("/v1/entities/account/records", params={"limit": 1000}).json()["records"]
    return sorted(r["record"]["name"] for r in records)


def pull(client: httpx.Client, coding: str, **params: Any) -> httpx.Response:
    return client.get("/v1/sync/pull", params=params, headers={"Accept-Encoding": coding})


@pytest.mark.parametrize(("accept", "coding"), [("gzip, deflate, zstd", "zstd"), ("gzip", "gzip")])
def test_a_pull_page_comes_compressed_in_the_best_coding_the_device_accepts(
    alice: httpx.Client, accept: str, coding: str
) -> None:
    assert alice.post("/v1/sync/push", json=push_body(20)).status_code == 200
    plain = pull(alice, "identity")
    compressed = pull(alice, accept)
    assert "content-encoding" not in plain.headers
    assert compressed.headers["content-encoding"] == coding
    assert "Accept-Encoding" in compressed.headers["vary"]
    assert compressed.num_bytes_downloaded * 5 < plain.num_bytes_downloaded
    assert compressed.json() == plain.json()


def test_a_small_answer_goes_uncompressed(alice: httpx.Client) -> None:
    answer = alice.get("/health", headers={"Accept-Encoding": "zstd, gzip"})
    assert answer.status_code == 200
    assert "content-encoding" not in answer.headers


def test_a_coding_refused_with_q_zero_is_not_used(alice: httpx.Client) -> None:
    assert alice.post("/v1/sync/push", json=push_body(20)).status_code == 200
    answer = pull(alice, "zstd;q=0, gzip;q=0.5")
    assert answer.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    ("coding", "squeeze"), [("gzip", gzip.compress), ("zstd", zstandard.compress)]
)
def test_a_compressed_push_is_applied(
    crm: httpx.Client, alice: httpx.Client, coding: str, squeeze: Any
) -> None:
    body = push_body(3)
    answer = post_encoded(alice, squeeze(orjson.dumps(body)), coding)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["applied"] * 3
    assert account_names(crm) == ["Account 0", "Account 1", "Account 2"]


def test_a_push_in_an_unknown_coding_is_415_and_names_the_accepted_ones(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    answer = post_encoded(alice, orjson.dumps(push_body(1)), "br")
    assert answer.status_code == 415
    assert answer.json()["error"]["code"] == "unsupported_encoding"
    assert answer.headers["accept-encoding"] == "zstd, gzip"
    assert account_names(crm) == []


def test_a_push_that_is_not_what_its_coding_says_is_400(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    answer = post_encoded(alice, orjson.dumps(push_body(1)), "gzip")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_encoding"
    assert account_names(crm) == []


def test_a_compressed_push_inflating_past_the_body_limit_is_413(
    crm: httpx.Client, alice: httpx.Client
) -> None:
    # Compressed it is far under the limit; inflated, over 10 MB.
    body = orjson.dumps(push_body(1, description="x" * (11 * 1024 * 1024)))
    answer = post_encoded(alice, zstandard.compress(body), "zstd")
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"
    assert account_names(crm) == []


def test_a_device_pushes_and_pulls_compressed_when_told_to(
    server: Server, crm: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDSYNC_COMPRESSION", "zstd")
    phone = server.device("phone", "alice")
    for n in range(30):
        phone.create("account", {"name": f"Phone {n}", "description": DESCRIPTION})
    assert phone.sync().pushed == 30
    tablet = server.device("tablet", "alice")
    report = tablet.sync()
    assert report.pulled == 30
    assert 0 < report.downloaded * 5 < len(DESCRIPTION) * 30
    assert len(tablet.records("account")) == 30
    assert len(account_names(crm)) == 30


def test_a_device_with_a_bad_compression_setting_gets_a_clear_error(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELDSYNC_COMPRESSION", "lzma")
    with pytest.raises(Exception, match="FIELDSYNC_COMPRESSION must be one of"):
        Device.login(server.tmp / "phone", server.url, "alice", "secret")


def test_max_bytes_caps_a_pull_page_and_the_pages_still_hold_everything(
    alice: httpx.Client,
) -> None:
    assert alice.post("/v1/sync/push", json=push_body(40)).status_code == 200
    record_bytes = len(orjson.dumps({"name": "Account 10", "description": DESCRIPTION}))
    cap = record_bytes * 5
    cursor, seen, sizes = "", [], []
    while True:
        answer = pull(alice, "identity", cursor=cursor, limit=1000, max_bytes=cap)
        page = answer.json()
        seen += [c["record"]["name"] for c in page["changes"]]
        sizes.append(len(answer.content))
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert sorted(seen) == sorted(f"Account {n}" for n in range(40))
    assert len(sizes) >= 8
    assert max(sizes) <= cap + 200  # the cursor and flags around the changes


def test_a_page_holds_its_first_change_however_big(alice: httpx.Client) -> None:
    assert alice.post("/v1/sync/push", json=push_body(3)).status_code == 200
    page = pull(alice, "identity", limit=1000, max_bytes=10).json()
    assert len(page["changes"]) == 1
    assert page["more"] is True


@pytest.mark.parametrize("max_bytes", ["0", "-1", "lots", str(2**40)])
def test_a_bad_max_bytes_is_422(alice: httpx.Client, max_bytes: str) -> None:
    answer = pull(alice, "identity", max_bytes=max_bytes)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"
