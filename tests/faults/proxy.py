"""A TCP proxy between a device and the server that injects network faults.

Faults are armed for the next request whose first bytes start with a prefix (e.g.
`b"POST /v1/sync/push"`), or for the one after `after` such requests went through,
so a kept-alive connection is hit exactly where a test wants it:

- `refuse`: the connection is closed before the request reaches the server;
- `reset`: the same, with a TCP reset (RST) instead of a clean close;
- `cut`: the request reaches the server, which answers (and commits); the
  connection is cut after `keep` bytes of the answer, so the device never reads it;
- `hold`: the request reaches the server; its answer is held back until
  `release()` (a test kills the device meanwhile);
- `stall`: the request is held before the server sees it, then dropped at
  `release()` (a test kills the device meanwhile);
- `delay`: the request is forwarded after `seconds`.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """One armed fault: what, for which request, and how often."""

    kind: str
    prefix: bytes
    times: int = 1
    keep: int = 0
    seconds: float = 0.0
    after: int = 0
    passed: int = 0
    hits: int = 0
    answered: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    """Listens on a free loopback port and forwards to `upstream`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.faults: list[Fault] = []
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, kind: str, prefix: bytes, **options: float) -> Fault:
        """Inject `kind` into the next request starting with `prefix`."""
        fault = Fault(kind, prefix, **options)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(fault)
        return fault

    def release(self) -> None:
        """Let held answers through (to whoever is still listening)."""
        self._released.set()

    def reset(self) -> None:
        """Disarm every fault and let held answers through; a fault armed after holds again."""
        with self._lock:
            self.faults.clear()
        released, self._released = self._released, threading.Event()
        released.set()

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        self.listener.close()

    def _take(self, first: bytes) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits < fault.times and first.startswith(fault.prefix):
                    if fault.passed < fault.after:
                        fault.passed += 1
                        continue
                    fault.hits += 1
                    return fault
        return None

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        state: dict[str, Fault | None] = {"fault": None}
        threading.Thread(target=self._answers, args=(upstream, client, state), daemon=True).start()
        self._requests(client, upstream, state)

    def _requests(self, client: socket.socket, upstream: socket.socket, state: dict) -> None:  # type: ignore[type-arg]
        try:
            while data := client.recv(65536):
                fault = self._take(data)
                if fault is not None:
                    state["fault"] = fault
                    if fault.kind in ("refuse", "reset"):
                        _close(client, reset=fault.kind == "reset")
                        _close(upstream)
                        return
                    if fault.kind == "delay":
                        threading.Event().wait(fault.seconds)
                    if fault.kind == "stall":
                        fault.answered.set()
                        self._released.wait()
                        _close(client)
                        _close(upstream)
                        return
                upstream.sendall(data)
        except OSError:
            pass
        _close(upstream)

    def _answers(self, upstream: socket.socket, client: socket.socket, state: dict) -> None:  # type: ignore[type-arg]
        try:
            while data := upstream.recv(65536):
                fault = state["fault"]
                if fault is not None and fault.kind == "cut":
                    client.sendall(data[: int(fault.keep)])
                    fault.answered.set()
                    _close(client)
                    _close(upstream)
                    return
                if fault is not None and fault.kind == "hold":
                    fault.answered.set()
                    self._released.wait()
                state["fault"] = None
                client.sendall(data)
        except OSError:
            pass
        _close(client)


def _close(sock: socket.socket, reset: bool = False) -> None:
    """Close at once, even while the other pump thread is blocked reading the socket."""
    try:
        if reset:  # SO_LINGER 0: close() sends RST
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:  # a plain close() waits for that thread's recv(); shutdown() does not
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
