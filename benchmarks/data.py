"""Realistic `account` records (12 fields, ~400 bytes of JSON) seeded straight into a DB."""

from __future__ import annotations

import random
import uuid
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
