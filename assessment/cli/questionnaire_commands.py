"""``dxm questionnaire list | lint | export``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from questionnaires import loader

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
def lint(files: list[Path] = typer.Argument(..., help="YAML instrument files to check.")) -> None:
    """Check instrument files; print every problem as FILE:LINE: PATH: MESSAGE."""
    failed = False
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"{file}: cannot read the file: {exc}", err=True)
            failed = True
            continue
        _, problems = loader.lint_text(text, str(file))
        for problem in problems:
            typer.echo(str(problem), err=True)
        failed |= bool(problems)
        if not problems:
            typer.echo(f"{file}: ok")
    raise typer.Exit(1 if failed else 0)


@app.command()
def export(
    instrument_id: str = typer.Argument(..., metavar="ID"),
    version: str | None = typer.Option(None, help="A published version; the latest by default."),
    texts: bool = typer.Option(False, "--texts", help="Include the bilingual texts."),
) -> None:
    """Print the normalised instrument as JSON (the input of the scoring engine)."""
    try:
        instrument = loader.get(instrument_id, version)
    except KeyError:
        known = ", ".join(sorted(loader.bundled()))
        typer.echo(f"no instrument {instrument_id!r} (version {version or 'latest'}); known: {known}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(instrument.export(texts=texts), ensure_ascii=False, indent=2))
