"""Questionnaire workbooks: export -> import gives the same instrument, and every problem of a bad
workbook names its sheet, row and column."""

import io
import unicodedata
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from questionnaires import loader, xlsform
from questionnaires.schema import Instrument

ROOT = Path(__file__).parents[2]
TOOLS_2025 = ROOT / "questionnaires" / "data" / "tools-2025" / "1.0.yaml"
EXAMPLE = ROOT / "docs" / "questionnaire-example.xlsx"
EXAMPLE_YAML = ROOT / "tests" / "scoring" / "example.yaml"


def instruments() -> list[Instrument]:
    """Every bundled instrument, the tools-2025 draft and the method's worked example (version "1")."""
    return [loader.get(i) for i in sorted(loader.bundled())] + [loader.load_file(EXAMPLE_YAML)]


def saved(wb: Workbook) -> Workbook:
    """The workbook as a file would give it back: through bytes, read as the import reads."""
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return load_workbook(buffer, read_only=True, data_only=True)


def editable(instrument_id: str) -> Workbook:
    instrument = loader.get(instrument_id)
    return xlsform.to_workbook(xlsform.instrument_data(instrument))


def row_of(wb: Workbook, sheet: str, column: str, value: str) -> int:
    """The Excel row number of the first row of ``sheet`` whose ``column`` holds ``value``."""
    ws = wb[sheet]
    headers = [c.value for c in ws[1]]
    index = headers.index(column)
    return next(r[0].row for r in ws.iter_rows(min_row=2) if r[index].value == value)


def set_cell(wb: Workbook, sheet: str, row: int, column: str, value) -> None:
    ws = wb[sheet]
    headers = [c.value for c in ws[1]]
    ws.cell(row, headers.index(column) + 1).value = value


def errors(wb: Workbook, *, strict: bool = False) -> list[str]:
    result = xlsform.import_workbook(saved(wb), "bad.xlsx", strict=strict)
    assert result.instrument is None
    return [str(e) for e in result.errors]


@pytest.mark.parametrize("instrument", instruments(), ids=lambda i: i.id)
def test_export_then_import_gives_the_same_instrument(instrument):
    result = xlsform.import_workbook(saved(xlsform.to_workbook(xlsform.instrument_data(instrument))), "x.xlsx",
                                     strict=True)
    assert result.errors == [] and result.warnings == []
    assert result.instrument == instrument
    assert loader.content_hash(result.instrument) == loader.content_hash(instrument)


@pytest.mark.parametrize("instrument", instruments(), ids=lambda i: i.id)
def test_the_yaml_written_reads_back_as_the_same_instrument(instrument):
    text = xlsform.to_yaml(xlsform.instrument_data(instrument), comment="a comment")
    assert text.startswith("# a comment\nid: ")
    report = loader.lint_report(text, "out.yaml", strict=True)
    assert report.errors == [] and report.instrument == instrument
    assert unicodedata.is_normalized("NFC", text)
    keys = ["id", "version", "title", "description", "source", "threshold", "overall_level", "levels", "dimensions",
            "questions"]
    assert list(yaml.safe_load(text)) == [k for k in keys if k != "source" or instrument.source is not None]


