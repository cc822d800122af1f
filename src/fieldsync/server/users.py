"""Users, password checks, bearer tokens (stored only as SHA-256 hashes) and their devices."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync.clock import now, stamp
from fieldsync.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from fieldsync.server import names, password_hashes, passwords
from fieldsync.server.schema import devices, tokens, users

TOKEN_DAYS = 30
DEVICES_PER_USER = 20


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user behind a token, and the device it was issued to."""

    user_id: str
    username: str
    role: str
    device_id: str | None = None
    # The hash a login verified, so a token is issued only while it is still the user's.
    password_hash: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enroll(conn: Connection, username: str, password: str, *, admin: bool = False) -> str:
    """Create a user whose password a person chose: the password policy applies."""
    passwords.check(password, username)
    return add(conn, username, password, admin=admin)


def add(conn: Connection, username: str, password: str, *, admin: bool = False) -> str:
    """Create a user; returns its id. The password policy is `enroll`'s: this is for seeds."""
    key = names.check(username)
    _check_password_rule(password)
    # Writers take turns (`Database.write`), so no other user can take the name meanwhile.
    taken = conn.execute(sa.select(users.c.username)).scalars()
    if any(names.key(name) == key for name in taken):
        raise Conflict(f"user {username!r} exists already", code="user_exists")
    user_id = str(uuid.uuid4())
    conn.execute(
        sa.insert(users).values(
            id=user_id,
            username=username,
            password_hash=password_hashes.hash_password(password),
            role="admin" if admin else "user",
            disabled=False,
            created_at=now(),
        )
    )
    return user_id


def _check_password_rule(password: str) -> None:
    if not 4 <= len(password) <= 1000:
        raise Unprocessable("a password has 4 to 1000 characters", code="invalid_password")


def set_password(conn: Connection, user_id: str, password: str) -> int:
    """Give a user a new password (the policy applies) and revoke every token they hold:
    whoever knew the old one is signed out everywhere. Returns how many were revoked."""
    row = conn.execute(sa.select(users.c.username).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"no user {user_id!r:.80}", code="unknown_user")
    passwords.check(password, row.username)
    _update_user(conn, user_id, password_hash=password_hashes.hash_password(password))
    return revoke_user(conn, user_id)


def set_disabled(conn: Connection, user_id: str, disabled: bool) -> None:
    """Disable (or enable again) a user; disabling revokes every token they hold."""
    _update_user(conn, user_id, disabled=disabled)
    if disabled:
        revoke_user(conn, user_id)


def revoke_user(conn: Connection, user_id: str) -> int:
    """Revoke every live token of a user (all their devices and sessions); returns how many."""
    revoked = conn.execute(
        sa.update(tokens)
        .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(revoked.rowcount)


def _update_user(conn: Connection, user_id: str, **values: object) -> None:
    updated = conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))
    if updated.rowcount == 0:
        raise NotFound(f"no user {user_id!r:.80}", code="unknown_user")


def remove_device(conn: Connection, device_id: str) -> None:
    """Forget a device: its tokens are revoked and its id is free for its user's next one."""
    revoke_device(conn, device_id)
    conn.execute(sa.delete(devices).where(devices.c.id == device_id))


