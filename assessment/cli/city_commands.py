"""``dxm demo city``: add a synthetic city to the database, or take it out again."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assessment.city import synthetic
from assessment.db import make_engine
from assessment.settings import get_settings


def build_city(businesses: int, seed: int) -> synthetic.Built:
    """Build with a progress bar on the terminal; returns what was written."""
    engine = make_engine(get_settings().database_url)
    columns = (TextColumn("synthetic city"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns) as progress:
            task = progress.add_task("businesses", total=businesses)
            return synthetic.build(engine, businesses=businesses, seed=seed,
                                   progress=lambda n: progress.advance(task, n))
    finally:
        engine.dispose()


def city(
    businesses: int = typer.Option(20_000, min=1, max=5_000_000, help="How many businesses to add."),
    seed: int = typer.Option(2026, help="The same seed gives the same city."),
    remove: bool = typer.Option(False, "--remove", help="Take every synthetic row out again instead."),
) -> None:
    """Add a synthetic city (businesses, people, rounds with their answers and scores, courses) to
    DXM_DATABASE_URL, every synthetic row marked; --remove takes them out again."""
    started = time.perf_counter()
    if remove:
        engine = make_engine(get_settings().database_url)
        try:
            removed = synthetic.remove(engine)
        finally:
            engine.dispose()
        typer.echo(f"removed {removed} synthetic businesses and their people, rounds and courses")
        return
    built = build_city(businesses, seed)
    typer.echo(f"added {built.businesses} businesses, {built.rounds} closed rounds, {built.copies} assessments, "
               f"{built.answers} answers, {built.cohorts} courses in {time.perf_counter() - started:.0f} s "
               f"(synthetic people's password: {synthetic.PASSWORD})")
