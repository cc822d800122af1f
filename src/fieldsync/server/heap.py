"""The server process's garbage collector, set for serving.

A large push keeps tens of thousands of objects alive until it answers (the decoded
body, the records read and written, the results). With CPython's default thresholds
the collector would run again and again during one such push, scanning the same live
objects each time. Reference counting frees a request's objects when it ends; only
reference cycles wait for a collection, and the threshold bounds how many new
objects pile up before one.
"""

from __future__ import annotations

import gc

# New objects before the youngest generation is collected (CPython's default: 700).
YOUNG = 20_000


def set_for_serving() -> None:
    """Collect once, leave everything made so far (modules, the app) out of later
    collections, and collect the young generation less often. Call it once the app
    is built, before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
