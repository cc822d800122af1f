"""A real server on a free loopback port: in a thread (demo, tests) or a child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from fieldsync.server.api import create_app
from fieldsync.server.db import Database


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadServer(uvicorn.Server):
    """uvicorn in a thread of this process, started and stopped from another thread.

    uvicorn's own loop looks for a stop every tenth of a second, and stopping it gives
    the connections a fixed tenth of a second to close: a server that tests start and
    stop over and over waits for its stop on an event instead, and watches its
    connections close more often.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.stopping = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Serve in the thread; returns once the server listens."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.005)

    def stop(self, *, force: bool = False) -> None:
        """Stop listening, close idle connections, let requests in flight end (`force`:
        cut them) and wait for the thread (10 s at most)."""
        self.should_exit, self.force_exit = True, force
        if self.loop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # its loop has just ended
                self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(timeout=10)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def main_loop(self) -> None:
        """Until told to stop; `on_tick` refreshes the Date header once a second."""
        while not await self.on_tick(0):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's, without its fixed pause; the app's lifespan ends even when forced
        (its background work stops with the server)."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()


@contextmanager
def running(db: Database, **options: Any) -> Iterator[str]:
    """Serve `db` over HTTP until the block ends; yields the base URL. `options` are
    uvicorn's (`ssl_certfile` and `ssl_keyfile` serve HTTPS)."""
    with serving(create_app(db), **options) as url:
        yield url


@contextmanager
def serving(app: ASGIApp, **options: Any) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port until the block ends; yields the base URL."""
    port = free_port()
    options = {"proxy_headers": False, **options}
    server = ThreadServer(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    )
    server.start()
    try:
        yield f"{'https' if 'ssl_certfile' in options else 'http'}://127.0.0.1:{port}"
    finally:
        server.stop()


def spawn(
    db_url: str, *options: str, env: dict[str, str] | None = None, wait: float = 30
) -> tuple[subprocess.Popen[bytes], str]:
    """`fieldsync serve` in a child process on a free port; returns once it answers /health
    (or fails after `wait` seconds).

    `env` adds to this process's environment (a failpoint, say).
    """
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable,
        "-m",
        "fieldsync",
        "serve",
        "--db",
        db_url,
        "--port",
        url.rsplit(":", 1)[1],
        *options,
    ]
    # Its errors go to a file: a pipe nobody reads could fill up and stall the server.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=errors, env={**os.environ, **(env or {})}
        )
        deadline = time.monotonic() + wait
        # One client for every try; plain HTTP, so no TLS context (costly) to build.
        with httpx.Client(base_url=url, timeout=2, verify=False) as probe:
            while not _healthy(probe):
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    errors.seek(0)
                    log = errors.read().decode()[-2000:]
                    raise RuntimeError(f"fieldsync serve did not start: {log}")
                time.sleep(0.05)
    return process, url


def _healthy(probe: httpx.Client) -> bool:
    try:
        return probe.get("/health").status_code == 200
    except httpx.TransportError:
        return False
