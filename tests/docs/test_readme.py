"""The README stays honest: two commands first, every CLI command and every setting documented."""

import re
from pathlib import Path

import typer.main

from assessment.cli import app
from assessment.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def command_paths(group: typer.Typer, prefix: str = "dxm") -> list[str]:
    click_group = typer.main.get_command(group)
    paths = []

    def walk(command, path: str) -> None:  # noqa: ANN001
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{path} {name}")
        else:
            paths.append(path)

    walk(click_group, prefix)
    return paths


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
    assert "dxm demo" in blocks[0]
    assert blocks[1].strip() == "bash scripts/test.sh"
    assert ".ci/run" in README and "bash scripts/test.sh" in (Path(__file__).parents[2] / ".ci/run").read_text()


def test_every_command_is_documented():
    paths = command_paths(app)
    assert "dxm score" in paths and "dxm questionnaire lint" in paths
    for path in paths:
        assert f"`{path}" in README, path


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"DXM_{name.upper()}" in README, name
