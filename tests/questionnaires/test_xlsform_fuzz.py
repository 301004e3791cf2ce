"""The workbook import fed whatever a spreadsheet can hold (hypothesis): any cell of a good workbook
changed to any value gives an instrument or problems that each name a sheet, never an exception."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from questionnaires import xlsform
from tests.questionnaires.test_xlsform import editable, saved

SHEETS = ("instrument", "dimensions", "questions", "options", "levels", "recommendations")
VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=datetime(1900, 1, 1)),
    st.text(max_size=80), st.sampled_from(["", "0", "-1", "1,5", "0-5", "single", "multi", "table", "yes", "x",
                                           "\u202e", "a\u0300", "na", "quick-check", "1.0", "=1+1"]),
)
EDIT = st.tuples(st.sampled_from(SHEETS), st.integers(1, 12), st.integers(1, 12), VALUE)


@given(st.lists(EDIT, min_size=1, max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_edited_workbook_gives_an_instrument_or_located_problems(edits):
    wb = editable("quick-check")
    for sheet, row, column, value in edits:
        try:
            wb[sheet].cell(row, column).value = value
        except (IllegalCharacterError, ValueError):  # a value no spreadsheet can hold: never sent
            continue
    result = xlsform.import_workbook(saved(wb), "fuzz.xlsx")
    assert (result.instrument is None) == bool(result.errors)
    assert all(problem.cell.sheet and problem.message for problem in result.errors + result.warnings)