def test_the_shapes_of_format_v2_in_the_sheets():
    """The draft's table, shared option list, scale with labels, exclusive option and applicability."""
    wb = editable("tools-2025")
    questions = {r[0]: r for r in wb["questions"].iter_rows(min_row=2, values_only=True)}
    headers = [c.value for c in wb["questions"][1]]
    dat02 = dict(zip(headers, questions["dat02"], strict=True))
    assert (dat02["type"], dat02["scale"], dat02["options"]) == ("single", "0-4", "dat02")
    labels = [r for r in wb["options"].iter_rows(min_row=2, values_only=True) if r[0] == "dat02"]
    assert [(r[1], r[2]) for r in labels] == [(str(i), None) for i in range(5)]  # labels: no score
    ind_c = dict(zip(headers, questions["ind_c"], strict=True))
    assert (ind_c["type"], ind_c["options"], ind_c["allow_na"], ind_c["applies_sections"]) == (
        "table", "ops01", "yes", "C")  # the draft's &use list, named after its first question
    sal01 = dict(zip(headers, questions["sal01"], strict=True))
    assert (sal01["type"], sal01["weight"], sal01["min_select"]) == ("multi", 2, 1)
    none = row_of(wb, "options", "list", "sal01") + 21
    assert [c.value for c in wb["options"][none]][:4] == ["sal01", "none", 0, "yes"]
    rows = [r for r in wb["rows"].iter_rows(min_row=2, values_only=True) if r[0] == "lnk03"]
    assert [(r[1], r[2]) for r in rows][-4:] == [("production_stock", "C"), ("channels_stock", "G"),
                                                 ("ota_pms", "I"), ("gps_dispatch", "H")]


def test_the_example_workbook_is_up_to_date():
    """docs/questionnaire-example.xlsx is `dxm questionnaire export quick-check --xlsx ...`."""
    fresh = dict(xlsform.cell_values(saved(editable("quick-check"))))
    committed = dict(xlsform.cell_values(load_workbook(EXAMPLE, read_only=True, data_only=True)))
    assert committed == fresh, "run: dxm questionnaire export quick-check --xlsx docs/questionnaire-example.xlsx"


def hand_made() -> Workbook:
    """A workbook as a person types it: numbers where Excel makes them, TRUE for yes, an extra
    language, a note column, sheets in another order and no gates sheet."""
    wb = Workbook()
    wb.active.title = "questions"
    wb["questions"].append(["id", "dimension", "type", "weight", "allow_na", "options", "text_vi", "text_en",
                            "text_fr", "# note"])
    wb["questions"].append(["q1", 2024, "single", "1,5", True, "yesno", "Có không?", "Yes or no?", "Oui ou non ?",
                            "ask Lan"])
    wb["questions"].append([7, 2024, "multi", None, None, "tools", "Công cụ?", "Tools?", "Outils ?"])
    sheets = {
        "instrument": [["key", "value"], ["id", "hand"], ["version", 2],
                       ["title_vi", unicodedata.normalize("NFD", "Thử")], ["title_en", "Try"], ["title_fr", "Essai"],
                       ["description_vi", "Mô tả"], ["description_en", "About"], ["description_fr", "À propos"],
                       ["languages", "vi, en, fr"]],
        "options": [["list", "id", "score", "exclusive", "text_vi", "text_en", "text_fr"],
                    ["yesno", "yes", 1, None, "Có", "Yes", "Oui"], ["yesno", "no", 0, None, "Không", "No", "Non"],
                    ["tools", 1, 0.5, None, "Một", "One", "Un"], ["tools", 2, "0,5", "no", "Hai", "Two", "Deux"],
                    ["tools", "none", 0, "x", "Không có", "None", "Aucun"]],
        "levels": [["id", "min_score", "name_vi", "name_en", "name_fr", "description_vi", "description_en",
                    "description_fr"], ["low", 0, "Thấp", "Low", "Bas", "Mới", "New", "Nouveau"],
                   ["high", 50, "Cao", "High", "Haut", "Giỏi", "Good", "Bon"]],
        "dimensions": [["id", "weight", "name_vi", "name_en", "name_fr", "description_vi", "description_en",
                        "description_fr"], [2024, 1, "Năm", "Year", "Année", "Mô tả", "About", "À propos"]],
        "recommendations": [["dimension", "level", "text_vi", "text_en", "text_fr"],
                            [2024, "low", "Làm thêm", "Do more", "Faites plus"]],
    }
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    return wb


