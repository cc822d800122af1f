"""Password hashes: Argon2id with RFC 9106's low-memory parameters (64 MiB, 3 passes).

A hash carries the parameters it was made with, and a check costs what they ask.
The test suite alone sets `FIELDSYNC_TEST_CHEAP_HASHES=1`, under which new hashes
take argon2's cheapest parameters so that its hundreds of logins stay quick;
`fieldsync serve` says so on its console when a server runs with it.
"""

from __future__ import annotations

import functools
import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import VerificationError

CHEAP_FOR_TESTS = "FIELDSYNC_TEST_CHEAP_HASHES"


def cheap_for_tests() -> bool:
    """True when this process was told to make cheap hashes (the test suite)."""
    return os.environ.get(CHEAP_FOR_TESTS) == "1"


@functools.cache
def _hasher() -> PasswordHasher:
    if cheap_for_tests():
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


@functools.cache
def _dummy() -> str:
    return _hasher().hash("not a password")


def hash_password(password: str) -> str:
    """The hash to store for `password`."""
    return _hasher().hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when `password` is the one `stored` was made of. With no stored hash (an
    unknown user) a dummy one is checked, so a wrong name costs as much as a wrong
    password."""
    try:
        return _hasher().verify(stored or _dummy(), password) and stored is not None
    except VerificationError:
        return False
