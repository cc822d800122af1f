"""New record and conflict ids: UUIDs of version 7, which sort by when they were made."""

from __future__ import annotations

import time
import uuid

from fieldsync.ids import time_ordered


def test_a_new_id_is_a_version_7_uuid_of_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    text = time_ordered()
    after = time.time_ns() // 1_000_000
    made = uuid.UUID(text)
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert before <= made.int >> 80 <= after
    assert text == str(made)  # canonical (lower case, dashed), as every id is stored


def test_ids_made_later_sort_later_and_never_repeat() -> None:
    first = [time_ordered() for _ in range(5_000)]
    time.sleep(0.002)
    later = [time_ordered() for _ in range(5_000)]
    assert max(first) < min(later)
    assert len(set(first + later)) == 10_000
