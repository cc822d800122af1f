"""Many rows in one driver call, without SQLAlchemy's work per row.

A push of 1k changes writes 1k records and, when they conflict, 1k journal entries.
Going through SQLAlchemy, building each row's parameters cost about as much as the
database's own work. Here the statement is made once per table, dialect and set of
columns, and a `Lane` sends a transaction's writes in lots:

- on SQLite, JSON is encoded by orjson as the JSON columns' own serializer does
  (None becomes JSON null, as SQLAlchemy stores it), and the rows reach the
  driver's `executemany` as tuples;
- on PostgreSQL, all rows of a lot go as one JSON parameter of one statement
  (`… FROM json_to_recordset(…)`; a None in a JSON column becomes SQL NULL, which
  reads back the same), sent through a `pipeline` so the database writes them
  while the caller prepares the next lot. One statement per lot, not per row:
  psycopg pipelines an `executemany`, and over TCP such a pipeline of 1k updates
  stalled now and then for ~200 ms (never over a Unix socket); multi-row
  `VALUES` lists took 55-95 ms where the JSON statement takes ~32.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync import failpoints

if TYPE_CHECKING:
    from fieldsync.server.pipeline import Pipeline

log = logging.getLogger(__name__)
Row = Mapping[str, Any]
# Rows are queued per table, key columns (None: new rows) and columns: a lot's
# statement is made for the columns of its rows.
Queue = tuple[sa.Table, tuple[str, ...] | None, tuple[str, ...]]
CHUNK = 500  # values per IN (…) list, well under SQLite's parameter limit


# Rows per lot a lane sends of each queue: while PostgreSQL writes one lot, a push
# of 1k changes decides the next (125 and 500: within the noise of 250, in process).
LOT = 250


class Lane:
    """The bulk writes of one transaction, in the order given; a context manager.

    Rows are queued per table and statement (`queue_insert`, `queue_update`) and
    sent a lot of `LOT` at a time, the rest by `send()`. On PostgreSQL each lot is
    sent and the caller goes on while the database writes it; `conn` and `wait()`
    wait for what is on its way (not for what is still queued), so read through
    `conn` while a lane is in use. Elsewhere each lot is written at once. The
    block's end sends and waits too, also when it raises: the connection is then
    free again for the transaction's rollback.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pipeline: Pipeline | None = None
        self._postgresql = conn.dialect.name == "postgresql"
        self._queued: dict[Queue, list[Row]] = {}

    def __enter__(self) -> Lane:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.send()
            self.wait()
            return
        try:
            self.wait()
        except sa.exc.DBAPIError as second:  # the block's own error is the one to tell
            log.warning("a write on its way failed too: %s", second)

    @property
    def conn(self) -> Connection:
        """The transaction's connection, once the writes on their way have landed."""
        self.wait()
        return self._conn

    def queue_insert(self, table: sa.Table, row: Row) -> None:
        """Queue a new row of `table`; a full lot is sent at once."""
        self._queue((table, None, tuple(row)), row)

    def queue_update(self, table: sa.Table, keys: tuple[str, ...], row: Row) -> None:
        """Queue an update of the row `row` names by its `keys` columns."""
        self._queue((table, keys, tuple(row)), row)

    def send(self) -> None:
        """Send everything queued, without waiting for it."""
        for queue in list(self._queued):
            self._send_queued(queue)

    def _queue(self, queue: Queue, row: Row) -> None:
        rows = self._queued.setdefault(queue, [])
        rows.append(row)
        if len(rows) >= LOT:
            self._send_queued(queue)

    def _send_queued(self, queue: Queue) -> None:
        table, keys, _columns = queue
        rows = self._queued.pop(queue, [])
        if keys is None:
            self.insert(table, rows)
        else:
            self.update(table, keys, rows)

    def insert(self, table: sa.Table, rows: Sequence[Row]) -> None:
        """Insert `rows`, which all give the same columns."""
        if not rows:
            return
        columns = tuple(rows[0])
        if self._postgresql:
            self._send(_insert_from_json_sql(self._conn.dialect, table, columns), rows)
        else:
            self.conn.exec_driver_sql(_insert_sql(table, columns), _tuples(table, columns, rows))
        failpoints.hit("server.write.lot_sent")

    def update(self, table: sa.Table, keys: tuple[str, ...], rows: Sequence[Row]) -> None:
        """Update the row each of `rows` names by its `keys` columns with its other columns."""
        if not rows:
            return
        values = tuple(c for c in rows[0] if c not in keys)
        if self._postgresql:
            self._send(_update_from_json_sql(self._conn.dialect, table, values, keys), rows)
        else:
            sql = _update_sql(table, values, keys)
            self.conn.exec_driver_sql(sql, _tuples(table, values + keys, rows))
        failpoints.hit("server.write.lot_sent")

    def wait(self) -> None:
        """Wait until what was sent is written; raises what failed."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.land()

    def _send(self, statement: str, rows: Sequence[Row]) -> None:
        parameter = orjson.dumps(rows)
        if self._pipeline is None:
            from fieldsync.server.pipeline import Pipeline  # psycopg: not on SQLite (~9 MB)

            self._pipeline = Pipeline.open(self._conn)
        if self._pipeline is None:  # not in a transaction yet: an ordinary statement
            self._conn.exec_driver_sql(statement.replace("$1", "%s"), (parameter.decode(),))
        else:
            self._pipeline.send(statement, parameter)


def select_among(
    conn: Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    among: tuple[str, Sequence[str]],
    where: tuple[str, Any] | None = None,
    lock: bool = False,
) -> list[Sequence[Any]]:
    """The `columns` of the rows whose `among` text column is one of its values (and where
    `where` holds), as the driver gives them (JSON as text on SQLite, booleans as 0
    and 1). The `among` column should lead an index: on SQLite a `where` column of
    another index can win the plan once the list is long, and scan all its rows.

    On PostgreSQL the columns must be text, integers, booleans or JSON: the rows come
    as one JSON document (see `_select_among_json`); with `lock` the rows are locked
    for update, in the order of the `among` column (SQLite has one writer anyway)."""
    if conn.dialect.name == "postgresql":
        return _select_among_json(conn, table, columns, among, where, lock)
    column, values = among
    also, also_params = _also(where, "?")
    found: list[Sequence[Any]] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {column} IN ({marks}){also}"
        found += conn.exec_driver_sql(sql, (*chunk, *also_params)).all()
    return found


def _select_among_json(
    conn: Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    among: tuple[str, Sequence[str]],
    where: tuple[str, Any] | None,
    lock: bool,
) -> list[Sequence[Any]]:
    """PostgreSQL's `select_among`: the rows come back as one
    JSON array of arrays, decoded by orjson at once, and the values looked for go as
    one array literal.

    For a push's 1k records, ~8 instead of ~13 ms: psycopg adapts a list parameter
    value by value, and hands each row's JSON columns to the decoder one by one. The
    values stay a parameter of the statement (a JSON array unpacked by a subquery was
    as fast, but where the planner filtered rows by it, it compared each row with
    every value: 90 ms for 1k new records, against 3 ms for a parameter).
    """
    column, values = among
    also, also_params = _also(where, "%s")
    rows = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {column} = ANY(%s::text[]){also}"
    if lock:
        rows += f" ORDER BY {column} FOR UPDATE"
    document = conn.exec_driver_sql(
        f"SELECT json_agg(json_build_array({', '.join(columns)}))::text FROM ({rows}) AS found",
        (_text_array(values), *also_params),
    ).scalar_one()
    return [] if document is None else orjson.loads(document)


def _also(where: tuple[str, Any] | None, mark: str) -> tuple[str, tuple[Any, ...]]:
    """`where` as a condition to add to a query (`mark`: the driver's), and its parameter."""
    return (f" AND {where[0]} = {mark}", (where[1],)) if where else ("", ())


def _text_array(values: Sequence[str]) -> str:
    """A PostgreSQL array literal of `values`, each quoted."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


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
    """SQLite's INSERT of one row, for `executemany`."""
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"


@cache
def _insert_from_json_sql(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> str:
    """One INSERT of all rows, which arrive as one JSON array of objects (`$1`)."""
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names} "
        f"FROM json_to_recordset($1::json) AS v({_recordset(dialect, table, columns)})"
    )


@cache
def _update_from_json_sql(
    dialect: sa.Dialect, table: sa.Table, values: tuple[str, ...], keys: tuple[str, ...]
) -> str:
    """One UPDATE of all rows, which arrive as one JSON array of objects (`$1`)."""
    sets = ", ".join(f"{c} = v.{c}" for c in values)
    where = " AND ".join(f"t.{c} = v.{c}" for c in keys)
    return (
        f"UPDATE {table.name} AS t SET {sets} "
        f"FROM json_to_recordset($1::json) AS v({_recordset(dialect, table, values + keys)}) "
        f"WHERE {where}"
    )


def _recordset(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> str:
    return ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}" for c in columns)


@cache
def _update_sql(table: sa.Table, values: tuple[str, ...], keys: tuple[str, ...]) -> str:
    """SQLite's UPDATE of one row, for `executemany`."""
    sets = ", ".join(f"{name} = ?" for name in values)
    where = " AND ".join(f"{name} = ?" for name in keys)
    return f"UPDATE {table.name} SET {sets} WHERE {where}"
