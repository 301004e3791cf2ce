"""``dxm questionnaire list | lint | export | import``."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.etree.ElementTree import ParseError

import typer
from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

from assessment.cli.score_commands import resolve_instrument
from questionnaires import loader, xlsform

app = typer.Typer(help="Inspect and check questionnaires (instruments).", no_args_is_help=True)


@app.command("list")
def list_instruments() -> None:
    """List the bundled instruments with their versions."""
    for instrument_id, versions in sorted(loader.bundled().items()):
        latest = loader.latest(instrument_id)
        typer.echo(
            f"{instrument_id}\t{', '.join(sorted(versions))}\t{len(latest.questions)} questions"
            f"\t{latest.title.en}"
        )


@app.command()
def lint(files: list[Path] = typer.Argument(..., help="YAML instrument files to check."),
         strict: bool = typer.Option(False, "--strict", help="Count warnings as errors, as for a shipped file.")
         ) -> None:
    """Check instrument files; print every problem as FILE:LINE: PATH: MESSAGE (a warning, such as a
    missing recommendation, says so and does not fail the file)."""
    failed = False
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"{file}: cannot read the file: {exc}", err=True)
            failed = True
            continue
        report = loader.lint_report(text, str(file), strict=strict)
        for problem in [*report.errors, *report.warnings]:
            typer.echo(str(problem), err=True)
        failed |= bool(report.errors)
        if not report.errors:
            typer.echo(f"{file}: ok" + (f" ({len(report.warnings)} warnings)" if report.warnings else ""))
    raise typer.Exit(1 if failed else 0)


@app.command()
def export(
    instrument_id: str = typer.Argument(..., metavar="ID", help="An instrument id, or a YAML file."),
    version: str | None = typer.Option(None, help="A published version; the latest by default."),
    texts: bool = typer.Option(False, "--texts", help="Include the bilingual texts."),
    xlsx: Path | None = typer.Option(None, "--xlsx", metavar="OUT.xlsx",
                                     help="Write the instrument as a workbook (to edit and import) instead."),
) -> None:
    """Print the normalised instrument as JSON (the input of the scoring engine), or write it as a
    workbook with --xlsx."""
    instrument = resolve_instrument(instrument_id, version)
    if xlsx is None:
        typer.echo(json.dumps(instrument.export(texts=texts), ensure_ascii=False, indent=2))
        return
    try:
        workbook = xlsform.to_workbook(xlsform.instrument_data(instrument))
    except ValueError as exc:
        typer.echo(f"{instrument_id}: {exc}", err=True)
        raise typer.Exit(1) from None
    _write_atomically(xlsx, workbook.save)
    typer.echo(f"{xlsx}: {instrument.id} {instrument.version}, {len(instrument.questions)} questions", err=True)


@app.command("import")
def import_workbook(
    file: Path = typer.Argument(..., metavar="FILE.xlsx", help="A questionnaire workbook."),
    output: Path | None = typer.Option(None, "-o", "--output", metavar="OUT.yaml",
                                       help="Where to write the YAML; standard output by default."),
    strict: bool = typer.Option(False, "--strict", help="Count warnings as errors, as for a bundled instrument."),
) -> None:
    """Read a workbook, check it like a YAML file, and write it as YAML; every problem as
    SHEET, ROW, COLUMN: MESSAGE (exit 1 on any error, and nothing is written)."""
    try:  # read whole (a questionnaire is small), so that a damaged file fails here and not midway
        workbook = load_workbook(file, data_only=True)
    except (OSError, InvalidFileException, zipfile.BadZipFile, ParseError, KeyError, ValueError) as exc:
        typer.echo(f"{file}: cannot read the workbook: {exc}", err=True)
        raise typer.Exit(1) from None
    result = xlsform.import_workbook(workbook, str(file), strict=strict)
    for problem in [*result.errors, *result.warnings]:
        typer.echo(f"{file}: {problem}", err=True)
    if result.instrument is None:
        count = len(result.errors)
        typer.echo(f"{file}: {count} error{'s' if count != 1 else ''}; nothing written", err=True)
        raise typer.Exit(1)
    instrument = result.instrument
    text = xlsform.to_yaml(xlsform.instrument_data(instrument),
                           comment=f"Imported from {file.name} by dxm questionnaire import.")
    if output is None:
        typer.echo(text, nl=False)
        return
    _write_atomically(output, lambda path: path.write_text(text, encoding="utf-8"))
    typer.echo(f"{output}: {instrument.id} {instrument.version}, {len(instrument.questions)} questions"
               f"{f', {len(result.warnings)} warnings' if result.warnings else ''}", err=True)


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, so a failure never leaves half a file."""
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(handle)
        try:
            write(Path(name))
            os.replace(name, target)
        finally:
            Path(name).unlink(missing_ok=True)
    except OSError as exc:
        typer.echo(f"{target}: cannot write the file: {exc}", err=True)
        raise typer.Exit(1) from None
