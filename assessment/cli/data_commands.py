"""``dxm backup FILE``, ``dxm restore FILE [--erasures LEDGER]`` and ``dxm erasures FILE``.

A restore of an older backup would bring back people who deleted their accounts since: the erasure
ledger (table ``erasure``: kinds, ids and digests, nothing personal) is in every backup, and
``dxm erasures FILE`` writes it alone (small enough to keep beside the database after each day).
``dxm restore`` re-applies the ledger of the backup itself and of ``--erasures`` (a ledger or any
later backup)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from sqlmodel import Session, select

from assessment import backup as backup_module
from assessment import privacy
from assessment.db import make_engine
from assessment.models import Erasure
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


def restore(
    file: Path = typer.Argument(..., help="A backup written by `dxm backup`."),
    erasures: Path | None = typer.Option(None, help="A ledger from `dxm erasures`, or a later backup: its "
                                         "erasures are applied again after the restore."),
) -> None:
    """Load FILE into the (migrated, empty) database of DXM_DATABASE_URL; all or nothing; then erase
    again whoever was erased after it was taken."""
    engine = make_engine(get_settings().database_url)
    try:
        ledger = _ledger(erasures) if erasures else []
        with file.open(encoding="utf-8") as source:
            counts = backup_module.restore(engine, source)
        with Session(engine) as session:
            known = list(session.exec(select(Erasure)))
            erased = privacy.reapply(session, [*known, *ledger])
        if erased:
            typer.echo(f"{file}: {erased} erased person(s) or business(es) erased again")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read: {exc}", err=True)
        raise typer.Exit(2) from None
    except backup_module.BackupError as exc:
        typer.echo(f"{file}: {exc}; nothing was restored", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"{file}: restored {sum(counts.values())} rows into {len(counts)} tables")


def _ledger(path: Path) -> list[Erasure]:
    """The erasure rows of a ledger or backup file (JSON lines as ``dxm backup`` writes them)."""
    found = []
    with path.open(encoding="utf-8") as source:
        for line in source:
            item = json.loads(line)
            if item.get("t") == "erasure":
                row = item["r"]
                found.append(Erasure(kind=row["kind"], subject_id=int(row["subject_id"]), digest=row["digest"],
                                     erased_at=datetime.fromisoformat(row["erased_at"])))
    return found


def erasures_command(file: Path = typer.Argument(..., help="Where to write the erasure ledger.")) -> None:
    """Write the erasure ledger of DXM_DATABASE_URL to FILE (for `dxm restore --erasures`)."""
    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session, file.open("w", encoding="utf-8") as out:
            rows = list(session.exec(select(Erasure)))
            for row in rows:
                out.write(json.dumps({"t": "erasure", "r": {
                    "kind": row.kind, "subject_id": row.subject_id, "digest": row.digest,
                    "erased_at": row.erased_at.isoformat()}}) + "\n")
    finally:
        engine.dispose()
    typer.echo(f"{file}: {len(rows)} erasures")
