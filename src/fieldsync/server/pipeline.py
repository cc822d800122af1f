"""Statements sent to PostgreSQL without waiting for them (libpq's pipeline mode).

A push of 1k changes spends about as long in Python, deciding each change, as
PostgreSQL spends writing the rows. Sent a few hundred rows at a time through a
pipeline, the database writes one lot on the other core while the push decides
the next, instead of all of them at the end.

The statements run inside the connection's open transaction, in the order sent.
Nothing else may use the connection until `land()` has waited for them (they are
not psycopg's own cursors: psycopg does not know they are on their way, and a
query of its own would wait forever for an answer the server holds back); with
`guard`, SQLAlchemy refuses such a statement at once. A statement that failed
raises in `land()`, as SQLAlchemy would have raised it, and the transaction is
left to roll back; a connection lost meanwhile is invalidated.
"""

from __future__ import annotations

import selectors
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import pq
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

OPEN = "fieldsync.pipeline"  # set in a connection's `info` while statements are on their way


def guard(engine: Engine) -> None:
    """Refuse any statement on a connection whose pipeline has not landed."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _refuse(conn: Connection, *_: object) -> None:
        if conn.info.get(OPEN):
            raise RuntimeError("a statement came while writes were on their way: wait first")


class Pipeline:
    """Statements on their way to PostgreSQL, each with one text parameter."""

    def __init__(self, conn: Connection, pgconn: pq.abc.PGconn) -> None:
        self.conn, self.pgconn = conn, pgconn
        self.sent: list[str] = []
        pgconn.enter_pipeline_mode()
        conn.info[OPEN] = True

    @classmethod
    def open(cls, conn: Connection) -> Pipeline | None:
        """A pipeline on `conn`, if it is PostgreSQL's, inside a transaction (a statement
        sent outside one would commit on its own), and libpq has pipelines (14 and later)."""
        driver: Any = conn.connection.driver_connection
        if not isinstance(driver, psycopg.Connection) or not psycopg.Pipeline.is_supported():
            return None
        if driver.pgconn.transaction_status != pq.TransactionStatus.INTRANS:
            return None
        return cls(conn, driver.pgconn)

    def send(self, statement: str, parameter: bytes) -> None:
        """Send a statement (`$1` its parameter) and go on; the database runs it now."""
        self.pgconn.send_query_params(statement.encode(), [parameter])
        self.sent.append(statement)
        self.pgconn.flush()  # what the socket takes now; `land` sends the rest

    def land(self) -> None:
        """Wait for every statement sent; raise the first that failed."""
        try:
            failure = self._collect()
        except psycopg.Error as lost:  # the connection, not a statement
            self.conn.info.pop(OPEN, None)
            self.conn.invalidate(lost)
            raise DBAPIError.instance(self._statement(), None, lost, psycopg.Error) from lost
        self.conn.info.pop(OPEN, None)
        if failure is not None:
            statement, error = failure
            raise DBAPIError.instance(statement, None, error, psycopg.Error) from error

    def _collect(self) -> tuple[str, psycopg.Error] | None:
        pgconn = self.pgconn
        pgconn.pipeline_sync()
        _flush(pgconn)
        failure = None
        for statement in self.sent:
            while (result := _next_result(pgconn)) is not None:
                if result.status == pq.ExecStatus.FATAL_ERROR and failure is None:
                    failure = statement, _error(result)
        _next_result(pgconn)  # the sync point
        pgconn.exit_pipeline_mode()
        return failure

    def _statement(self) -> str:
        return self.sent[-1] if self.sent else ""


def _error(result: pq.abc.PGresult) -> psycopg.Error:
    """The psycopg error of a failed statement (its class found by SQLSTATE)."""
    sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (result.error_message or b"").decode(errors="replace").strip()
    try:
        return psycopg.errors.lookup(sqlstate)(message)
    except KeyError:
        return psycopg.DatabaseError(message)


def _flush(pgconn: pq.abc.PGconn) -> None:
    """Send all that is queued, reading meanwhile so the server never waits on us."""
    while pgconn.flush():
        ready = _wait(pgconn.socket, selectors.EVENT_READ | selectors.EVENT_WRITE)
        if ready & selectors.EVENT_READ:
            pgconn.consume_input()


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """The next result, waiting for it without holding the GIL."""
    pgconn.consume_input()
    while pgconn.is_busy():
        _wait(pgconn.socket, selectors.EVENT_READ)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(fileno: int, events: int) -> int:
    with selectors.DefaultSelector() as selector:
        selector.register(fileno, events)
        return sum(mask for _key, mask in selector.select())
