"""The pure conflict core: every cell of docs/policies.md's tables, both detection modes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldsync.conflicts import (
    Choice,
    Kind,
    Op,
    Situation,
    Status,
    decide,
    differing,
    merge_fields,
    resolve,
)
from fieldsync.project import Detection, Policy

BASE = {"name": "Acme", "city": "Bratislava", "phone": "1", "zip": "811"}
DEVICE = {**BASE, "city": "Kosice"}  # the device changed city
SERVER = {**BASE, "phone": "2"}  # the server changed phone
SERVER_SAME_FIELD = {**BASE, "city": "Zilina", "phone": "2"}  # …and city


def situation(
    policy: Policy,
    *,
    op: Op = Op.UPDATE,
    device: dict[str, Any] | None = DEVICE,
    server: dict[str, Any] = SERVER,
    server_deleted: bool = False,
    server_modified: bool = True,
    detection: Detection = Detection.RECORD,
) -> Situation:
    return Situation(
        policy=policy,
        detection=detection,
        op=op,
        device=None if op is Op.DELETE else device,
        device_changed=frozenset() if op is Op.DELETE else differing(BASE, device),
        server=server,
        server_deleted=server_deleted,
        server_modified=server_modified,
        server_changed=differing(BASE, server) if server_modified else frozenset(),
    )


UPDATE_UPDATE = [
    (Policy.SERVER_WINS, Status.SERVER_WINS, SERVER),
    (Policy.PARTIAL_DEVICE_WINS, Status.MERGED, {**SERVER, "city": "Kosice"}),
    (Policy.FULL_DEVICE_WINS, Status.DEVICE_WINS, DEVICE),
    (Policy.USER_ACTION, Status.CONFLICT, SERVER),
]


@pytest.mark.parametrize(("policy", "status", "server_after"), UPDATE_UPDATE)
def test_update_update_record_detection(policy: Policy, status: Status, server_after: Any) -> None:
    outcome = resolve(situation(policy))
    assert outcome.status is status
    assert outcome.result == server_after
    assert outcome.kind is Kind.UPDATE_UPDATE
    assert outcome.changed == (server_after != SERVER)


@pytest.mark.parametrize("policy", list(Policy))
def test_field_detection_merges_disjoint_changes_silently(policy: Policy) -> None:
    outcome = resolve(situation(policy, detection=Detection.FIELD))
    assert outcome.status is Status.MERGED
    assert outcome.result == {**SERVER, "city": "Kosice"}
    assert not outcome.is_conflict


FIELD_OVERLAP = [
    (Policy.SERVER_WINS, Status.SERVER_WINS, SERVER_SAME_FIELD),
    (Policy.PARTIAL_DEVICE_WINS, Status.MERGED, {**SERVER_SAME_FIELD, "city": "Kosice"}),
    (Policy.FULL_DEVICE_WINS, Status.DEVICE_WINS, {**SERVER_SAME_FIELD, "city": "Kosice"}),
    (Policy.USER_ACTION, Status.CONFLICT, SERVER_SAME_FIELD),
]


@pytest.mark.parametrize(("policy", "status", "server_after"), FIELD_OVERLAP)
def test_field_detection_resolves_overlapping_fields_by_policy(
    policy: Policy, status: Status, server_after: Any
) -> None:
    outcome = resolve(situation(policy, server=SERVER_SAME_FIELD, detection=Detection.FIELD))
    assert outcome.status is status
    assert outcome.result == server_after
    assert outcome.fields == {"city"}


def test_field_detection_keeps_device_fields_the_server_did_not_touch() -> None:
    device = {**DEVICE, "zip": "040"}  # city (overlaps) and zip (does not)
    outcome = resolve(
        situation(
            Policy.SERVER_WINS, device=device, server=SERVER_SAME_FIELD, detection=Detection.FIELD
        )
    )
    assert outcome.result == {**SERVER_SAME_FIELD, "zip": "040"}


def test_field_detection_same_value_on_both_sides_is_no_conflict() -> None:
    server = {**SERVER, "city": "Kosice"}
    outcome = resolve(situation(Policy.USER_ACTION, server=server, detection=Detection.FIELD))
    assert outcome.status is Status.MERGED
    assert not outcome.is_conflict


UPDATE_DELETE = [  # the device updated, the server deleted
    (Policy.SERVER_WINS, Status.SERVER_WINS, None),
    (Policy.PARTIAL_DEVICE_WINS, Status.MERGED, {**SERVER, "city": "Kosice"}),
    (Policy.FULL_DEVICE_WINS, Status.DEVICE_WINS, DEVICE),
    (Policy.USER_ACTION, Status.CONFLICT, None),
]


@pytest.mark.parametrize("detection", list(Detection))
@pytest.mark.parametrize(("policy", "status", "server_after"), UPDATE_DELETE)
def test_device_update_meets_server_delete(
    policy: Policy, status: Status, server_after: Any, detection: Detection
) -> None:
    outcome = resolve(situation(policy, server_deleted=True, detection=detection))
    assert outcome.status is status
    assert outcome.result == server_after
    assert outcome.kind is Kind.UPDATE_DELETE
    assert outcome.changed == (server_after is not None)


DELETE_UPDATE = [  # the device deleted, the server updated
    (Policy.SERVER_WINS, Status.SERVER_WINS, SERVER),
    (Policy.PARTIAL_DEVICE_WINS, Status.DEVICE_WINS, None),
    (Policy.FULL_DEVICE_WINS, Status.DEVICE_WINS, None),
    (Policy.USER_ACTION, Status.CONFLICT, SERVER),
]


@pytest.mark.parametrize("detection", list(Detection))
@pytest.mark.parametrize(("policy", "status", "server_after"), DELETE_UPDATE)
def test_device_delete_meets_server_update(
    policy: Policy, status: Status, server_after: Any, detection: Detection
) -> None:
    outcome = resolve(situation(policy, op=Op.DELETE, detection=detection))
    assert outcome.status is status
    assert outcome.result == server_after
    assert outcome.kind is Kind.DELETE_UPDATE


@pytest.mark.parametrize("policy", list(Policy))
def test_both_deleted_is_no_conflict(policy: Policy) -> None:
    outcome = resolve(situation(policy, op=Op.DELETE, server_deleted=True))
    assert outcome.status is Status.APPLIED
    assert outcome.result is None
    assert not outcome.is_conflict
    assert not outcome.changed


@pytest.mark.parametrize("policy", list(Policy))
def test_no_server_change_applies_the_device_change(policy: Policy) -> None:
    outcome = resolve(situation(policy, server=BASE, server_modified=False))
    assert outcome.status is Status.APPLIED
    assert outcome.result == DEVICE
    assert not outcome.is_conflict


def test_user_choices_for_an_open_conflict() -> None:
    s = situation(Policy.USER_ACTION, server=SERVER_SAME_FIELD)
    assert decide(s, Choice.DEVICE).result == DEVICE
    assert decide(s, Choice.SERVER).result == SERVER_SAME_FIELD
    assert not decide(s, Choice.SERVER).changed
    merged = merge_fields(DEVICE, SERVER_SAME_FIELD, {"city": Choice.DEVICE})
    assert decide(s, Choice.MERGE, merged).result == {**SERVER_SAME_FIELD, "city": "Kosice"}


def test_delete_conflict_choices() -> None:
    restore = situation(Policy.USER_ACTION, server_deleted=True)
    assert decide(restore, Choice.DEVICE).result == DEVICE  # "restore my version"
    assert decide(restore, Choice.SERVER).result is None  # "accept delete"
    delete = situation(Policy.USER_ACTION, op=Op.DELETE)
    assert decide(delete, Choice.DEVICE).result is None  # "delete anyway"
    assert decide(delete, Choice.SERVER).result == SERVER  # "keep server version"


values = st.dictionaries(
    st.sampled_from(["name", "city", "phone", "zip"]), st.one_of(st.none(), st.text(max_size=3))
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=st.sampled_from(list(Policy)),
    detection=st.sampled_from(list(Detection)),
    device=values,
    server=values,
    op=st.sampled_from([Op.UPDATE, Op.DELETE]),
    server_deleted=st.booleans(),
)
def test_every_outcome_keeps_the_policy_promises(
    policy: Policy,
    detection: Detection,
    device: dict[str, Any],
    server: dict[str, Any],
    op: Op,
    server_deleted: bool,
) -> None:
    d, s_ = {**BASE, **device}, {**BASE, **server}
    s = Situation(
        policy,
        detection,
        op,
        None if op is Op.DELETE else d,
        frozenset() if op is Op.DELETE else differing(BASE, d),
        s_,
        server_deleted,
        True,
        differing(BASE, s_),
    )
    outcome = resolve(s)
    if policy is Policy.USER_ACTION and outcome.is_conflict:
        assert not outcome.changed  # nothing is written until the user decides
        assert outcome.status is Status.CONFLICT
    if policy is Policy.SERVER_WINS and detection is Detection.RECORD:
        assert not outcome.changed  # the server's version is kept, whatever the device did
    if outcome.result is not None and op is Op.UPDATE and policy in DEVICE_WINNING:
        for name in s.device_changed:  # device-winning policies carry the device's changes
            assert outcome.result[name] == d[name]
    if outcome.changed and not outcome.is_conflict:
        assert outcome.status in (Status.APPLIED, Status.MERGED)


DEVICE_WINNING = (Policy.PARTIAL_DEVICE_WINS, Policy.FULL_DEVICE_WINS)
