"""The parsers of files people bring (a questionnaire's YAML, a CSV of responses), fed whatever
hypothesis makes of them: they answer with their own clear errors, never anything else."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.csv_scoring import HeaderError, score_csv
from questionnaires.loader import lint_text, load_file
from scoring import compile_instrument

EXAMPLE = Path(__file__).parents[1] / "scoring" / "example.yaml"
MODEL = compile_instrument(load_file(EXAMPLE).export())
HEADER = "respondent," + ",".join(MODEL.question_ids) + "\n"
FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))

YAML_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from("abc:- \n\t'\"[]{}&*!|>%@`#,?0.9"), max_size=200),
    # anchors and aliases, a cycle or a blow-up among them
    st.lists(st.sampled_from(["a: &x {b: *x}", "a: &x [*x, *x]", "b: &y [1, 2]", "c: [*y, *y, *y]",
                              "d: &z {e: *y}", "f: *z", "g: *w"]), max_size=6).map("\n".join),
    # the real file with a slice cut out or repeated: near misses, the likeliest mistakes
    st.tuples(st.integers(0, 4000), st.integers(0, 400)).map(
        lambda cut: (text := EXAMPLE.read_text(encoding="utf-8"))[:cut[0]] + text[cut[0] + cut[1]:]),
)


@FAST
@given(YAML_TEXT)
def test_any_yaml_text_gets_problems_with_lines_or_an_instrument(text):
    instrument, problems = lint_text(text, "upload.yaml")
    assert (instrument is None) == bool(problems)
    assert all(p.message and (p.line is None or p.line >= 1) for p in problems)


ANSWER = st.sampled_from(["yes", "no", "partly", "web", "na", "", "YES", " yes", "web|no", "x" * 300, "\x00", "é"])


@FAST
@given(st.lists(st.lists(ANSWER, min_size=0, max_size=len(MODEL.question_ids) + 2), max_size=30),
       st.sampled_from([HEADER, "respondent\n", "", "\ufeff" + HEADER, HEADER.replace(",", ";")]))
def test_any_csv_of_responses_is_scored_or_refused_with_a_header_error(rows, header):
    body = "".join(f"r{i}," + ",".join(row) + "\n" for i, row in enumerate(rows))
    out = io.StringIO()
    try:
        report = score_csv(MODEL, io.BytesIO((header + body).encode()), out, block_bytes=256)
    except HeaderError:
        assert out.getvalue() == ""  # nothing scored
        return
    except pa.ArrowInvalid as exc:  # a line Arrow cannot split (e.g. an unterminated quote): said clearly
        assert str(exc)
        return
    assert report.rows_written + report.rows_rejected == report.rows_read
    assert out.getvalue().count("\n") == 1 + report.rows_written
