"""Alembic, driven from Python: ``dxm db upgrade`` and the tests call these."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class ForeignKeyViolation(RuntimeError):
    """A migration left rows that point at nothing (SQLite checks foreign keys only afterwards)."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from assessment.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade through an existing engine (keeps SQLite pragmas and test engines)."""
    _run(engine, lambda config: command.upgrade(config, revision))


def downgrade_engine(engine: Engine, revision: str) -> None:
    _run(engine, lambda config: command.downgrade(config, revision))


def _run(engine: Engine, step: Callable[[Config], None]) -> None:
    """Run ``step`` in one transaction. On SQLite, foreign keys are off meanwhile: a migration that
    rebuilds a table (SQLite's only way to change a column) drops the old one, and with foreign keys
    on that drop would cascade into every table that refers to it; they are checked at the end."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # the pragma is ignored inside a transaction
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config)
                if sqlite and connection.execute(text("PRAGMA foreign_key_check")).first() is not None:
                    raise ForeignKeyViolation("the migration left rows that refer to missing rows")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