def test_a_hand_made_workbook():
    result = xlsform.import_workbook(saved(hand_made()), "hand.xlsx")
    assert result.errors == [] and len(result.warnings) == 1  # the numeric version, below
    ins = result.instrument
    assert (ins.id, ins.version, ins.languages, ins.title.get("fr")) == ("hand", "2.0", ["vi", "en", "fr"], "Essai")
    assert ins.title.vi == "Thử" and len(ins.title.vi) == 3  # NFC, though typed decomposed
    q1, q7 = ins.questions
    assert (q1.id, q1.dimension, q1.weight, q1.allow_na, q1.text.get("fr")) == ("q1", "2024", 1.5, True, "Oui ou non ?")
    assert [(o.id, o.score, o.exclusive) for o in q7.options] == [("1", 0.5, False), ("2", 0.5, False),
                                                                  ("none", 0, True)]
    assert (q7.id, q7.type, q7.weight) == ("7", "multi", 1.0)
    assert ins.dimensions[0].recommendations["low"].get("fr") == "Faites plus"


def test_a_numeric_version_is_read_as_text_with_a_warning():
    result = xlsform.import_workbook(saved(hand_made()), "hand.xlsx")
    assert result.instrument is not None and result.instrument.version == "2.0"
    assert [str(w) for w in result.warnings] == [
        "instrument, row 3, column value (version): warning: the version is a number in the workbook; read as "
        "'2.0' (type it as text, starting with ', to be sure)"]
    assert errors(hand_made(), strict=True) == [str(result.warnings[0]).replace("warning: ", "")]


def quick(edit) -> list[str]:
    wb = editable("quick-check")
    edit(wb)
    return errors(wb)


def test_a_bad_weight_names_sheet_row_and_column():
    wb = editable("quick-check")
    row = row_of(wb, "questions", "id", "ops02")
    assert row == 6
    set_cell(wb, "questions", row, "weight", -1)
    assert errors(wb) == ["questions, row 6, column weight: value -1 out of range (input should be greater than 0)"]
    set_cell(wb, "questions", row, "weight", "heavy")
    assert errors(wb) == ["questions, row 6, column weight: 'heavy' is not a number"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda wb: set_cell(wb, "options", row_of(wb, "options", "id", "social"), "score", 1.5),
         "options, row 3, column score: value 1.5 out of range (input should be less than or equal to 1)"),
        (lambda wb: set_cell(wb, "questions", 2, "text_en", None),
         "questions, row 2, column text_en: missing translation (en)"),
        (lambda wb: set_cell(wb, "questions", 3, "dimension", "zz"),
         "questions, row 3, column dimension: unknown dimension 'zz'"),
        (lambda wb: set_cell(wb, "questions", 3, "options", "nope"),
         "questions, row 3, column options: no option list 'nope' in the sheet options"),
        (lambda wb: set_cell(wb, "questions", 3, "type", "ranking"),
         "questions, row 3, column type: Input should be 'single', 'multi' or 'table'"),
        (lambda wb: set_cell(wb, "questions", 3, "min_select", 1),
         "questions, row 3, column min_select: min_select is for multi-choice questions"),
        (lambda wb: set_cell(wb, "questions", 3, "allow_na", "maybe"),
         "questions, row 3, column allow_na: 'maybe': write yes or no (or leave the cell empty for no)"),
        (lambda wb: set_cell(wb, "questions", 3, "applies_sizes", "huge"),
         "questions, row 3, column applies_sizes: Input should be 'micro', 'small' or 'medium'"),
        (lambda wb: set_cell(wb, "questions", 1, "weight", "wieght"),
         "questions, row 1, column wieght: unknown column"),
        (lambda wb: set_cell(wb, "options", row_of(wb, "options", "id", "social"), "exclusive", "yes"),
         "questions, row 2, column options: exclusive is for the options of a multi-choice question"),
        (lambda wb: set_cell(wb, "options", row_of(wb, "options", "id", "social"), "id", "none"),
         "questions, row 2, column options: duplicate option id 'none'"),
        (lambda wb: set_cell(wb, "levels", 4, "min_score", 20),
         "levels, row 4, column min_score: thresholds not ascending: 20 after 30"),
        (lambda wb: set_cell(wb, "levels", 3, "name_vi", None), "levels, row 3, column name_vi: missing translation"),
        (lambda wb: set_cell(wb, "recommendations", 2, "level", "l9"),
         "recommendations, row 2, column level: unknown level 'l9'"),
        (lambda wb: set_cell(wb, "recommendations", 2, "dimension", "zz"),
         "recommendations, row 2, column dimension: unknown dimension 'zz'"),
        (lambda wb: set_cell(wb, "dimensions", 2, "weight", 0),
         "dimensions, row 2, column weight: value 0 out of range (input should be greater than 0)"),
        (lambda wb: set_cell(wb, "instrument", 4, "value", None),
         "instrument, row 4, column value (title_vi): missing translation (vi)"),
        (lambda wb: set_cell(wb, "instrument", 2, "value", "Quick Check"),
         "instrument, row 2, column value (id): String should match pattern"),
        (lambda wb: set_cell(wb, "instrument", 2, "key", "name"), "instrument, key id: missing"),
        (lambda wb: set_cell(wb, "instrument", 9, "value", "sometimes"),
         "instrument, row 9, column value (overall_rule): Input tag 'sometimes' found using 'rule' does not match"),
        (lambda wb: wb.remove(wb["levels"]), "levels: the workbook has no sheet 'levels'"),
        (lambda wb: wb["rows"].append(["cus01", "r1", None, None, "Hàng", "Row"]),
         "questions, row 2, column type: rows are for type: table"),
        (lambda wb: wb["rows"].append(["zz", "r1", None, None, "Hàng", "Row"]),
         "rows, row 2, column table: no question 'zz' in the sheet questions"),
        (lambda wb: wb["questions"].cell(2, 20, "stray"),
         "questions, row 2, column T: a value in a column without a name"),
    ],
)
def test_each_problem_names_its_cell(edit, expected):
    found = quick(edit)
    assert any(e.startswith(expected) for e in found), found


