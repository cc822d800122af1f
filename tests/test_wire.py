"""The wire module's types: what a device sends is what the server reads."""

from __future__ import annotations

from fieldsync.device import pull
from fieldsync.wire import Change, ChangeIn, PulledChange, PullOut


def test_the_change_a_device_builds_has_the_keys_the_server_reads() -> None:
    assert Change.__required_keys__ | Change.__optional_keys__ == set(ChangeIn.model_fields)


def test_the_page_a_device_decodes_has_the_keys_the_server_sends() -> None:
    assert set(pull.Change.__struct_fields__) == PulledChange.__required_keys__
    # A page's totals come only when asked for (`count=true`); the device reads them apart.
    assert set(pull.Page.__struct_fields__) == set(PullOut.__annotations__) - {"total", "totals"}
