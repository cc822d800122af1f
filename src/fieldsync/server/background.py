"""A real server on a free loopback port: in a thread (demo, tests) or a child process."""

from __future__ import annotations

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


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """Signals belong to the main thread, not to this one."""


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
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"{'https' if 'ssl_certfile' in options else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                errors.seek(0)
                log = errors.read().decode()[-2000:]
                raise RuntimeError(f"fieldsync serve did not start: {log}")
            time.sleep(0.05)
    return process, url


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
