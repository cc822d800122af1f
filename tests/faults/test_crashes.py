"""Crashes and cut connections at every step of a sync lose nothing and apply nothing twice."""

from __future__ import annotations

import signal
import uuid
from typing import Any

import pytest

from faults.conftest import Served, device_sync_process
from faults.invariants import assert_invariants, offline, sync_until_quiet
from fieldsync.device import Device
from fieldsync.device.retries import ATTEMPTS

PUSH = b"POST /v1/sync/push"
PULL = b"GET /v1/sync/pull"


def offline_edits(device: Device, existing: str) -> dict[str, dict[str, Any]]:
    """Three new accounts and an edit of a synced one, made offline; what the server must get."""
    tag = uuid.uuid4().hex[:6]
    expected = {
        device.create("account", {"name": f"New {tag} {n}", "city": "Trnava"}): {
            "name": f"New {tag} {n}"
        }
        for n in range(3)
    }
    device.update("account", existing, {"phone": f"+421 {tag}"})
    expected[existing] = {"phone": f"+421 {tag}"}
    return expected


@pytest.fixture
def served(shared_served: Served) -> Served:
    """The tests here share their module's server: every record has a name of its own."""
    return shared_served


def prepared(served: Served, name: str = "phone") -> tuple[Device, dict[str, dict[str, Any]]]:
    device = served.device(name)
    existing = device.create("account", {"name": f"Existing {name} {uuid.uuid4().hex[:6]}"})
    sync_until_quiet(device)
    expected = offline_edits(device, existing)
    device.close()  # the sync under test runs in its own process
    return Device(served.tmp / name), expected


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [("stall", PUSH), ("hold", PUSH), ("stall", PULL)],
    ids=["before-the-push-arrives", "after-the-server-committed", "during-the-pull"],
)
def test_device_killed_mid_sync_recovers_exactly_once(
    served: Served, kind: str, prefix: bytes
) -> None:
    device, expected = prepared(served)
    assert served.proxy is not None
    fault = served.proxy.arm(kind, prefix)
    sync = device_sync_process(device.directory)
    assert fault.answered.wait(20), "the sync never reached the fault"
    sync.send_signal(signal.SIGKILL)
    sync.wait(10)
    served.proxy.release()
    with served.office() as office:
        assert_invariants(office, device, expected)


@pytest.mark.parametrize("failpoint", ["device.push.answered", "device.pull.page"])
def test_device_killed_at_a_failpoint_recovers_exactly_once(served: Served, failpoint: str) -> None:
    device, expected = prepared(served)
    with served.office() as office:  # enough records for several pull pages of 7
        other = served.device("tablet")
        tag = uuid.uuid4().hex[:6]
        for n in range(30):
            other.create("account", {"name": f"Bulk {tag} {n}"})
        sync_until_quiet(other)
        sync = device_sync_process(device.directory, failpoint, page_size=7)
        assert sync.wait(60) == -signal.SIGKILL
        assert_invariants(office, device, expected)


@pytest.mark.parametrize("failpoint", ["server.push.before_commit", "server.push.after_commit"])
def test_server_killed_during_a_push_recovers_exactly_once(served: Served, failpoint: str) -> None:
    device, expected = prepared(served)
    served.stop()
    served.start(failpoint)
    assert offline(device)  # the server died under the push: the device keeps its changes
    assert served.died() == -signal.SIGKILL
    served.start()  # the same batch goes to the restarted server
    with served.office() as office:
        assert_invariants(office, device, expected)


@pytest.mark.parametrize(
    ("kind", "keep"),
    [("cut", 0), ("cut", 40), ("reset", 0), ("refuse", 0)],
    ids=["cut-before-the-answer", "cut-mid-answer", "reset", "refused"],
)
def test_connection_faults_on_push_lose_nothing(served: Served, kind: str, keep: int) -> None:
    device, expected = prepared(served)
    assert served.proxy is not None
    served.proxy.arm(kind, PUSH, keep=keep, times=ATTEMPTS)  # every retry meets it
    assert offline(device)
    with served.office() as office:
        assert_invariants(office, device, expected)


@pytest.mark.parametrize("kind", ["cut", "reset", "refuse"])
def test_one_dropped_connection_is_retried_within_the_sync(served: Served, kind: str) -> None:
    device, expected = prepared(served)
    assert served.proxy is not None
    served.proxy.arm(kind, PUSH)
    assert not offline(device)  # the user sees nothing
    with served.office() as office:
        assert_invariants(office, device, expected)


def test_a_slow_server_is_waited_for(served: Served) -> None:
    device, expected = prepared(served)
    assert served.proxy is not None
    served.proxy.arm("delay", PUSH, seconds=1.5)
    with served.office() as office:
        assert_invariants(office, device, expected)