def test_a_problem_is_not_reported_twice_for_one_cell():
    """An unreadable number is one error, not also the schema's "not a valid number"."""
    found = quick(lambda wb: set_cell(wb, "levels", 3, "min_score", "thirty"))
    assert found == ["levels, row 3, column min_score: 'thirty' is not a number"]


def test_several_problems_at_once():
    def edit(wb):
        set_cell(wb, "questions", 2, "weight", 0)
        set_cell(wb, "questions", 12, "dimension", "zz")
        set_cell(wb, "options", 2, "score", "x")

    assert quick(edit) == [
        "options, row 2, column score: 'x' is not a number",
        "questions, row 2, column weight: value 0 out of range (input should be greater than 0)",
        "questions, row 12, column dimension: unknown dimension 'zz'",
    ]


def draft_cell(sheet: str, column: str, value: str, key: str = "id"):
    """An edit of the draft's workbook: the cell ``column`` of the row whose ``key`` is ``value``."""
    def edit(wb, new_value):
        row = row_of(wb, sheet, key, value)
        set_cell(wb, sheet, row, column, new_value)
        return row
    return edit


@pytest.mark.parametrize(
    ("sheet", "key", "value", "column", "new_value", "expected"),
    [
        ("questions", "id", "dat02", "scale", "0-50",
         "column scale: scale '0-50' must be A-B with whole numbers 0 <= A < B <= 10"),
        ("options", "list", "dat02", "score", 0.5,
         "column score: the labels of a scale take no score: point i of a scale A-B scores i/B"),
        ("questions", "id", "sal01", "min_select", 30, "column min_select: min_select 30 is more than the 22 options"),
        ("rows", "id", "bom", "applies_sections", "c", "column applies_sections: String should match pattern"),
        ("rows", "id", "bom", "text_en", None, "column text_en: missing translation (en)"),
        ("options", "id", "in_use", "score", 2, "column score: value 2 out of range"),
        ("options", "id", "none", "exclusive", "maybe", "column exclusive: 'maybe': write yes or no"),
    ],
)
def test_problems_of_tables_scales_and_checklists(sheet, key, value, column, new_value, expected):
    wb = editable("tools-2025")
    row = draft_cell(sheet, column, value, key)(wb, new_value)
    found = errors(wb)
    assert any(e.startswith(f"{sheet}, row {row}, {expected}") for e in found), found


