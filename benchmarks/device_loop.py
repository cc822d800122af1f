"""A device that syncs on command, for `benchmarks.instructions` (one command a line).

    python -m benchmarks.device_loop DIR SERVER

Commands: `login`, `sync`, `edit N`, `children N`, `keep-server` (the user keeps
the server's version of every open conflict) and `counted-sync`: a sync while
callgrind counts (the library `FIELDSYNC_COUNTER` names starts and stops it).
Each is answered `ok`, or `error: …`.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import httpx

from benchmarks.device_task import CHANGES
from fieldsync.device import Device, client

# Under callgrind a server can take longer than the device's timeout to answer: the
# device would send the batch again, and the count would include its second request.
client.TIMEOUT = httpx.Timeout(None, connect=60.0)


def main(directory: Path, server: str) -> None:
    counter = ctypes.CDLL(os.environ["FIELDSYNC_COUNTER"])
    device: Device | None = None
    for line in sys.stdin:
        command, *count = line.split()
        try:
            if command == "login":
                device = Device.login(directory, server, "alice", "secret")
            else:
                assert device is not None, "login first"
                if command == "sync":
                    device.sync()
                elif command == "counted-sync":
                    counter.count_start()
                    device.sync()
                    counter.count_stop()
                elif command == "keep-server":
                    device.resolve_all("server")
                else:
                    CHANGES[command](device, int(count[0]))
        except Exception as failure:  # told to the controller, which stops
            print(f"error: {failure!r}", flush=True)
            continue
        print("ok", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
