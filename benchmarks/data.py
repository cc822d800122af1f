"""Realistic `account` records (12 fields, ~400 bytes of JSON) seeded straight into a DB."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from fieldsync.clock import now
from fieldsync.errors import Unprocessable
from fieldsync.server import users, versions
from fieldsync.server.db import Database
from fieldsync.server.schema import records as records_table

CITIES = ["Bratislava", "Kosice", "Zilina", "Nitra", "Presov", "Trnava", "Martin", "Poprad"]
INDUSTRIES = ["Agriculture", "Construction", "Consulting", "Manufacturing", "Retail"]


def account(i: int, rng: random.Random) -> dict[str, Any]:
    """One account with every field filled."""
    city = rng.choice(CITIES)
    return {
        "name": f"Account {i:07d} {rng.choice(['s.r.o.', 'a.s.', 'GmbH', 'Ltd'])}",
        "phone": f"+421 9{rng.randrange(10**8):08d}",
        "email": f"office{i}@account{i % 997}.example.com",
        "street": f"{rng.choice(['Hlavna', 'Mlynska', 'Dlha', 'Kratka'])} {rng.randrange(1, 200)}",
        "city": city,
        "zip": f"{rng.randrange(80000, 99999)}",
        "country": "Slovakia",
        "revenue": round(rng.uniform(1e4, 5e7), 2),
        "employees": rng.randrange(1, 5000),
        "industry": rng.choice(INDUSTRIES),
        "description": f"Key account in {city}; visited quarterly. " * 3,
        "active": rng.random() < 0.9,
    }


def seed(db: Database, count: int, owner: str) -> list[str]:
    """Insert `count` accounts in bulk (not timed); returns their ids in version order."""
    rng = random.Random(count)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
    stamp = now()
    with db.write() as conn:
        taken = versions.take(conn, count)
        for offset in range(0, count, 10_000):
            rows = []
            for n, record_id in enumerate(ids[offset : offset + 10_000], start=offset):
                version = taken[n]
                data = account(n, rng)
                rows.append(
                    {
                        "entity": "account",
                        "id": record_id,
                        "version": version,
                        "owner_id": owner,
                        "deleted": False,
                        "data": data,
                        "field_versions": dict.fromkeys(data, version),
                        "created_at": stamp,
                        "updated_at": stamp,
                        "updated_by": owner,
                    }
                )
            conn.execute(sa.insert(records_table), rows)
    if not db.is_sqlite:
        # As after any bulk load: without statistics PostgreSQL takes `entity = 'account'`
        # for a rare value and reads a whole index range where the primary key would do.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE records")
    return ids


def appointment(i: int, rng: random.Random, day: date) -> dict[str, Any]:
    """One appointment on `day` with every field filled but its lookup."""
    hour = rng.randrange(7, 18)
    return {
        "subject": f"Visit {i:07d}",
        "start": f"{day.isoformat()}T{hour:02}:00:00",
        "end": f"{day.isoformat()}T{hour + 1:02}:00:00",
        "location": rng.choice(CITIES),
        "regarding": None,
        "description": "Quarterly review of orders and open invoices.",
    }


def seed_appointments(db: Database, days: list[date], owner: str) -> list[str]:
    """One appointment on each of `days`, in that order of versions; their ids."""
    rng = random.Random(len(days))
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in days]
    stamp = now()
    with db.write() as conn:
        taken = versions.take(conn, len(days))
        rows = []
        for n, (record_id, day) in enumerate(zip(ids, days, strict=True)):
            data = appointment(n, rng, day)
            rows.append(
                {
                    "entity": "appointment",
                    "id": record_id,
                    "version": taken[n],
                    "owner_id": owner,
                    "deleted": False,
                    "data": data,
                    "field_versions": dict.fromkeys(data, taken[n]),
                    "created_at": stamp,
                    "updated_at": stamp,
                    "updated_by": owner,
                }
            )
        conn.execute(sa.insert(records_table), rows)
    return ids


def give(db: Database, ids: list[str], owner: str) -> None:
    """Make `owner` the owner of these accounts (their versions stay)."""
    t = records_table
    with db.write() as conn:
        for offset in range(0, len(ids), 1000):
            chunk = ids[offset : offset + 1000]
            mine = sa.and_(t.c.entity == "account", t.c.id.in_(chunk))
            conn.execute(sa.update(t).where(mine).values(owner_id=owner))


def past_and_upcoming(count: int, upcoming: int) -> list[date]:
    """`count` days, the last `upcoming` of them from today on, the others in the past
    two years (appointments are made as they come: the upcoming ones last)."""
    today = date.today()
    past = [today - timedelta(days=1 + n % 730) for n in range(count - upcoming)]
    return past + [today + timedelta(days=n % 30) for n in range(upcoming)]


def user_id(db: Database, name: str) -> str:
    """The id of a user, creating it (password `secret`) if needed."""
    with db.write() as conn:
        try:
            return users.find(conn, name)
        except Unprocessable:
            return users.add(conn, name, "secret", admin=name == "admin")


def record_size(rng_seed: int = 1) -> int:
    """Bytes of JSON of one seeded record."""
    return len(orjson.dumps(account(1, random.Random(rng_seed))))
