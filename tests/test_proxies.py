"""What stands between a device and the server: a proxy with a body limit, a captive
portal, a cut answer. Only a fieldsync server's JSON answer may refuse a change; anything
else leaves the changes pending and the sync says it is offline, in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from conftest import Server
from fieldsync.cli.main import app
from fieldsync.device import Device
from fieldsync.failpoints import VARIABLE
from fieldsync.server.background import serving
from fieldsync.server.schema import records
from helpers import office_account, one_backend, server_values, set_entity

pytestmark = one_backend

runner = CliRunner()

NGINX_413 = (
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
PULL = "/v1/sync/pull"
PORTAL = "<!doctype html><html><body><h1>Welcome to Airport Wi-Fi</h1>Accept the terms</body>"


class Proxy:
    """A small reverse proxy in front of the real server, with nginx's default body limit
    (1 MiB), that can turn into a captive portal or cut its answers short."""

    LIMIT = 1024 * 1024

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "forward"
        self.too_large = 0  # requests answered 413
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.mode == "portal":
            return Response(PORTAL, 200, media_type="text/html")
        if self.mode == "redirect":
            return Response(PORTAL, 302, {"Location": "http://portal.example/login"})
        if self.mode == "bad_gateway":
            return Response("<h1>502 Bad Gateway</h1>", 502, media_type="text/html")
        if self.mode == "not_found":
            return Response("<h1>404 Not Found</h1>", 404, media_type="text/html")
        if len(body) > self.LIMIT:
            self.too_large += 1
            return Response(NGINX_413, 413, media_type="text/html")
        answer = await self.forward(request, body)
        content = answer.content
        if self.mode == "cut" or (self.mode == "cut_pull" and request.url.path == PULL):
            content = content[: len(content) // 2]  # well framed, but half of the server's JSON
        return Response(content, answer.status_code, media_type=answer.headers["content-type"])

    async def forward(self, request: Request, body: bytes) -> httpx.Response:
        headers = {
            k: v for k, v in request.headers.items() if k in ("authorization", "content-type")
        }
        async with httpx.AsyncClient(base_url=self.upstream, timeout=60) as upstream:
            return await upstream.request(
                request.method,
                request.url.path,
                params=request.query_params.multi_items(),
                content=body,
                headers=headers,
            )


@pytest.fixture
def proxy(server: Server) -> Iterator[tuple[Proxy, str]]:
    """The proxy on a port of its own, and its URL."""
    proxied = Proxy(server.url)
    with serving(proxied.app) as url:
        yield proxied, url


def sync_from_cli(device: Device) -> tuple[int, str]:
    result = runner.invoke(app, ["device", "sync", "--dir", str(device.directory)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def over_a_mebibyte_of_accounts(phone: Device) -> list[str]:
    """1,500 new accounts with a few lines of notes: a first batch of 1,000 is over 1 MiB."""
    notes = "a visit report of a few lines " * 14
    return [
        phone.create("account", {"name": f"Shop {n}", "description": notes}) for n in range(1500)
    ]


def test_a_push_over_a_proxys_body_limit_is_split_and_every_change_lands(
    server: Server, crm: httpx.Client, proxy: tuple[Proxy, str]
) -> None:
    proxied, url = proxy
    phone = Device.login(server.tmp / "phone", url, "alice", "secret")
    ids = over_a_mebibyte_of_accounts(phone)

    code, out = sync_from_cli(phone)
    assert code == 0, out
    assert proxied.too_large >= 1  # the first batch of 1,000 was over 1 MiB
    assert "pushed 1500, applied 1500" in out
    assert (phone.unsynced(), phone.error_count()) == (0, 0)
    with server.db.read() as conn:
        stored = conn.execute(sa.select(records.c.id).where(records.c.entity == "account"))
        assert {row.id for row in stored} == set(ids)


def test_a_single_change_too_big_for_the_proxy_is_a_sync_error_and_the_rest_lands(
    server: Server, crm: httpx.Client, proxy: tuple[Proxy, str]
) -> None:
    fields = crm.get("/v1/admin/entities/account").json()["fields"]
    notes = [f"notes{n}" for n in range(6)]  # a create carries each twice: 1.2 MB in all
    extra = [{"name": name, "type": "text", "max_length": 100_000} for name in notes]
    set_entity(crm, "account", fields=fields + extra)
    proxied, url = proxy
    phone = Device.login(server.tmp / "phone", url, "alice", "secret")
    small = [phone.create("account", {"name": f"Shop {n}"}) for n in range(3)]
    big = phone.create("account", {"name": "Huge", **{name: "x" * 100_000 for name in notes}})

    report = phone.sync()
    assert (report.applied, report.rejected) == (3, 1)
    assert all(server_values(crm, i)["name"].startswith("Shop") for i in small)
    [error] = phone.errors()
    assert error["record_id"] == big
    assert "too large" in error["message"]
    assert phone.status("account", big) == "created"
    assert proxied.too_large == 3  # the batch of 4, then the half of 2, then the one alone


def test_a_device_killed_between_the_halves_of_a_split_batch_resends_the_same_ids(
    server: Server, proxy: tuple[Proxy, str]
) -> None:
    _proxied, url = proxy
    phone = Device.login(server.tmp / "phone", url, "alice", "secret")
    ids = over_a_mebibyte_of_accounts(phone)
    command = [sys.executable, "-m", "fieldsync", "device", "sync", "--dir", str(phone.directory)]
    env = {**os.environ, VARIABLE: "device.push.answered"}  # killed once the first half is answered
    assert subprocess.run(command, env=env, check=False).returncode == -signal.SIGKILL

    report = phone.sync()  # the same halves again: the server answers the first from its ledger
    assert (report.pushed, report.applied, report.rejected) == (1500, 1500, 0)
    with server.db.read() as conn:
        stored = conn.execute(sa.select(records.c.id).where(records.c.entity == "account"))
        assert sorted(row.id for row in stored) == sorted(ids)


@pytest.mark.parametrize("mode", ["portal", "redirect", "cut", "bad_gateway", "not_found"])
def test_an_answer_that_is_not_a_fieldsync_servers_leaves_every_change_pending(
    server: Server, crm: httpx.Client, proxy: tuple[Proxy, str], mode: str
) -> None:
    proxied, url = proxy
    phone = Device.login(server.tmp / "phone", url, "alice", "secret")
    record_id = phone.create("account", {"name": "Pending"})
    proxied.mode = mode

    code, out = sync_from_cli(phone)
    assert code == 1
    assert "offline" in out
    assert len(out.strip().splitlines()) == 1, out
    assert (phone.status("account", record_id), phone.error_count()) == ("created", 0)
    assert (
        json.loads(
            runner.invoke(app, ["device", "errors", "--dir", str(phone.directory), "--json"]).output
        )
        == []
    )

    proxied.mode = "forward"  # the network is fixed
    code, out = sync_from_cli(phone)
    assert code == 0, out
    assert phone.status("account", record_id) == "synced"
    assert server_values(crm, record_id)["name"] == "Pending"


def test_a_pull_page_cut_short_stores_nothing_and_the_next_sync_brings_it(
    server: Server, crm: httpx.Client, proxy: tuple[Proxy, str]
) -> None:
    proxied, url = proxy
    office_account(crm, name="Waiting")
    phone = Device.login(server.tmp / "phone", url, "alice", "secret")
    proxied.mode = "cut_pull"

    code, out = sync_from_cli(phone)
    assert code == 1
    assert "offline" in out
    assert phone.records("account") == {}

    proxied.mode = "forward"
    code, out = sync_from_cli(phone)
    assert code == 0, out
    assert [values["name"] for values in phone.records("account").values()] == ["Waiting"]