def revoke_device(conn: Connection, device_id: str) -> int:
    """Revoke every live token of a device (it must log in again); returns how many."""
    if conn.execute(sa.select(devices.c.id).where(devices.c.id == device_id)).first() is None:
        raise NotFound(f"no device {device_id!r:.80}", code="unknown_device")
    revoked = conn.execute(
        sa.update(tokens)
        .where(tokens.c.device_id == device_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(revoked.rowcount)


def check_password(conn: Connection, username: str, password: str) -> Principal:
    """The user behind a username and password, or 401 (run outside a write: Argon2 is slow)."""
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    if not password_hashes.verify(row.password_hash if row else None, password):
        row = None
    if row is None or row.disabled:
        raise Unauthorized("wrong username or password", code="bad_credentials")
    return Principal(row.id, row.username, row.role, password_hash=row.password_hash)


def issue_token(
    conn: Connection,
    who: Principal,
    device_id: str | None,
    lifetime: timedelta = timedelta(days=TOKEN_DAYS),
) -> tuple[str, Principal]:
    """A new token for a user `check_password` let in, bound to `device_id` when given (see
    `claim_device`), or 401 if their password changed or they were disabled since."""
    _check_still_valid(conn, who)
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + lifetime
    conn.execute(
        sa.insert(tokens).values(
            token_hash=_hash_token(token),
            user_id=who.user_id,
            device_id=device_id,
            created_at=now(),
            expires_at=stamp(expires),
        )
    )
    return token, Principal(who.user_id, who.username, who.role, device_id)


def _check_still_valid(conn: Connection, who: Principal) -> None:
    """Refuse a login whose password was verified against a hash the user no longer has:
    a password change must lock out logins still in flight with the old password."""
    row = conn.execute(
        sa.select(users.c.password_hash, users.c.disabled).where(users.c.id == who.user_id)
    ).first()
    if row is None or row.disabled or row.password_hash != who.password_hash:
        raise Unauthorized("wrong username or password", code="bad_credentials")


def authenticate(conn: Connection, token: str) -> Principal:
    """The principal behind a bearer token, or 401."""
    row = conn.execute(
        sa.select(users.c.id, users.c.username, users.c.role, users.c.disabled, tokens)
        .join(users, users.c.id == tokens.c.user_id)
        .where(tokens.c.token_hash == _hash_token(token))
    ).first()
    if row is None or row.revoked_at is not None or row.disabled:
        raise Unauthorized("the token is not valid; log in again", code="bad_token")
    if row.expires_at < now():
        raise Unauthorized("the token has expired; log in again", code="token_expired")
    return Principal(row.id, row.username, row.role, row.device_id)


def logout(conn: Connection, token: str) -> None:
    """Revoke one token."""
    conn.execute(
        sa.update(tokens).where(tokens.c.token_hash == _hash_token(token)).values(revoked_at=now())
    )


def claim_device(
    conn: Connection, who: Principal, device_id: str, limit: int = DEVICES_PER_USER
) -> None:
    """Register a device to the caller (at most `limit` per user, 409), or refuse one that
    is someone else's (403)."""
    if check_device(conn, who, device_id):
        return
    check_room_for_device(conn, who, limit)
    conn.execute(sa.insert(devices).values(id=device_id, user_id=who.user_id, created_at=now()))


def check_room_for_device(conn: Connection, who: Principal, limit: int) -> None:
    """Refuse (409) a new device to a user who has `limit` registered already."""
    owned = conn.execute(
        sa.select(sa.func.count()).select_from(devices).where(devices.c.user_id == who.user_id)
    ).scalar_one()
    if owned >= limit:
        raise Conflict(
            f"{who.username} has {owned} devices registered, the most allowed; an admin can "
            "remove old ones in the console (Devices)",
            code="too_many_devices",
        )


def check_device(conn: Connection, who: Principal, device_id: str) -> bool:
    """May the caller act as this device? True when it is registered to them, False when it is
    not registered yet; 403 when it is someone else's or the token is another device's.

    Every request that names a device asks this, before it reads or writes anything.
    """
    if who.device_id is not None and who.device_id != device_id:
        raise Forbidden("this token belongs to another device", code="foreign_device")
    row = conn.execute(sa.select(devices.c.user_id).where(devices.c.id == device_id)).first()
    if row is not None and row.user_id != who.user_id:
        raise Forbidden("this device is registered to another user", code="foreign_device")
    return row is not None


def usernames(conn: Connection) -> dict[str, str]:
    """Every user id with its name."""
    return {r.id: r.username for r in conn.execute(sa.select(users.c.id, users.c.username))}


def list_users(conn: Connection) -> list[dict[str, object]]:
    """Every user, without secrets."""
    rows = conn.execute(sa.select(users).order_by(users.c.username))
    return [
        {"id": r.id, "username": r.username, "role": r.role, "disabled": r.disabled} for r in rows
    ]


def find(conn: Connection, username: str) -> str:
    """The id of the user called `username`, or 422."""
    row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise Unprocessable(f"there is no user {username!r:.80}", code="unknown_user")
    return str(row.id)
