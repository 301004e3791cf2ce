"""``dxm serve``, ``dxm demo``, ``dxm db upgrade``, ``dxm user create``."""

from __future__ import annotations

import typer
import uvicorn
from sqlmodel import Session

from assessment import accounts, demo, migrate
from assessment.cli import city_commands
from assessment.db import make_engine
from assessment.messages import FormErrors
from assessment.models import ROLES
from assessment.settings import get_settings

APP = "web.app:create_app"  # imported by uvicorn in each worker, so assessment never imports web
DEMO_CITY = 20_000  # the city seeded with the demo: ~25 s on SQLite here, within the 2-minute first start
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every Alembic migration to DXM_DATABASE_URL."""
    migrate.upgrade(get_settings().database_url)
    typer.echo("database is at the latest schema")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (sessions live in the database)."),
    upgrade: bool = typer.Option(True, help="Run the migrations first."),
) -> None:
    """Run the web app (production: PostgreSQL in DXM_DATABASE_URL, several workers behind nginx)."""
    if upgrade:
        migrate.upgrade(get_settings().database_url)
    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", log_level="info", access_log=False)


def demo_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    yes_demo_data: bool = typer.Option(False, "--yes-demo-data",
                                       help="Seed even into PostgreSQL or beside other accounts."),
    city: int = typer.Option(DEMO_CITY, min=0, help="Synthetic businesses added with the demo data (0: none)."),
) -> None:
    """Create (or reuse) the database, seed demo data and a synthetic city once, print the logins and
    serve the app."""
    if ctx.invoked_subcommand is not None:  # dxm demo city: that command's work, not the server
        return
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        refused = demo.refusal(session)
        if refused and not yes_demo_data:
            engine.dispose()
            typer.echo(f"Not seeding demo accounts (one known password) into {settings.database_url}: {refused}. "
                       "Pass --yes-demo-data if that is what you want.", err=True)
            raise typer.Exit(1)
        created = demo.seed(session)
    engine.dispose()
    if created and city:
        city_commands.build_city(city, seed=2026)
    if created:
        engine = make_engine(settings.database_url)
        with Session(engine) as session:
            demo.seed_city_extras(session)
        engine.dispose()
    typer.echo(("Seeded demo data" if created else "Demo data already present") + f" in {settings.database_url}")
    typer.echo(f"\n  dxmaturity is running at http://{host}:{port}/\n")
    typer.echo(f"  Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for account in demo.ACCOUNTS:
        typer.echo(f"    {account.role:<11} {account.email}")
    typer.echo(f"    {'respondent':<11} {demo.RESPONDENT.email}  (the owner's IT lead, invited to a round)")
    typer.echo("")
    uvicorn.run(APP, factory=True, host=host, port=port, log_level="warning")


@user_app.command("create")
def user_create(
    email: str = typer.Argument(...),
    role: str = typer.Option("owner", help=f"One of: {', '.join(ROLES)}."),
    name: str = typer.Option("", help="Display name."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create an account (admins create trainer and department accounts this way or on /admin/users)."""
    engine = make_engine(get_settings().database_url)
    with Session(engine) as session:
        try:
            user = accounts.create_user(session=session, email=email, password=password, role=role,
                                        display_name=name)
        except FormErrors as exc:
            for field, message in exc.errors.items():
                typer.echo(f"{field}: {message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"created {user.role} {user.email}")
