"""``dxm questionnaire lint``: every problem, with file, line, path and a plain message."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessment.cli import app

EXAMPLE = (Path(__file__).parents[1] / "scoring" / "example.yaml").read_text(encoding="utf-8")


def lint(tmp_path, text: str):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(app, ["questionnaire", "lint", str(path)])


def test_the_example_is_clean(tmp_path):
    result = lint(tmp_path, EXAMPLE)
    assert result.exit_code == 0 and result.stdout.strip().endswith(": ok")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("{id: b1, dimension: b,", "{id: b1, dimension: zz,", "questions[3].dimension: unknown dimension 'zz'"),
        ("{id: b1,", "{id: a1,", "questions[3].id: duplicate question id 'a1'"),
        ("{id: web, score: 0.4,", "{id: web, score: 1.5,", "questions[1].options[1].score: value 1.5 out of range"),
        ("{id: l2, min_score: 50,", "{id: l2, min_score: 20,", "levels[2].min_score: thresholds not ascending"),
        ("title: {vi: Ví dụ, en: Example}", "title: {vi: Ví dụ}", "title.en: missing translation (en)"),
        ("{id: email, score: 0.4,", "{id: web, score: 0.4,", "duplicate option id 'web'"),
        ("threshold: at_least", "threshold: sometimes", "threshold: Input should be 'at_least' or 'above'"),
        ("    weight: 2\n    name: {vi: Chiều A", "    weight: -2\n    name: {vi: Chiều A",
         "dimensions[0].weight: value -2 out of range"),
        ("      l1: {vi: Làm thêm., en: Do more.}\n", "      l9: {vi: Làm thêm., en: Do more.}\n",
         "recommendations.l9: unknown level 'l9'"),
        ("version: \"1\"", "version: \"1\"\ncolour: red", "colour: unknown field"),
    ],
)
def test_each_problem_is_reported(tmp_path, old, new, expected):
    assert old in EXAMPLE
    result = lint(tmp_path, EXAMPLE.replace(old, new, 1))
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_several_problems_at_once_with_line_numbers(tmp_path):
    text = EXAMPLE.replace("{id: b1, dimension: b,", "{id: a1, dimension: zz,").replace(
        "title: {vi: Ví dụ, en: Example}", "title: {vi: Ví dụ}")
    result = lint(tmp_path, text)
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 3
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "{id: a1, dimension: zz" in line)
    assert f"broken.yaml:{line_no}: questions[3].dimension: unknown dimension 'zz'" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [("id: [unclosed", "not valid YAML"), ("- just\n- a list\n", "must be a YAML mapping"), ("", "mapping"),
     ("a: &x {b: *x}\n", "an alias is used inside the value it names"),
     ("a: &x [*x]\n", "an alias is used inside the value it names"),
     # nine levels of nine aliases: 9**9 values once expanded, from ten lines
     ("a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
         f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)),
      "its aliases expand to more than 200,000 values")],
)
def test_malformed_files(tmp_path, text, expected):
    result = lint(tmp_path, text)
    assert result.exit_code == 1 and expected in result.stderr and "Traceback" not in result.output


def test_unreadable_file(tmp_path):
    result = CliRunner().invoke(app, ["questionnaire", "lint", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "cannot read the file" in result.stderr


def test_a_missing_recommendation_is_a_warning_unless_strict(tmp_path):
    text = EXAMPLE.replace("      l1: {vi: Làm thêm., en: Do more.}\n", "", 1)
    result = lint(tmp_path, text)
    assert result.exit_code == 0 and result.stdout.strip().endswith(": ok (3 warnings)")
    assert "warning: dimensions[0].recommendations" in result.stderr
    path = tmp_path / "broken.yaml"
    strict = CliRunner().invoke(app, ["questionnaire", "lint", "--strict", str(path)])
    assert strict.exit_code == 1 and "warning:" not in strict.stderr
