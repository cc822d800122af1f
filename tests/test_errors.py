"""The error tree: each refusal's HTTP answer comes from its type, never from its code."""

from __future__ import annotations

import pytest

from fieldsync.errors import (
    ApiError,
    Gone,
    InvalidProject,
    Missing,
    Refused,
    StateConflict,
    ValidationFailed,
    as_api_error,
)


@pytest.mark.parametrize(
    ("refused", "status"),
    [
        (ValidationFailed("unknown_field", "account has no field 'colour'"), 422),
        (InvalidProject("picklist rating needs options"), 422),
        (Missing("no account 42 on this device", code="unknown_record"), 404),
        (StateConflict("account 42 has no rejected change", code="not_rejected"), 409),
        (Refused("you may not change this account", code="no_permission"), 422),
    ],
)
def test_a_refusal_is_answered_with_the_status_of_its_type(refused: Refused, status: int) -> None:
    answer = as_api_error(refused)
    assert answer.status == status
    assert answer.body() == {
        "error": {"code": refused.code, "message": refused.message, "details": refused.details}
    }


def test_the_domain_refusals_carry_nothing_of_http() -> None:
    for kind in (ValidationFailed, InvalidProject, Missing, StateConflict):
        assert not issubclass(kind, ApiError)
        assert not hasattr(kind, "status")
    assert InvalidProject("bad").code == "invalid_setting"


def test_an_http_error_answers_for_itself() -> None:
    gone = Gone("the cursor is older than the horizon")
    assert as_api_error(gone) is gone
    assert (gone.status, gone.code) == (410, "resync_required")
