"""Named points where a test may kill the process, to prove a crash there loses nothing.

`FIELDSYNC_FAILPOINT=server.push.before_commit fieldsync serve …` dies with SIGKILL
(no cleanup, no flush: as a power cut would) the first time that point is reached.
Unset, a point costs one comparison. The points:

| point | where |
|---|---|
| `server.push.before_commit` | a push batch is applied, its transaction not yet committed |
| `server.push.after_commit` | a push batch is committed, its response not yet sent |
| `device.push.sent` | the device sent a batch, before reading the answer |
| `device.push.answered` | the device read the answer, before applying its results |
| `device.pull.page` | the device applied one pulled page, before asking for the next |
| `device.pull.first_screen` | the device stored a first download's first screen, not yet the rest |
"""

from __future__ import annotations

import os
import signal

VARIABLE = "FIELDSYNC_FAILPOINT"
_armed = os.environ.get(VARIABLE)


def hit(name: str) -> None:
    """Die here, at once, if this point is armed."""
    if _armed == name:
        os.kill(os.getpid(), signal.SIGKILL)
