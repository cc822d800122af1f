"""Text typed into a form or a command line, as the value a field holds.

Shared by the CLI and the admin console, so "12", "yes" or an empty box mean the
same in both; the conflict forms' choices; and the check of a
form's CSRF token.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from fieldsync.conflicts import Choice
from fieldsync.errors import ValidationFailed
from fieldsync.project import Entity, Field, FieldType

TRUE = frozenset({"1", "true", "yes", "y", "on"})
# ASCII digits only: int() also takes full-width and other scripts' digits, and "1_000".
_INTEGER = re.compile(r"[+-]?[0-9]+")


def integer(text: str) -> int:
    """The whole number written in `text` (ASCII digits, an optional sign); a
    ValueError for anything else."""
    if _INTEGER.fullmatch(text) is None:
        raise ValueError(f"not a whole number: {text!r:.40}")
    return int(text)


def same_token(sent: Any, expected: str | None) -> bool:
    """True when a form sent the CSRF token expected of it. Any text may arrive, so
    both are compared as bytes (in constant time)."""
    if not isinstance(sent, str) or not expected:
        return False
    return hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def typed(fdef: Field, text: str) -> Any:
    """The value of `text` for a field of this type; an empty text is no value."""
    if fdef.type is not FieldType.TEXT:
        text = text.strip()
    if text == "":
        return None
    try:
        if fdef.type is FieldType.INTEGER:
            return integer(text)
        if fdef.type is FieldType.DECIMAL:
            return float(text)
    except ValueError:
        label = fdef.label or fdef.name
        raise ValidationFailed("wrong_type", f"{label} must be a number, not {text!r}") from None
    if fdef.type is FieldType.BOOLEAN:
        return text.lower() in TRUE
    return text


def shown(value: Any) -> str:
    """The text a record form shows for a stored value (and sends back untouched)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_text(sent: str, shown_text: str) -> bool:
    # Browsers send every line break of a form as CR LF (the HTML form encoding).
    return sent.replace("\r\n", "\n") == shown_text.replace("\r\n", "\n")


def changed_values(entity: Entity, form: Any) -> dict[str, Any]:
    """The fields the user changed in a submitted record form, typed.

    Beside each input `f.NAME` the form carries `o.NAME`, the text the input was
    shown with; a field whose input still holds it is left out, so its stored value
    survives byte for byte (a retired picklist value, spaces, line breaks, a decimal
    written otherwise). A field without `o.NAME` counts as changed. Line breaks of a
    changed value are stored as LF, whatever the browser sent.
    """
    values = {}
    for fdef in entity.fields:
        text = form.get("f." + fdef.name)
        if not isinstance(text, str):
            continue
        original = form.get("o." + fdef.name)
        if isinstance(original, str) and _same_text(text, original):
            continue
        values[fdef.name] = typed(fdef, text.replace("\r\n", "\n"))
    return values


def submitted_texts(entity: Entity, form: Any, prefix: str) -> dict[str, Any]:
    """The texts a submitted record form holds for each field (`prefix` + name)."""
    return {f.name: form.get(prefix + f.name) for f in entity.fields}


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
