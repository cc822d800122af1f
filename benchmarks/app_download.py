"""`python -m benchmarks.app_download`: the field app's first download in headless Chromium.

The server (`fieldsync serve`, SQLite) runs in its own process; the app runs in Debian's
Chromium, signs in through its engine and downloads every record into IndexedDB. For each
size: records per second of the whole download, the time until the first list is usable
(the first page stored and the list's first 50 rows read back), and a search among all
records, typed a few seconds (`--pause`) after the download ends, as a person opening
the list would (the app reads the search entries ahead when idle after a sync: "read
ahead ms" is when they were in memory, "-" when not by then), and the next search.
Beside it, "bare puts/s": the same records put one by one into a store without indexes,
one transaction per page, in the same browser right after: the ceiling of one
IndexedDB put per record on the machine as loaded at that moment. Seeding goes straight
into the database and is not timed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from benchmarks.data import seed, user_id
from fieldsync.server import users
from fieldsync.server.background import spawn
from fieldsync.server.db import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

DOWNLOAD = """async ([origin, PAUSE_MS]) => {
  CEILING_FUNCTION
  const sync = await import("/app/js/sync.js");
  const store = await sync.login(origin, "alice", "secret");
  const engine = sync.activeEngine();
  let firstList = null;
  const started = performance.now();
  engine.on("progress", (p) => {
    if (firstList !== null || p.received === 0) return;
    firstList = store.listRecords("account", { limit: 50 })
      .then((page) => page.rows.length === 50 ? performance.now() - started : null);
  });
  const result = await engine.sync();
  const ended = performance.now();
  const seconds = (ended - started) / 1000;
  // A person opens the list and starts typing: the app is idle meanwhile.
  let readAheadMs = null;
  while (performance.now() - ended < PAUSE_MS) {
    const ready = store.searchReady.has("account");
    if (readAheadMs === null && ready) readAheadMs = performance.now() - ended;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const searchStarted = performance.now();
  const found = await store.listRecords("account", { search: "account 00042", limit: 50 });
  const searchMs = performance.now() - searchStarted;
  await store.searchEntries("account"); // read while the user looks at the first results
  const againStarted = performance.now();
  await store.listRecords("account", { search: "account 00043", limit: 50 });
  const searchAgainMs = performance.now() - againStarted;
  return { ok: result.ok, received: result.received, seconds, firstListMs: await firstList,
           readAheadMs, searchMs, searchAgainMs, searchRows: found.rows.length,
           ceiling: await ceiling(store) };
}"""

# The same records put one by one into a store with no index, one transaction per page:
# what IndexedDB itself allows on this machine now, beside the engine's figure.
CEILING = """
async function ceiling(store) {
  const { Wire } = await import("/app/js/wire.js");
  const wire = new Wire(location.origin, await store.getMeta("token"));
  const pages = [];
  let cursor = "";
  for (;;) {
    const answer = await wire.pull({ cursor, limit: 2500, max_bytes: 2 * 1024 * 1024,
      device_id: await store.getMeta("device_id"), skip_own: false });
    const page = await answer.page();
    pages.push(page.changes);
    cursor = page.cursor;
    if (!page.more) break;
  }
  const opening = indexedDB.open("ceiling", 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("r", { keyPath: "id" });
  const db = await new Promise((resolve) => { opening.onsuccess = () => resolve(opening.result); });
  const started = performance.now();
  for (const changes of pages) {
    const tx = db.transaction("r", "readwrite", { durability: "relaxed" });
    for (const change of changes) tx.objectStore("r").put(change);
    await new Promise((resolve) => { tx.oncomplete = resolve; });
  }
  db.close();
  return (performance.now() - started) / 1000;
}
"""


def run(size: int, pause: float) -> dict[str, Any]:
    """Download `size` accounts into a fresh browser; what it measured."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "bench.db"))
        db.prepare()
        with db.write() as conn:
            users.add(conn, "alice", "secret")
        seed(db, size, user_id(db, "alice"))
        db.dispose()
        process, url = spawn(str(Path(tmp) / "bench.db"))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page()
                page.goto(f"{url}/app/")
                script = DOWNLOAD.replace("CEILING_FUNCTION", CEILING)
                measured: dict[str, Any] = page.evaluate(script, [url, pause * 1000])
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    if not measured["ok"] or measured["received"] != size:
        raise RuntimeError(f"the download failed: {measured}")
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated record counts")
    parser.add_argument("--pause", type=float, default=3, help="seconds before the search")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'records':>8} {'seconds':>8} {'records/s':>10} {'first list ms':>14} "
        f"{'read ahead ms':>14} {'search ms':>10} {'again ms':>9} {'bare puts/s':>12}"
    )
    for size in sizes:
        m = run(size, args.pause)
        first = "-" if m["firstListMs"] is None else f"{m['firstListMs']:.0f}"
        ahead = "-" if m["readAheadMs"] is None else f"{m['readAheadMs']:.0f}"
        print(
            f"{size:>8} {m['seconds']:>8.2f} {size / m['seconds']:>10.0f} "
            f"{first:>14} {ahead:>14} {m['searchMs']:>10.0f} {m['searchAgainMs']:>9.0f} "
            f"{size / m['ceiling']:>12.0f}"
        )


if __name__ == "__main__":
    main()
