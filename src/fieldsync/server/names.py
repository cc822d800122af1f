"""Usernames: one key per name, so look-alikes cannot sit beside each other.

Two names are the same user when their keys are equal: the name in Unicode NFKC
form, casefolded (`ADMIN` is `admin`, and so is `admin` in full-width letters). A
name that mixes letters of the Latin, Cyrillic and Greek scripts (`admin` with a
Cyrillic `i`, U+0456) is refused: in one word, that mix is a disguise, not a name.
"""

from __future__ import annotations

import unicodedata

from fieldsync.errors import Unprocessable

MAX_LENGTH = 100
CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def key(username: str) -> str:
    """The name every lookup and the uniqueness of names go by."""
    return unicodedata.normalize("NFKC", username).casefold()


def check(username: str) -> str:
    """The key of a name a new user may take, or 422 `invalid_user`."""
    folded = key(username)
    if not username or not username.isprintable() or username != username.strip():
        raise Unprocessable(
            "a username is printable characters, without spaces around them", code="invalid_user"
        )
    if len(username) > MAX_LENGTH or len(folded) > MAX_LENGTH:
        raise Unprocessable(f"a username has at most {MAX_LENGTH} characters", code="invalid_user")
    scripts = sorted(_scripts(folded))
    if len(scripts) > 1:
        raise Unprocessable(
            f"a username must not mix {' and '.join(s.title() for s in scripts)} letters",
            code="invalid_user",
        )
    return folded


def _scripts(name: str) -> set[str]:
    """The confusable scripts whose letters appear in `name`."""
    found = set()
    for char in name:
        if char.isalpha():
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script in CONFUSABLE_SCRIPTS:
                found.add(script)
    return found
