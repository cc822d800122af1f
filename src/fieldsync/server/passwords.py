"""The password policy, after NIST SP 800-63B: length and a list of known passwords.

A password a person sets (`fieldsync user add/passwd`, the console, the admin API)
has at least `MIN_LENGTH` characters (code points, spaces count), at most
`MAX_LENGTH`, is not one character repeated, is not a commonly leaked password
(`common-passwords.txt`, compared without regard to case), and neither equals nor
contains the username. There are no composition rules (no "one digit, one
symbol"): they make passwords harder to remember, not to guess.
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources

from fieldsync.errors import Unprocessable

MIN_LENGTH, MAX_LENGTH = 8, 1000
# A username this short is inside too many good passwords to refuse them all.
NAME_INSIDE_FROM = 3


@functools.cache
def common() -> frozenset[str]:
    """The bundled list of commonly leaked passwords, casefolded."""
    text = resources.files("fieldsync.server").joinpath("common-passwords.txt").read_text()
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))


def check(password: str, username: str) -> None:
    """Refuse (422 `weak_password`) a password the policy does not allow for `username`."""
    problem = _problem(unicodedata.normalize("NFKC", password), _folded(username))
    if problem is not None:
        raise Unprocessable(problem, code="weak_password")


def _problem(password: str, name: str) -> str | None:
    folded = password.casefold()
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if len(set(password)) == 1:
        return "a password is not one character repeated"
    if folded in common():
        return "this password is on the list of commonly used passwords; choose another"
    if folded == name or (len(name) >= NAME_INSIDE_FROM and name in folded):
        return "a password must not contain the username"
    return None


def _folded(username: str) -> str:
    return unicodedata.normalize("NFKC", username).casefold()
