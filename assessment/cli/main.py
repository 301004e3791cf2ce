"""``dxm``: one Typer app; sub-apps are added here so ``dxm --help`` lists everything."""

from __future__ import annotations

import typer

from assessment.cli import city_commands, data_commands, questionnaire_commands, score_commands, server_commands

app = typer.Typer(
    help="dxmaturity: digital-transformation maturity of Hanoi's SMEs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(questionnaire_commands.app, name="questionnaire")
app.command("score")(score_commands.score)
app.command("serve")(server_commands.serve)
demo_app = typer.Typer(help="The demo: seed and serve (dxm demo), or add a synthetic city (dxm demo city).",
                       invoke_without_command=True)
demo_app.callback()(server_commands.demo_command)
demo_app.command("city")(city_commands.city)
app.add_typer(demo_app, name="demo")
app.add_typer(server_commands.db_app, name="db")
app.add_typer(server_commands.user_app, name="user")
app.command("backup")(data_commands.backup)
app.command("restore")(data_commands.restore)
app.command("erasures")(data_commands.erasures_command)
