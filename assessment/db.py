"""The database engine: SQLite by default, PostgreSQL in production.

The engine's set-up for each dialect (SQLite pragmas, the pool, pinging idle connections) and the
driver-level access the autosave uses on PostgreSQL live here; the answer statements themselves are
in ``assessment.answers``, the only writer of answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import Table, event, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel import create_engine

import assessment.text_input  # noqa: F401  (registers the one text rule on every session's writes)

DEFAULT_POOL_SIZE = 20  # for tools and tests; the web app takes DXM_DB_POOL_SIZE
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, **kwargs: Any) -> Engine:
    """An engine with a fixed pool of ``pool_size`` connections (no overflow: a connection opened and
    closed per request at peak costs PostgreSQL a process each time; the web app queues requests for
    a connection instead, see ``web.deps.get_db``). Connections that sat idle are checked before use
    (``ping_connections_that_sat_idle``)."""
    pool = {"pool_size": pool_size, "max_overflow": 0, **kwargs}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:  # one in-memory database per connection: SQLAlchemy keeps one per thread
            pool = kwargs
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    else:
        engine = create_engine(url, **pool)
    ping_connections_that_sat_idle(engine)
    return engine


def ping_connections_that_sat_idle(engine: Engine) -> None:
    """Before a pooled connection is used, check it with the dialect's ping, but only when it sat in
    the pool for ``PING_AFTER_IDLE_SECONDS`` or more; a dead one is replaced by a new connection.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip on every request (a tenth of
    an autosave's database time). A connection that dies while idle (the database restarted, a proxy
    dropped it) is what a ping saves a request from; under load connections sit idle for milliseconds,
    and one broken while in use fails its request with or without a ping."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry,
                      _proxy: PoolProxiedConnection) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or back in the pool a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                # as SQLAlchemy's own pre-ping does: the others are as old, so all are replaced
                raise InvalidatePoolError from exc  # (lazily) and this checkout retries on a new one
            raise


def is_postgresql(bind: Engine | OrmSession) -> bool:
    """Whether ``bind`` is PostgreSQL (``assessment.answers`` saves there in one statement)."""
    engine = bind.get_bind() if isinstance(bind, OrmSession) else bind
    return engine.dialect.name == "postgresql"


@contextmanager
def driver_cursor(engine: Engine) -> Iterator[Any]:
    """PostgreSQL: a cursor of psycopg itself on one of the engine's pooled connections, in autocommit
    mode (each statement is its own transaction: no BEGIN and COMMIT round trips), for the web app's
    most frequent request. For such short statements SQLAlchemy's session, connection, execution
    context and result objects cost more than psycopg's own work (measured on the autosave: 300 of its
    470 µs of Python), so the statements are compiled once (``driver_sql``) and run on the driver. The
    connection goes back to the pool; one the driver found broken is invalidated, so it is replaced."""
    pooled = engine.raw_connection()
    driver: Any = pooled.driver_connection  # psycopg's connection
    try:
        driver.autocommit = True
        with driver.cursor(row_factory=namedtuple_row) as cursor:
            yield cursor
    finally:
        try:
            driver.autocommit = False  # as the pool hands connections out
        except Exception:  # broken, or not idle: never hand it out again
            pooled.invalidate()
        pooled.close()


def run_on_driver(cursor: Any, statement: Any, params: dict[str, Any]) -> Any:
    """Run a SQLAlchemy statement on a driver cursor (``driver_cursor``), compiled once for psycopg;
    constants the statement binds itself (such as a status it filters on) come with it."""
    sql, defaults = _compiled_for_psycopg(statement)
    return cursor.execute(sql, {**defaults, **params})


@cache
def _compiled_for_psycopg(statement: Any) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=psycopg_dialect())
    return str(compiled), {k: v for k, v in compiled.params.items() if v is not None}


@contextmanager
def driver_cursor_of(session: OrmSession) -> Iterator[Any]:
    """A driver cursor in the session's own transaction (``answers.save`` outside the autosave)."""
    driver: Any = session.connection().connection.driver_connection  # psycopg's connection
    with driver.cursor(row_factory=namedtuple_row) as cursor:
        yield cursor


def continue_ids_after_rows(connection: Connection, tables: list[Table]) -> None:
    """After rows were inserted with explicit ids, make new ids continue after them (PostgreSQL's
    sequences do not follow explicit ids; SQLite's AUTOINCREMENT-less rowids already do)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" in table.c and table.c.id.primary_key:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))
