"""Many rows in one statement: the writes of a transaction queued and sent together,
and reads of the rows among many keys.

A push writes a record per change and, when they conflict, a journal entry each.
`QueuedWrites` gathers them per table and statement and sends each set at once,
as a Core statement: on SQLite compiled once and run by the driver's `executemany`
with a tuple per row; on PostgreSQL as one statement whose rows arrive as one JSON
parameter, unpacked by `json_to_recordset` (an `executemany` there sends one
statement per row, a round trip each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fieldsync import sql

Row = Mapping[str, Any]
# Rows are queued per table, key columns (None: new rows) and columns: each
# statement is made for the columns of its rows.
Queue = tuple[sa.Table, tuple[str, ...] | None, tuple[str, ...]]


class QueuedWrites:
    """The inserts and updates of one transaction, in the order queued per table and
    statement, sent by `flush()`; a context manager that flushes at the block's end
    (unless the block raised: the transaction then rolls back anyway).

    Read through `conn`: what is queued is not written until `flush()`.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._queued: dict[Queue, list[Row]] = {}

    def __enter__(self) -> QueuedWrites:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.flush()

    def queue_insert(self, table: sa.Table, row: Row) -> None:
        """Queue a new row of `table`."""
        self._queued.setdefault((table, None, tuple(row)), []).append(row)

    def queue_update(self, table: sa.Table, keys: tuple[str, ...], row: Row) -> None:
        """Queue an update of the row `row` names by its `keys` columns."""
        self._queued.setdefault((table, keys, tuple(row)), []).append(row)

    def flush(self) -> None:
        """Write everything queued: one statement per table and set of columns."""
        queued, self._queued = self._queued, {}
        for (table, keys, _columns), rows in queued.items():
            if keys is None:
                insert(self.conn, table, rows)
            else:
                update(self.conn, table, keys, rows)


def insert(conn: Connection, table: sa.Table, rows: Sequence[Row]) -> None:
    """Insert `rows`, which all give the same columns."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name != "postgresql":
        _execute_many(conn, table, sa.insert(table).values(_bound(columns)), rows)
        return
    given = _recordset(table, columns, rows)
    conn.execute(sa.insert(table).from_select(columns, sa.select(*given.c)))


def update(conn: Connection, table: sa.Table, keys: tuple[str, ...], rows: Sequence[Row]) -> None:
    """Update the row each of `rows` names by its `keys` columns with its other columns,
    which are the same in all of them."""
    if not rows:
        return
    values = [c for c in rows[0] if c not in keys]
    if conn.dialect.name != "postgresql":
        where = [table.c[k] == sa.bindparam(k) for k in keys]
        _execute_many(conn, table, sa.update(table).where(*where).values(_bound(values)), rows)
        return
    given = _recordset(table, [*values, *keys], rows)
    statement = sa.update(table).where(*(table.c[k] == given.c[k] for k in keys))
    conn.execute(statement.values({c: given.c[c] for c in values}))


def _bound(columns: list[str]) -> dict[str, sa.BindParameter[Any]]:
    """Each column set from the parameter of its own name."""
    return {c: sa.bindparam(c) for c in columns}


def _execute_many(
    conn: Connection, table: sa.Table, statement: sa.Insert | sa.Update, rows: Sequence[Row]
) -> None:
    """SQLite: `statement`, whose parameters are named after `table`'s columns, run for
    each of `rows` in one `executemany`, each row handed to the driver as a tuple
    encoded by its columns' types. (Given the rows as dictionaries, SQLAlchemy builds
    each one's parameters through the compiled statement, which costs the server as
    much CPU as SQLite's own writing of them.)"""
    compiled = statement.compile(dialect=conn.dialect)
    names = compiled.positiontup or []
    encoders = [
        (n, encode)
        for n, name in enumerate(names)
        if (encode := table.c[name].type.bind_processor(conn.dialect)) is not None
    ]
    lines = []
    for row in rows:
        line = [row[name] for name in names]
        for n, encode in encoders:
            line[n] = encode(line[n])
        lines.append(tuple(line))
    conn.exec_driver_sql(compiled.string, lines)


def _recordset(table: sa.Table, columns: list[str], rows: Sequence[Row]) -> sa.TableValuedAlias:
    """PostgreSQL: `rows` as one JSON parameter, unpacked into `table`'s typed `columns`
    (a None in a JSON column becomes SQL NULL)."""
    rows_json = sa.bindparam("rows", list(rows), type_=sa.JSON)
    typed = (sa.column(c, table.c[c].type) for c in columns)
    recordset = sa.func.json_to_recordset(rows_json).table_valued(*typed)
    return recordset.render_derived("given", with_types=True)


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
    for chunk in sql.chunks(values):
        marks = sql.marks(len(chunk))
        query = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {column} IN ({marks}){also}"
        found += conn.exec_driver_sql(query, (*chunk, *also_params)).all()
    return found


def _select_among_json(
    conn: Connection,
    table: sa.Table,
    columns: tuple[str, ...],
    among: tuple[str, Sequence[str]],
    where: tuple[str, Any] | None,
    lock: bool,
) -> list[Sequence[Any]]:
    """PostgreSQL's `select_among`: the rows come back as one JSON array of arrays,
    decoded by orjson at once, and the values looked for go as one array literal
    (psycopg adapts a list parameter value by value, and hands each row's JSON
    columns to the decoder one by one). The values stay a parameter of the statement:
    where the planner filtered rows by a JSON array unpacked in a subquery, it
    compared each row with every value.
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
