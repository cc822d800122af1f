"""The wire module's types: what a device sends is what the server reads."""

from __future__ import annotations

from fieldsync.wire import Change, ChangeIn


def test_the_change_a_device_builds_has_the_keys_the_server_reads() -> None:
    assert Change.__required_keys__ | Change.__optional_keys__ == set(ChangeIn.model_fields)
