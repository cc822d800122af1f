"""A first download that survives the link, and a server that survives a zip bomb."""

from __future__ import annotations

import signal
import struct
import time
import uuid
import zlib
from pathlib import Path

import httpx
import pytest

from faults.conftest import Served, device_sync_process
from faults.invariants import sync_until_quiet
from fieldsync.device import Device, pull
from fieldsync.errors import Offline

PULL = b"GET /v1/sync/pull"  # a first download's first screen, then its pages
DESCRIPTION = "Visited on Tuesday; wants the spring catalogue and a call back. " * 30
# Records of ~2 KB, pulled in pages of PAGE records: a first download takes four pages.
PAGE = 100
RECORDS = 3 * PAGE + PAGE // 2
GIB = 1024**3


def resident_kib(pid: int) -> int:
    """The resident memory of a process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def zstd_bomb(size: int) -> bytes:
    """A zstd frame of run-length blocks: ~4 bytes per 128 KiB of output."""
    block = 128 * 1024
    header = struct.pack("<I", 0xFD2FB528) + bytes([0x00, 7 << 3])  # no size, 128 KiB window
    run = (block << 3 | 1 << 1).to_bytes(3, "little") + b" "  # an RLE block of spaces
    last = (block << 3 | 1 << 1 | 1).to_bytes(3, "little") + b" "
    return header + run * (size // block - 1) + last


def gzip_bomb(size: int) -> bytes:
    """Gzip of `size` zero bytes, built from one flushed deflate block repeated."""
    chunk = 1024 * 1024
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = deflate.compress(bytes(chunk)) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(chunk)) + deflate.flush(zlib.Z_FULL_FLUSH)
    # The trailer's checksum is never reached: the body is refused long before.
    return head + block * (size // chunk - 1) + deflate.flush()


def push_headers(office: httpx.Client, coding: str) -> dict[str, str]:
    return {
        "Authorization": office.headers["Authorization"],
        "Content-Type": "application/json",
        "Content-Encoding": coding,
    }


@pytest.mark.parametrize(
    ("coding", "bomb"), [("zstd", zstd_bomb(4 * GIB)), ("gzip", gzip_bomb(2 * GIB))]
)
def test_a_zip_bomb_push_is_413_and_the_server_memory_stays_bounded(
    shared_served: Served, coding: str, bomb: bytes
) -> None:
    served = shared_served  # the bombs write nothing: both meet one server
    assert served.process is not None
    assert len(bomb) < 4 * 1024 * 1024
    with served.office() as office:
        before = resident_kib(served.process.pid)
        for _ in range(3):
            answer = httpx.post(
                f"{served.url}/v1/sync/push",
                content=bomb,
                headers=push_headers(office, coding),
                timeout=120,
            )
            assert answer.status_code == 413
            assert answer.json()["error"]["code"] == "body_too_large"
        grown = resident_kib(served.process.pid) - before
        assert grown < 200 * 1024, f"the server grew by {grown} KiB"
        assert office.get("/health").status_code == 200
        records = office.get("/v1/entities/account/records").json()["records"]
        assert records == []


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's devices pull pages of PAGE records."""
    monkeypatch.setattr(pull, "PAGE_SIZE", PAGE)
    monkeypatch.setattr(pull, "COMPRESSED_PAGE_SIZE", PAGE)


def loaded(served: Served) -> int:
    """RECORDS accounts of ~2 KB on the server (pushed by another device); how many."""
    tablet = served.device("tablet")
    for n in range(RECORDS):
        tablet.create("account", {"name": f"Account {n}", "description": DESCRIPTION})
    sync_until_quiet(tablet)
    tablet.close()
    return RECORDS


def fresh_phone(served: Served) -> Path:
    """A device logged in that has downloaded nothing yet."""
    phone = Device.login(
        served.tmp / f"phone-{uuid.uuid4().hex[:6]}", served.url, "alice", "secret"
    )
    phone.close()
    return phone.directory


def stored(directory: Path) -> int:
    device = Device(directory)
    try:
        return len(device.records("account"))
    finally:
        device.close()


def test_a_first_download_whose_device_is_killed_midway_resumes_from_the_last_stored_page(
    served: Served, small_pages: None
) -> None:
    total = loaded(served)
    directory = fresh_phone(served)
    assert served.proxy is not None
    # The last page is held back (the first screen and three pages pass); once the device
    # stored some pages before it, it is killed.
    fault = served.proxy.arm("hold", PULL, after=4)
    sync = device_sync_process(directory, page_size=PAGE)
    assert fault.answered.wait(60), "the download never reached its last page"
    deadline = time.monotonic() + 60
    while stored(directory) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    sync.send_signal(signal.SIGKILL)
    sync.wait(10)
    served.proxy.release()
    kept = stored(directory)
    assert 0 < kept < total
    device = Device(directory)
    assert device.sync().pulled == total - kept
    assert len(device.records("account")) == total


def test_a_first_download_whose_network_goes_midway_resumes_from_the_last_stored_page(
    served: Served, small_pages: None
) -> None:
    total = loaded(served)
    device = Device(fresh_phone(served))
    assert served.proxy is not None
    gone = served.proxy.arm("refuse", PULL, after=3, times=1000)  # the first screen, 2 pages
    with pytest.raises(Offline):
        device.sync()
    kept = len(device.records("account"))
    assert total // 2 <= kept < total
    served.proxy.faults.remove(gone)  # the network is back
    report = device.sync()
    assert report.pulled == total - kept
    assert report.downloaded > len(DESCRIPTION) * report.pulled  # uncompressed on loopback
    assert len(device.records("account")) == total
