"""Many rows in one driver call, without SQLAlchemy's work per row.

A push of 1k changes writes 1k records and, when they conflict, 1k journal entries.
Going through SQLAlchemy, building each row's parameters cost about as much as the
database's own work. Here the statement is made once per table, dialect and set of
columns; JSON is encoded by orjson as the JSON columns' own serializer does (None
becomes JSON null, as SQLAlchemy stores it); the rows reach the driver's
`executemany` as tuples (SQLite). PostgreSQL takes new rows by COPY, and updates
as one `UPDATE … FROM json_to_recordset(…)` with all rows in one JSON parameter:
psycopg pipelines an `executemany`, and over TCP such a pipeline of 1k updates
stalled now and then for ~200 ms (never over a Unix socket); the single statement
takes the ~32 ms the pipeline took without a stall (multi-row `VALUES` lists took
55-95 ms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

Row = Mapping[str, Any]
CHUNK = 500  # values per IN (…) list, well under SQLite's parameter limit


def insert(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """Insert `rows`, which all give the same columns."""
    if not rows:
        return
    columns = tuple(rows[0])
    values = _tuples(table, columns, rows)
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, values)
    else:
        conn.exec_driver_sql(_insert_sql(table, columns), values)


def _copy(
    conn: Connection, table: sa.Table, columns: tuple[str, ...], values: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL's COPY: one stream for all rows instead of a statement per row
    (1k journal entries: ~37 instead of ~46 ms), in the connection's transaction."""
    import psycopg  # here, not above: a server on SQLite need not load it (~9 MB)

    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except psycopg.errors.IntegrityError as failure:  # as SQLAlchemy raises it for a statement
        raise IntegrityError(statement, None, failure) from failure
    finally:
        cursor.close()


def update(conn: Connection, table: sa.Table, keys: tuple[str, ...], rows: Sequence[Row]) -> None:
    """Update the row each of `rows` names by its `keys` columns with its other columns.

    On PostgreSQL a None in a JSON column becomes SQL NULL, not JSON null (no column
    updated this way takes either).
    """
    if not rows:
        return
    values = tuple(c for c in rows[0] if c not in keys)
    if conn.dialect.name == "postgresql":
        sql = _update_from_json_sql(conn.dialect, table, values, keys)
        conn.exec_driver_sql(sql, (orjson.dumps(rows).decode(),))
        return
    sql = _update_sql(table, values, keys)
    conn.exec_driver_sql(sql, _tuples(table, values + keys, rows))


def select_among(
    conn: Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    where: tuple[str, Any],
    among: tuple[str, Sequence[Any]],
) -> list[tuple[Any, ...]]:
    """The `columns` of the rows where `where` holds and `among`'s column is one of its
    values, as the driver gives them (JSON as text on SQLite, booleans as 0 and 1)."""
    (name, value), (column, values) = where, among
    selected = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {name} = "
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start : start + CHUNK])
        if conn.dialect.name == "postgresql":
            sql, params = f"{selected}%s AND {column} = ANY(%s)", (value, chunk)
        else:
            marks = ", ".join("?" for _ in chunk)
            sql, params = f"{selected}? AND {column} IN ({marks})", (value, *chunk)
        found += conn.exec_driver_sql(sql, params).all()
    return found


def json_value(value: Any) -> Any:
    """A JSON column's value as read: text from SQLite, already decoded from PostgreSQL."""
    # SQLite gives a JSON column numeric affinity: a stored scalar like 5 comes back as int.
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _tuples(
    table: sa.Table, columns: tuple[str, ...], rows: Sequence[Row]
) -> list[tuple[Any, ...]]:
    """Each row's values in `columns` order, JSON columns encoded."""
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    json = [n for n, name in enumerate(columns) if _is_json(table.c[name])]
    out = []
    for row in rows:
        line = list(values(row))
        for n in json:
            line[n] = orjson.dumps(line[n]).decode()
        out.append(tuple(line))
    return out


def _is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


@cache
def _insert_sql(table: sa.Table, columns: tuple[str, ...]) -> str:
    """SQLite's INSERT of one row (PostgreSQL takes new rows by COPY)."""
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"


@cache
def _update_from_json_sql(
    dialect: sa.Dialect, table: sa.Table, values: tuple[str, ...], keys: tuple[str, ...]
) -> str:
    """One UPDATE for all rows, which arrive as one JSON array of objects."""
    columns = ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}" for c in values + keys)
    sets = ", ".join(f"{c} = v.{c}" for c in values)
    where = " AND ".join(f"t.{c} = v.{c}" for c in keys)
    return (
        f"UPDATE {table.name} AS t SET {sets} "
        f"FROM json_to_recordset(%s::json) AS v({columns}) WHERE {where}"
    )


@cache
def _update_sql(table: sa.Table, values: tuple[str, ...], keys: tuple[str, ...]) -> str:
    """SQLite's UPDATE of one row, for `executemany`."""
    sets = ", ".join(f"{name} = ?" for name in values)
    where = " AND ".join(f"{name} = ?" for name in keys)
    return f"UPDATE {table.name} SET {sets} WHERE {where}"
