"""A shaped link on one machine: a TCP proxy with a rate limit and a one-way delay.

Each direction is a link of `rate` bytes/s, shared by every connection through the
proxy, whose chunks arrive `delay` seconds after they were put on it (half the round
trip): a chunk read from one side leaves the proxy when the link has carried it
(queued behind the chunks before it, of any connection) plus the delay. The proxy
counts the bytes each way.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

CHUNK = 16 * 1024
BUFFERED = 64  # chunks a link holds before the sender waits (TCP's back-pressure)


@dataclass(frozen=True)
class Link:
    """A link's rate (bits/s) and round-trip time (seconds)."""

    name: str
    bits_per_second: float
    rtt: float


@dataclass
class Counted:
    """Bytes carried each way since the last `take`."""

    up: int = 0
    down: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[int, int]:
        """The bytes up and down so far, and start counting again."""
        with self.lock:
            up, down, self.up, self.down = self.up, self.down, 0, 0
        return up, down


class ShapedProxy:
    """Listens on a free loopback port and forwards to `upstream_port` through `link`."""

    def __init__(self, upstream_port: int, link: Link) -> None:
        self.upstream_port, self.link = upstream_port, link
        self.counted = Counted()
        self.free_at = {True: 0.0, False: 0.0}  # upward, downward: when the link is free
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.port = 0
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait()
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    def close(self) -> None:
        """Stop the proxy's loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(
            self._carry(reader, up_writer, upward=True),
            self._carry(up_reader, writer, upward=False),
        )

    async def _carry(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, upward: bool
    ) -> None:
        """One direction: read, put on the link, deliver after it carried them plus the delay."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(BUFFERED)
        deliver = asyncio.ensure_future(_deliver(queue, sink))
        rate, delay = self.link.bits_per_second / 8, self.link.rtt / 2
        while chunk := await source.read(CHUNK):
            with self.counted.lock:
                if upward:
                    self.counted.up += len(chunk)
                else:
                    self.counted.down += len(chunk)
            free_at = max(time.monotonic(), self.free_at[upward]) + len(chunk) / rate
            self.free_at[upward] = free_at
            await queue.put((free_at + delay, chunk))
        await queue.put((0.0, b""))
        await deliver


async def _deliver(queue: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter) -> None:
    while True:
        due, chunk = await queue.get()
        if not chunk:
            sink.close()
            return
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        sink.write(chunk)
        try:
            await sink.drain()
        except ConnectionError:
            return
