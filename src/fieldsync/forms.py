"""Text typed into a form or a command line, as the value a field holds.

Shared by the CLI, the admin console and the device app, so "12", "yes" or an
empty box mean the same everywhere; and the conflict forms' choices.
"""

from __future__ import annotations

from typing import Any

from fieldsync.conflicts import Choice
from fieldsync.errors import ValidationFailed
from fieldsync.project import Entity, Field, FieldType

TRUE = frozenset({"1", "true", "yes", "y", "on"})


def typed(fdef: Field, text: str) -> Any:
    """The value of `text` for a field of this type; an empty text is no value."""
    if fdef.type is not FieldType.TEXT:
        text = text.strip()
    if text == "":
        return None
    try:
        if fdef.type is FieldType.INTEGER:
            return int(text)
        if fdef.type is FieldType.DECIMAL:
            return float(text)
    except ValueError:
        label = fdef.label or fdef.name
        raise ValidationFailed("wrong_type", f"{label} must be a number, not {text!r}") from None
    if fdef.type is FieldType.BOOLEAN:
        return text.lower() in TRUE
    return text


def form_values(entity: Entity, form: Any, prefix: str = "f.") -> dict[str, Any]:
    """The entity's fields present in a submitted form (`prefix` + name), typed."""
    values = {}
    for fdef in entity.fields:
        text = form.get(prefix + fdef.name)
        if isinstance(text, str):
            values[fdef.name] = typed(fdef, text)
    return values


def conflict_choice(form: Any) -> tuple[Choice, dict[str, Choice]]:
    """The `use` of a conflict form and its per-field merge picks (`pick.FIELD`).

    Raises ValueError for a choice that is not device, server or merge.
    """
    picks = {
        key.removeprefix("pick."): Choice(str(value))
        for key, value in form.multi_items()
        if key.startswith("pick.")
    }
    return Choice(str(form.get("use"))), picks
