"""``dxm score ID RESPONSES.csv``: score a file of responses, streaming."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import typer

from assessment.csv_scoring import HeaderError, score_csv
from questionnaires import loader
from questionnaires.schema import Instrument
from scoring import compile_instrument

MAX_PROBLEMS_SHOWN = 1000


def resolve_instrument(instrument_id: str, version: str | None) -> Instrument:
    """A bundled instrument by id, or a draft instrument file (for the centre's authors)."""
    if instrument_id.endswith((".yaml", ".yml", ".yaml.draft")):
        try:
            return loader.load_file(Path(instrument_id))
        except loader.InstrumentError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    try:
        return loader.get(instrument_id, version)
    except KeyError:
        typer.echo(f"no instrument {instrument_id!r} (version {version or 'latest'}); "
                   f"known: {', '.join(sorted(loader.bundled()))}", err=True)
        raise typer.Exit(2) from None


def score(
    instrument_id: str = typer.Argument(..., metavar="ID", help="An instrument id, or a YAML file."),
    responses: Path = typer.Argument(..., metavar="RESPONSES.csv", help="CSV: respondent,<question ids...>"),
    version: str | None = typer.Option(None, help="A published version; the latest by default."),
) -> None:
    """Score responses; write CSV to stdout, report bad rows on stderr (exit 1 if any)."""
    instrument = resolve_instrument(instrument_id, version)
    model = compile_instrument(instrument.export())
    if not responses.is_file():
        typer.echo(f"{responses}: cannot read the file: no such file", err=True)
        raise typer.Exit(2)
    try:
        report = score_csv(model, responses, sys.stdout)
    except (OSError, pa.ArrowException) as exc:
        typer.echo(f"{responses}: cannot read the file: {exc}", err=True)
        raise typer.Exit(2) from None
    except HeaderError as exc:
        typer.echo(f"{responses}: header: {exc}", err=True)
        raise typer.Exit(2) from None
    for problem in report.problems[:MAX_PROBLEMS_SHOWN]:
        typer.echo(f"{responses}: {problem}", err=True)
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        typer.echo(f"... and {len(report.problems) - MAX_PROBLEMS_SHOWN} more problems", err=True)
    if report.problems:
        typer.echo(
            f"{responses}: {report.rows_written} of {report.rows_read} rows scored, "
            f"{report.rows_rejected} left out",
            err=True,
        )
        raise typer.Exit(1)
