"""``dxm backup FILE`` and ``dxm restore FILE``."""

from __future__ import annotations

from pathlib import Path

import typer

from assessment import backup as backup_module
from assessment.db import make_engine
from assessment.settings import get_settings


def backup(file: Path = typer.Argument(..., help="Where to write the JSON-lines backup.")) -> None:
    """Write every table of DXM_DATABASE_URL to FILE (portable between SQLite and PostgreSQL)."""
    engine = make_engine(get_settings().database_url)
    temporary = file.with_name(file.name + ".partial")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            counts = backup_module.dump(engine, out)
        temporary.replace(file)  # never leave a half-written backup under the real name
    except OSError as exc:
        typer.echo(f"{file}: cannot write: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        temporary.unlink(missing_ok=True)
        engine.dispose()
    typer.echo(f"{file}: {sum(counts.values())} rows from {len(counts)} tables")


def restore(file: Path = typer.Argument(..., help="A backup written by `dxm backup`.")) -> None:
    """Load FILE into the (migrated, empty) database of DXM_DATABASE_URL; all or nothing."""
    engine = make_engine(get_settings().database_url)
    try:
        with file.open(encoding="utf-8") as source:
            counts = backup_module.restore(engine, source)
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read: {exc}", err=True)
        raise typer.Exit(2) from None
    except backup_module.BackupError as exc:
        typer.echo(f"{file}: {exc}; nothing was restored", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"{file}: restored {sum(counts.values())} rows into {len(counts)} tables")
