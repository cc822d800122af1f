"""Why the server refused a change, in the words a field worker would use."""

from __future__ import annotations

from typing import Any

from fieldsync.project import Entity


def _label(entity: Entity, details: Any) -> str:
    name = details.get("field") if isinstance(details, dict) else None
    fdef = entity.field(name) if isinstance(name, str) else None
    return fdef.label if fdef is not None else "A field"


def plain_words(entity: Entity, error: dict[str, Any]) -> str:
    """One sentence for a rejection (the server's own message is shown beside it)."""
    code, details = error.get("code"), error.get("details")
    label = _label(entity, details)
    limit = details.get("max_length") if isinstance(details, dict) else None
    sentences = {
        "too_long": f"{label} is too long: the server takes at most {limit} characters.",
        "required": f"{label} is required: fill it in.",
        "wrong_type": f"{label} has a value of the wrong kind.",
        "not_an_option": f"{label} has a value that is not one of its choices any more.",
        "unknown_field": "A field of this record no longer exists on the server.",
        "missing_parent": "It points at a record the server does not have.",
        "parent_rejected": "It points at a record whose change was refused; fix that first.",
        "parent_deleted": "It points at a record that was deleted on the server.",
        "parent_conflict": (
            "It points at a record with an open conflict; it is sent again once that is settled."
        ),
        "no_permission": f"You may not change this {entity.label.lower()}.",
        "not_found": f"This {entity.label.lower()} no longer exists on the server.",
        "already_exists": f"A {entity.label.lower()} with the same id exists on the server.",
        "entity_not_synced": f"{entity.label} records are not synced to devices any more.",
    }
    return sentences.get(str(code), "The server refused this change.")
