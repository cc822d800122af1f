"""A busy or unavailable server: the device waits as it is told, tries again, and lands.

A small proxy in front of the real server answers the first pushes itself (429 or 503,
with or without `Retry-After`), then forwards; the device syncs through it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conftest import Server
from fieldsync.device import Device
from fieldsync.errors import Offline
from fieldsync.server.background import serving
from helpers import one_backend, server_values

pytestmark = one_backend

PUSH = "/v1/sync/push"
BUSY = b'{"error": {"code": "busy", "message": "the server is busy", "details": null}}'


class Doorman:
    """Forwards to the server, but turns the next pushes away with `refusals` (status and
    Retry-After, None for none), and notes when each push arrived."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refusals: list[tuple[int, str | None]] = []
        self.pushes: list[float] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if request.url.path == PUSH:
            self.pushes.append(time.monotonic())
            if self.refusals:
                status, retry_after = self.refusals.pop(0)
                headers = {} if retry_after is None else {"Retry-After": retry_after}
                return Response(BUSY, status, headers, media_type="application/json")
        headers = {
            k: v for k, v in request.headers.items() if k in ("authorization", "content-type")
        }
        async with httpx.AsyncClient(base_url=self.upstream, timeout=60) as upstream:
            answer = await upstream.request(
                request.method,
                request.url.path,
                params=request.query_params.multi_items(),
                content=body,
                headers=headers,
            )
        return Response(
            answer.content, answer.status_code, media_type=answer.headers["content-type"]
        )


@pytest.fixture
def doorman(server: Server) -> Iterator[tuple[Doorman, str]]:
    """The doorman on a port of its own, and its URL."""
    door = Doorman(server.url)
    with serving(door.app) as url:
        yield door, url


def a_pending_account(server: Server, url: str, name: str) -> tuple[Device, str]:
    """A phone logged in through the doorman, with one new account not synced yet."""
    phone = Device.login(server.tmp / "phone", url, "alice", "secret")
    return phone, phone.create("account", {"name": name})


def in_two_seconds() -> str:
    """An HTTP date two seconds from now (whole seconds: at least one second's wait)."""
    return format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(503, "1"), (429, "1"), (503, "date")],
    ids=["503-seconds", "429-seconds", "503-http-date"],
)
def test_a_sync_waits_the_retry_after_of_a_busy_server_then_lands(
    server: Server, crm: httpx.Client, doorman: tuple[Doorman, str], status: int, retry_after: str
) -> None:
    door, url = doorman
    phone, record_id = a_pending_account(server, url, "Patient")
    door.refusals = [(status, in_two_seconds() if retry_after == "date" else retry_after)]

    report = phone.sync()

    assert report.applied == 1
    assert phone.status("account", record_id) == "synced"
    assert server_values(crm, record_id)["name"] == "Patient"
    first, second = door.pushes
    assert second - first >= 0.9  # the wait the server asked for


def test_a_sync_retries_an_unavailable_server_without_retry_after_and_lands_once(
    server: Server, crm: httpx.Client, doorman: tuple[Doorman, str]
) -> None:
    door, url = doorman
    phone, record_id = a_pending_account(server, url, "Persistent")
    door.refusals = [(503, None), (502, None)]

    assert phone.sync().applied == 1

    assert len(door.pushes) == 3
    assert server_values(crm, record_id)["name"] == "Persistent"
    listed = crm.get("/v1/entities/account/records", params={"search": "Persistent"}).json()
    assert len(listed["records"]) == 1


def test_a_retry_after_longer_than_a_user_waits_ends_the_sync_and_keeps_the_change(
    server: Server, crm: httpx.Client, doorman: tuple[Doorman, str]
) -> None:
    door, url = doorman
    phone, record_id = a_pending_account(server, url, "Later")
    door.refusals = [(503, "3600")]

    started = time.monotonic()
    asks = r"busy or unavailable \(503\); it asks to be tried again in 60 min"
    with pytest.raises(Offline, match=asks):
        phone.sync()
    assert time.monotonic() - started < 10  # not an hour
    assert len(door.pushes) == 1
    assert (phone.status("account", record_id), phone.error_count()) == ("created", 0)

    assert phone.sync().applied == 1  # the server is back
    assert server_values(crm, record_id)["name"] == "Later"
