"""`python -m benchmarks.app_push`: the field app's sync of offline edits, beside the
Python device's, against one `fieldsync serve` process over loopback HTTP.

For each size, the phone (headless Chromium at /usr/bin/chromium, or
FIELDSYNC_TEST_CHROMIUM) creates that many accounts offline and syncs, then edits each
once and syncs again; the Python device does the same. The time is the sync's alone
(conflict status, push, pull of what others changed), on the clock of the device that
runs it. Prints a table; never a test.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from fieldsync.device import Device
from fieldsync.server import users
from fieldsync.server.background import spawn
from fieldsync.server.db import Database

SIZES = (1000, 5000)
CHROMIUM = os.environ.get("FIELDSYNC_TEST_CHROMIUM", "/usr/bin/chromium")

EDIT_AND_SYNC = """async ([what, count]) => {
  const { activeEngine } = await import("/app/js/sync.js");
  const edits = await import("/app/js/edits.js");
  const engine = activeEngine();
  const store = engine.store;
  if (what === "create") {
    for (let n = 0; n < count; n++) {
      await edits.createRecord(store, "account", { name: `Bench ${n}`, city: "Bratislava" });
    }
  } else {
    const rows = (await store.listRecords("account", { limit: count })).rows;
    for (const row of rows) await edits.updateRecord(store, "account", row.id, { city: "Kosice" });
  }
  const started = performance.now();
  const result = await engine.sync();
  if (!result.ok) throw new Error(result.error);
  return [performance.now() - started, result.pushed];
}"""


def app_syncs(page: Page, url: str, count: int) -> list[float]:
    """Seconds of the app's sync after `count` creates, then after `count` edits."""
    page.goto(f"{url}/app/")
    login = "([o]) => import('/app/js/sync.js').then((m) => m.login(o, 'alice', 'secret'))"
    page.evaluate(login, [url])
    page.evaluate("import('/app/js/sync.js').then((m) => m.activeEngine().sync())")
    times = []
    for what in ("create", "update"):
        elapsed, pushed = page.evaluate(EDIT_AND_SYNC, [what, count])
        assert pushed == count, f"the app pushed {pushed} of {count}"
        times.append(elapsed / 1000)
    return times


def device_syncs(directory: Path, url: str, count: int) -> list[float]:
    """Seconds of the Python device's sync after `count` creates, then `count` edits."""
    device = Device.login(directory, url, "alice", "secret")
    device.sync()
    ids = [
        device.create("account", {"name": f"Bench {n}", "city": "Bratislava"}) for n in range(count)
    ]
    times = [timed_sync(device)]
    for record_id in ids:
        device.update("account", record_id, {"city": "Kosice"})
    times.append(timed_sync(device))
    return times


def timed_sync(device: Device) -> float:
    started = time.perf_counter()
    device.sync()
    return time.perf_counter() - started


def main() -> None:
    print(f"{'changes':>8} {'device':>14} {'creates s':>10} {'/s':>8} {'edits s':>9} {'/s':>8}")
    for count in SIZES:
        with tempfile.TemporaryDirectory(prefix="fieldsync-app-push-") as tmp:
            db = Database(str(Path(tmp) / "server.db"))
            db.prepare()
            with db.write() as conn:
                users.add(conn, "alice", "secret")
            db.dispose()
            process, url = spawn(f"sqlite:///{tmp}/server.db")
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                    )
                    page = browser.new_page()
                    page.set_default_timeout(600_000)
                    rows = [("app", app_syncs(page, url, count))]
                    browser.close()
                rows.append(("python", device_syncs(Path(tmp) / "device", url, count)))
            finally:
                process.terminate()
                process.wait()
            for name, (creates, edits) in rows:
                print(
                    f"{count:>8} {name:>14} {creates:>10.2f} {count / creates:>8.0f} "
                    f"{edits:>9.2f} {count / edits:>8.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    sys.exit(main())
