"""Portable backup and restore: every table as JSON lines, the same on SQLite and PostgreSQL.

Line 1 is a header (format, schema revision, table list); then one line per row,
``{"t": table, "r": {column: value}}``, tables in dependency order so a restore can insert as it reads.
Rows are streamed both ways, never all held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

from sqlalchemy import MetaData, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from assessment import models  # noqa: F401 - registers the tables
from assessment.db import continue_ids_after_rows

FORMAT = "dxmaturity-backup"
VERSION = 1
BATCH = 1000


class BackupError(ValueError):
    pass


def _metadata() -> MetaData:
    return SQLModel.metadata


def _revision(connection: Connection) -> str | None:
    try:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # a database created without Alembic has no such table
        return None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decode(column_type: Any, value: Any) -> Any:
    """A JSON value back into what its column holds (dates and moments travel as ISO strings)."""
    if not isinstance(value, str):
        return value
    try:
        kind = column_type.python_type  # a TypeDecorator answers for the type it decorates
    except NotImplementedError:
        return value
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


def dump(engine: Engine, out: IO[str]) -> dict[str, int]:
    """Write the whole database to ``out``; returns the row count per table."""
    tables = _metadata().sorted_tables
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        header = {"format": FORMAT, "version": VERSION, "schema": _revision(connection),
                  "created_at": datetime.now(UTC).isoformat(), "tables": [t.name for t in tables]}
        out.write(json.dumps(header) + "\n")
        for table in tables:
            order = list(table.primary_key.columns)
            result = connection.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
            n = 0
            for row in result.mappings():
                out.write(json.dumps({"t": table.name, "r": {k: _encode(v) for k, v in row.items()}},
                                     ensure_ascii=False) + "\n")
                n += 1
            counts[table.name] = n
    return counts


def _rows(source: IO[str]) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(source, start=2):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BackupError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or "t" not in item or not isinstance(item.get("r"), dict):
            raise BackupError(f"line {number}: expected {{'t': table, 'r': row}}")
        yield number, item


def restore(engine: Engine, source: IO[str]) -> dict[str, int]:
    """Load a backup into an empty, migrated database, all or nothing (one transaction)."""
    try:
        header = json.loads(source.readline() or "null")
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BackupError("not a dxmaturity backup file (bad header line)")
    tables = {t.name: t for t in _metadata().sorted_tables}
    counts = dict.fromkeys(tables, 0)
    with engine.begin() as connection:
        if header.get("schema") and _revision(connection) not in (None, header["schema"]):
            raise BackupError(f"the backup is of schema {header['schema']}, the database is at "
                              f"{_revision(connection)}: upgrade both to the same revision first")
        for name, existing in tables.items():
            if connection.execute(select(func.count()).select_from(existing)).scalar():
                raise BackupError(f"the database is not empty (table {name!r} has rows); restore needs an empty one")
        batch: list[dict] = []
        current = ""  # the table of the rows in batch (no table is named "")

        def flush() -> None:
            if batch:
                connection.execute(insert(tables[current]), batch)
                batch.clear()

        for number, item in _rows(source):
            table = tables.get(item["t"])
            if table is None:
                raise BackupError(f"line {number}: unknown table {item['t']!r}")
            if item["t"] != current:
                flush()
                current = item["t"]
            row = {}
            for key, value in item["r"].items():
                if key not in table.c:
                    raise BackupError(f"line {number}: unknown column {item['t']}.{key}")
                row[key] = _decode(table.c[key].type, value)
            batch.append(row)
            counts[current] += 1
            if len(batch) >= BATCH:
                flush()
        flush()
        continue_ids_after_rows(connection, list(tables.values()))
    return counts
