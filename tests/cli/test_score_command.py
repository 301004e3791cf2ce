"""``dxm score``: good rows scored, bad rows reported with row, question and reason."""

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assessment.cli import app

EXAMPLE = str(Path(__file__).parents[1] / "scoring" / "example.yaml")
HEADER = "respondent,a1,a2,a3,b1,c1\n"


@pytest.fixture
def run(tmp_path):
    def run(body: str, header: str = HEADER, instrument: str = EXAMPLE):
        path = tmp_path / "responses.csv"
        path.write_text(header + body, encoding="utf-8")
        return CliRunner().invoke(app, ["score", instrument, str(path)])

    return run


def rows(output: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(output)))


def test_scores_the_worked_example(run):
    result = run("r1,partly,email|web|shop,na,partly,na\nr2,yes,email|paper,no,no,yes\n")
    assert result.exit_code == 0, result.stderr
    out = rows(result.stdout)
    assert list(out[0]) == ["respondent", "overall_score", "overall_level", "a_score", "a_level",
                            "b_score", "b_level", "c_score", "c_level"]
    assert out[0]["overall_score"] == "61.111111" and out[0]["overall_level"] == "l2"
    assert out[0]["a_score"] == "66.666667" and out[0]["b_level"] == "l2"
    assert out[0]["c_score"] == "" and out[0]["c_level"] == ""  # all na: no score
    assert out[1]["overall_score"] == "51.250000" and out[1]["b_level"] == "l0"


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("bad,nope,email,no,no,no", "question a1: unknown option 'nope'"),
        ("bad,no,email|nope,no,no,no", "question a2: unknown option 'nope'"),
        ("bad,,email,no,no,no", "question a1: missing answer"),
        ("bad,no,email,no,na,no", "question b1: 'na' is not allowed"),
        ("bad,no|yes,email,no,no,no", "question a1: several options"),
        ("bad,-,email,no,no,no", "question a1: '-' (nothing ticked) is only an answer to a multi-choice question"),
        ("bad,no,,no,no,no", "question a2: missing answer"),  # an empty cell is not "nothing ticked"
    ],
)
def test_bad_rows_are_reported_and_left_out(run, bad_row, reason):
    result = run(f"ok1,yes,web,yes,yes,yes\n{bad_row}\nok2,no,web,no,no,no\n")
    assert result.exit_code == 1
    assert [r["respondent"] for r in rows(result.stdout)] == ["ok1", "ok2"]
    assert "row 2 (respondent 'bad')" in result.stderr and reason in result.stderr
    assert "2 of 3 rows scored" in result.stderr


def test_a_dash_is_a_checklist_with_nothing_ticked(run):
    """"-" is what the web app stores when no box is ticked: a valid answer scoring 0. r1: a = (2 * 1 +
    0 + 1) / 4 = 75, b = c = 100, overall = (2 * 75 + 100 + 100) / 4 = 87.5."""
    result = run("r1,yes,-,yes,yes,yes\nr2,yes, - ,yes,yes,yes\n")
    assert result.exit_code == 0, result.stderr
    assert [(r["a_score"], r["overall_score"]) for r in rows(result.stdout)] == [("75.000000", "87.500000")] * 2


def test_tools_2025_cells_follow_the_checklist_rules():
    """A tool checklist with min_select 1 and an exclusive "none of these": the CSV reads a cell as the
    web app validates an answer."""
    from assessment.csv_scoring import INVALID, encode_value
    from assessment.scores import model_for

    model = model_for("tools-2025", "1.0")
    sal01 = model.column("sal01")
    assert encode_value(model, sal01, "website|qr_pay") == (0b10000000001, "")  # options 0 and 10
    assert encode_value(model, sal01, "none") == (1 << 21, "")
    code, reason = encode_value(model, sal01, "website|none")
    assert code == INVALID and "'none' cannot be ticked together with another option of 'sal01'" in reason
    code, reason = encode_value(model, sal01, "-")
    assert code == INVALID and "tick at least 1 option(s) of 'sal01', got 0" in reason
    row = model.column("ops01.stock")
    assert encode_value(model, row, "planned") == (1, "") and encode_value(model, row, "na") == (3, "")


def test_a_row_with_too_many_fields_is_reported(run):
    result = run("ok,yes,web,yes,yes,yes\nlong,yes,web,yes,yes,yes,extra\n")
    assert result.exit_code == 1
    assert [r["respondent"] for r in rows(result.stdout)] == ["ok"]
    assert "expected 6 fields, saw 7" in result.stderr


def test_quoted_respondents_and_a_byte_order_mark(run, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff".encode() + (HEADER + '"Công ty, Hà Nội",yes,web,yes,yes,yes\n').encode())
    result = CliRunner().invoke(app, ["score", EXAMPLE, str(path)])
    assert result.exit_code == 0, result.stderr
    assert rows(result.stdout)[0]["respondent"] == "Công ty, Hà Nội"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("respondent,a1,a2,a3,b1\n", "missing question columns: c1"),
        ("respondent,a1,a2,a3,b1,c1,zz\n", "not questions of example: zz"),
        ("id,a1,a2,a3,b1,c1\n", "first column must be 'respondent'"),
        ("respondent,a1,a1,a3,b1,c1\n", "duplicate columns: a1"),
    ],
)
def test_a_wrong_header_stops_with_a_message(run, header, message):
    result = run("r,yes,web,yes,yes,yes\n", header=header)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_columns_in_any_order(run):
    result = run("r,na,partly,na,email|web|shop,partly\n", header="respondent,c1,b1,a3,a2,a1\n")
    assert result.exit_code == 0
    assert rows(result.stdout)[0]["overall_score"] == "61.111111"


def test_chunks_do_not_change_the_result(tmp_path):
    from assessment.csv_scoring import score_csv
    from questionnaires.loader import load_file
    from scoring import compile_instrument

    model = compile_instrument(load_file(Path(EXAMPLE)).export())
    body = "".join(f"r{i},{['no', 'partly', 'yes'][i % 3]},web,na,yes,{'na' if i % 2 else 'no'}\n"
                   for i in range(50))
    outputs = []
    for block_bytes in (200, 1 << 20):
        out = io.StringIO()
        score_csv(model, io.BytesIO((HEADER + body).encode()), out, block_bytes=block_bytes)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and len(rows(outputs[0])) == 50


def test_unknown_instrument_and_missing_file(tmp_path):
    result = CliRunner().invoke(app, ["score", "nope", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "no instrument 'nope'" in result.stderr
    result = CliRunner().invoke(app, ["score", EXAMPLE, str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "cannot read the file" in result.stderr
