"""``dxm``: one Typer app; sub-apps are added here so ``dxm --help`` lists everything."""

from __future__ import annotations

import typer

from assessment.cli import data_commands, questionnaire_commands, score_commands, server_commands

app = typer.Typer(
    help="dxmaturity: digital-transformation maturity of Hanoi's SMEs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(questionnaire_commands.app, name="questionnaire")
app.command("score")(score_commands.score)
app.command("serve")(server_commands.serve)
app.command("demo")(server_commands.demo_command)
app.add_typer(server_commands.db_app, name="db")
app.add_typer(server_commands.user_app, name="user")
app.command("backup")(data_commands.backup)
app.command("restore")(data_commands.restore)
app.command("erasures")(data_commands.erasures_command)
