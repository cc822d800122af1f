"""A child refused because of its parent: the lookups a pushed record may not hold.

A lookup must point at a live record the user may see. When it does not, the
refusal names the real cause, so that the device knows when to send the child
again (with the parent's next change, or once the parent is settled):

- `parent_rejected`: the parent's change in the same batch was rejected;
- `missing_parent`: there is no such parent, or the user may not see it;
- `parent_conflict`: the parent is deleted in an open conflict;
- `parent_deleted`: the parent was deleted on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldsync.conflicts import Status
from fieldsync.errors import ValidationFailed
from fieldsync.project import Entity
from fieldsync.server import journal, records
from fieldsync.server.batch import Batch
from fieldsync.validation import lookups


def check_lookups(
    batch: Batch, entity: Entity, values: Mapping[str, Any], before: Mapping[str, Any] | None
) -> None:
    """Refuse lookups to missing, unseen, deleted or rejected records; a lookup the
    record held `before` already is left as it is."""
    for name, target, parent_id in lookups(entity, values):
        if before is not None and before.get(name) == parent_id:
            continue
        refusal = _refusal(batch, entity, (name, target, parent_id))
        if refusal is not None:
            raise refusal


def _refusal(batch: Batch, entity: Entity, lookup: tuple[str, str, str]) -> ValidationFailed | None:
    """The refusal of a lookup to a parent it may not point at, naming the cause (None
    when it may point at it)."""
    name, target, parent_id = lookup
    details = {"field": name, "parent": parent_id}
    where = f"{entity.name}.{name}"
    met = batch.met.get((target, parent_id))
    if met is Status.REJECTED:
        message = f"{where} points at a {target} that was rejected"
        return ValidationFailed("parent_rejected", message, details)
    parent = batch.record(target, parent_id)
    target_entity = batch.project.entity(target)
    if (
        parent is None
        or target_entity is None
        or not records.may_see(batch.user, target_entity, parent)
    ):
        message = f"{where} points at a {target} that does not exist"
        return ValidationFailed("missing_parent", message, details)
    if not parent.deleted:
        return None
    # A conflict this batch met is open; one it settled is not, though its entry's
    # closing may not be written yet.
    if met is Status.CONFLICT or (met is None and journal.is_open(batch.conn, target, parent_id)):
        message = f"{where}: its {target} has an open conflict"
        return ValidationFailed("parent_conflict", message, details)
    message = f"{where}: its {target} was deleted on the server"
    return ValidationFailed("parent_deleted", message, details)
