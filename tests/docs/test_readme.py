"""The README stays honest: two commands first, every CLI command and every setting documented."""

import re
import tomllib
from pathlib import Path

import typer.main
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from assessment.cli import app
from assessment.settings import Settings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def command_paths(group: typer.Typer, prefix: str = "dxm") -> list[str]:
    click_group = typer.main.get_command(group)
    paths = []

    def walk(command, path: str) -> None:
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
    assert blocks[0].strip() == "bash scripts/demo.sh"
    assert re.search(r'^exec "\$VENV/bin/dxm" demo "\$@"$', (ROOT / "scripts/demo.sh").read_text(), flags=re.M)
    assert blocks[1].strip() == "bash scripts/test.sh"
    assert ".ci/run" in README and "bash scripts/test.sh" in (ROOT / ".ci/run").read_text()


def locked(name: str) -> dict[str, list[str]]:
    """Package name -> pinned versions (more than one where markers split them) of a lock file."""
    pins: dict[str, list[str]] = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if m := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line):
            pins.setdefault(canonicalize_name(m[1]), []).append(m[2])
    return pins


def test_lock_files_pin_what_pyproject_asks_for():
    """Run `bash scripts/lock.sh` after changing pyproject.toml's dependencies, and this passes again."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    app, tested = locked("requirements.lock"), locked("requirements-test.lock")
    for lock, pins, requirements in [
        ("requirements.lock", app, project["dependencies"]),
        ("requirements-test.lock", tested, project["dependencies"] + project["optional-dependencies"]["test"]),
    ]:
        for requirement in map(Requirement, requirements):
            versions = pins.get(canonicalize_name(requirement.name))
            assert versions, f"{requirement.name} is missing from {lock}: run bash scripts/lock.sh"
            for version in versions:
                assert requirement.specifier.contains(version, prereleases=True), f"{lock}: {requirement} vs {version}"
    for name, versions in app.items():
        assert tested.get(name) == versions, f"{name}: requirements.lock and requirements-test.lock differ"


def test_every_command_is_documented():
    paths = command_paths(app)
    assert "dxm score" in paths and "dxm questionnaire lint" in paths
    for path in paths:
        assert f"`{path}" in README, path


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"DXM_{name.upper()}" in README, name
