"""The database engine and sessions: SQLite by default, PostgreSQL in production.

Everything dialect-specific lives here (SQLite pragmas, the upsert statement, PostgreSQL's
one-statement autosave), so the rest of the code is the same on both databases.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import Table, event, or_, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, create_engine

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
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
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
    def _idle_from(_dbapi_connection, record) -> None:  # noqa: ANN001 - DB-API objects
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:  # noqa: ANN001
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


def create_all(engine: Engine) -> None:
    """Create the tables (tests and the demo; production runs the Alembic migrations)."""
    from assessment import models  # noqa: F401 - registers the tables

    SQLModel.metadata.create_all(engine)


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def upsert(
    session: Session, model: type[SQLModel], values: dict[str, Any], keys: list[str], *, compare: list[str]
) -> bool:
    """INSERT ... ON CONFLICT (keys) DO UPDATE ... WHERE a ``compare`` column differs: one statement,
    idempotent, on both databases. True when a row was inserted or changed, False when the stored row
    already held these values (then nothing is written, not even a timestamp). Runs on the session's
    connection: a Core statement needs none of the ORM's execution steps."""
    connection = session.connection()
    statement = _upsert_statement(connection.dialect.name, model, tuple(values), tuple(keys), tuple(compare))
    return connection.execute(statement, values).rowcount == 1


@cache
def _upsert_statement(
    dialect: str, model: type[SQLModel], columns: tuple[str, ...], keys: tuple[str, ...], compare: tuple[str, ...]
) -> Any:
    """Built once per shape; the values come as parameters (SQLite's saves run this on every answer)."""
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={k: excluded[k] for k in columns if k not in keys},
        where=or_(*(table.c[k].is_distinct_from(excluded[k]) for k in compare)),
    ).execution_options(preserve_rowcount=True)  # SQLAlchemy keeps an INSERT's rowcount only when asked


def is_postgresql(bind: Engine | OrmSession) -> bool:
    """Whether ``bind`` is PostgreSQL, which saves an answer with one statement
    (``save_answer_in_one_statement``, on the driver for the autosave); SQLite, which has no
    data-modifying WITH, saves in a transaction of a few statements (no network round trips there)."""
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
    driver = pooled.driver_connection
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


@cache
def driver_sql(statement: Any) -> str:
    """A statement compiled once for psycopg (``%(name)s`` placeholders)."""
    return str(statement.compile(dialect=psycopg_dialect()))


def save_answer_in_one_statement(
    cursor: Any, *, assessment_id: int, question_id: str, value: str | None, asked: list[str], now: datetime,
) -> int | None:
    """PostgreSQL: write (or, for None, delete) one answer of a draft assessment, touch the draft when
    the answer changed, and count the answers to the ``asked`` questions, all in one round trip, on a
    driver cursor (``driver_cursor``, or ``driver_cursor_of`` in a session's transaction). Returns
    that count, or None, having written nothing, when the assessment is not a draft."""
    params = {"assessment_id": assessment_id, "question_id": question_id, "asked": asked, "now": now}
    if value is not None:
        row = cursor.execute(driver_sql(_PG_UPSERT_ANSWER), {**params, "value": value}).fetchone()
        return row.others + 1 if row.is_draft else None
    # A clear that waited for a save of the same answer must see that save's row, which a statement
    # whose snapshot predates its wait does not: so (clears are rare) lock first, then delete with a
    # snapshot taken after the lock, in one transaction (a savepoint inside a session's).
    with cursor.connection.transaction():
        cursor.execute(driver_sql(_PG_LOCK_DRAFT), params)
        row = cursor.execute(driver_sql(_PG_DELETE_ANSWER), params).fetchone()
    return row.others if row.is_draft else None


@contextmanager
def driver_cursor_of(session: OrmSession) -> Iterator[Any]:
    """A driver cursor in the session's own transaction (``save_answer`` outside the autosave)."""
    driver = session.connection().connection.driver_connection
    with driver.cursor(row_factory=namedtuple_row) as cursor:
        yield cursor


# One statement, so one transaction even in autocommit mode. ``draft`` locks the assessment row only
# while it is a draft, as strongly as the touch below will (FOR NO KEY UPDATE: a share lock taken
# first and raised later deadlocks two saves of one assessment). A concurrent submit (which updates the
# row) waits for this statement, and this statement, waiting for a submit, finds no draft afterwards
# and writes nothing; two saves of one assessment take turns on the lock (not on the snapshot: one
# that waited counts the answers as they were when it began). The answer is written only when it
# differs, and then the draft is touched (PostgreSQL runs every data-modifying WITH once, read or not).
# The count leaves out this question and adds it back when answered.
_PG_SAVE = """
WITH draft AS (
    SELECT id FROM assessment WHERE id = :assessment_id AND status = 'draft' FOR NO KEY UPDATE
), written AS ({write}
), touched AS (
    UPDATE assessment SET updated_at = :now WHERE id IN (SELECT assessment_id FROM written) RETURNING id
)
SELECT EXISTS (SELECT FROM draft) AS is_draft,
       (SELECT count(*) FROM answer WHERE assessment_id = :assessment_id AND question_id <> :question_id
        AND question_id = ANY(:asked)) AS others
"""
_PG_UPSERT_ANSWER = text(_PG_SAVE.format(write="""
    INSERT INTO answer (assessment_id, question_id, value, updated_at)
    SELECT id, :question_id, :value, :now FROM draft
    ON CONFLICT (assessment_id, question_id) DO UPDATE
        SET value = excluded.value, updated_at = excluded.updated_at
        WHERE answer.value IS DISTINCT FROM excluded.value
    RETURNING assessment_id"""))
_PG_LOCK_DRAFT = text("SELECT id FROM assessment WHERE id = :assessment_id FOR NO KEY UPDATE")
_PG_DELETE_ANSWER = text(_PG_SAVE.format(write="""
    DELETE FROM answer WHERE assessment_id IN (SELECT id FROM draft) AND question_id = :question_id
    RETURNING assessment_id"""))


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