def test_a_scale_label_off_the_scale_points_at_the_label():
    wb = editable("tools-2025")
    draft_cell("questions", "scale", "dat02")(wb, "1-4")
    label = row_of(wb, "options", "list", "dat02")  # the label of point 0
    assert f"options, row {label}, column id: scale_labels '0' not on the scale 1-4" in errors(wb)


def test_a_duplicate_table_row_points_at_the_table():
    wb = editable("tools-2025")
    draft_cell("rows", "id", "bom")(wb, "planning")
    table = row_of(wb, "questions", "id", "ind_c")
    assert f"questions, row {table}, column type: duplicate row id 'planning'" in errors(wb)


def test_a_scale_excel_made_a_date_is_an_error():
    import datetime as dt

    wb = editable("tools-2025")
    row = row_of(wb, "questions", "id", "dat02")
    set_cell(wb, "questions", row, "scale", dt.datetime(2026, 5, 1))
    assert errors(wb)[0].startswith(f"questions, row {row}, column scale: the spreadsheet turned this into a date")
    set_cell(wb, "questions", row, "scale", " 0 - 4 ")
    assert xlsform.import_workbook(saved(wb), "x.xlsx").instrument == loader.load_file(TOOLS_2025)


def test_gates_name_their_row():
    wb = editable("mic-dbi")
    set_cell(wb, "gates", 3, "level", "l9")
    set_cell(wb, "gates", 4, "min_dimensions", 2.5)
    found = errors(wb)
    assert "gates, row 3, column level: unknown level 'l9'" in found
    assert "gates, row 4, column min_dimensions: 2.5 is not a whole number" in found


def test_an_unused_option_list_is_a_warning_and_strict_makes_it_an_error():
    wb = editable("quick-check")
    wb["options"].append(["spare", "a", 1, None, "A", "A"])
    result = xlsform.import_workbook(saved(wb), "x.xlsx")
    assert result.instrument == loader.get("quick-check")
    assert [str(w) for w in result.warnings] == ["options, row 46, column list: warning: no question uses the "
                                                 "option list 'spare'"]
    assert errors(wb, strict=True) == ["options, row 46, column list: no question uses the option list 'spare'"]


def test_missing_advice_is_a_warning_at_its_dimension():
    wb = editable("quick-check")
    wb["recommendations"].delete_rows(2)
    result = xlsform.import_workbook(saved(wb), "x.xlsx")
    assert result.instrument is not None and result.errors == []
    assert [str(w) for w in result.warnings] == [
        "dimensions, row 2, column id: warning: no advice for reaching the level after 'starter'"]


def test_gates_and_the_overall_rule_must_agree():
    wb = editable("quick-check")
    wb["gates"].append(["starter", 0, 1])
    assert errors(wb) == [
        "gates, row 2: gates are for the overall rule gated (the instrument's overall_rule is 'score')"]
    wb = editable("mic-dbi")
    wb["gates"].delete_rows(2, 10)
    assert errors(wb) == ["gates: missing"]


def test_every_sheet_column_and_key_is_documented():
    doc = (ROOT / "docs" / "questionnaire-workbook.md").read_text(encoding="utf-8")
    for sheet, (columns, prefixes) in xlsform.SHEETS.items():
        assert f"## Sheet `{sheet}`" in doc, sheet
        for column in [*columns, *(f"{prefix}_vi" for prefix in prefixes)]:
            assert f"`{column}`" in doc, (sheet, column)
    for key in [*xlsform.INSTRUMENT_KEYS, *(f"{prefix}_en" for prefix in xlsform.INSTRUMENT_TEXTS)]:
        assert f"`{key}`" in doc, key
