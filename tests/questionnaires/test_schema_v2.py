"""Format v2 in the questionnaire files: tables, scale shorthand, exclusive options and
``min_select``, further languages, advice as a warning for imported instruments, and the
tools-2025 draft, which is written to it."""

from pathlib import Path

import pytest
import yaml
from numpy.testing import assert_allclose

from questionnaires import loader
from questionnaires.schema import Instrument
from scoring import compile_instrument, score

EXAMPLE = Path(__file__).parents[1] / "scoring" / "example.yaml"
TOOLS = loader.DATA_DIR / "tools-2025" / "1.0.yaml"


def base() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def with_question(question: dict, **top) -> dict:
    data = base()
    data["questions"].append({"dimension": "c", "text": {"vi": "Câu mới", "en": "New question"}, **question})
    data.update(top)
    return data


def messages(data: dict, *, strict: bool = False) -> tuple[list[str], list[str]]:
    report = loader.lint_report(yaml.safe_dump(data, allow_unicode=True), "test.yaml", strict=strict)
    return [f"{p.path}: {p.message}" for p in report.errors], [f"{p.path}: {p.message}" for p in report.warnings]


def valid(data: dict) -> Instrument:
    errors, _ = messages(data)
    assert errors == []
    return Instrument.model_validate(data)


def test_scale_0_5_generates_six_options_scoring_i_over_5():
    instrument = valid(with_question({"id": "s1", "scale": "0-5"}))
    question = instrument.question("s1")
    assert [o.id for o in question.options] == ["0", "1", "2", "3", "4", "5"]
    assert question.option("3").score == 0.6
    assert question.option("3").text.en == "3" and question.scale == "0-5"


def test_scale_labels_are_the_options_texts_and_a_scale_may_start_above_0():
    labels = {"1": {"vi": "Ít", "en": "Little"}, "4": {"vi": "Nhiều", "en": "A lot"}}
    question = valid(with_question({"id": "s1", "scale": "1-4", "scale_labels": labels})).question("s1")
    assert [(o.id, o.score, o.text.en) for o in question.options] == [
        ("1", 0.25, "Little"), ("2", 0.5, "2"), ("3", 0.75, "3"), ("4", 1.0, "A lot")]
    unquoted = yaml.safe_load("{1: {vi: Ít, en: Little}}")  # YAML keys 1: are numbers
    question = valid(with_question({"id": "s1", "scale": "0-2", "scale_labels": unquoted})).question("s1")
    assert question.option("1").text.en == "Little" and set(question.scale_labels) == {"1"}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ({"scale": "0-5", "options": [{"id": "a", "score": 0, "text": {"vi": "A", "en": "A"}}]},
         "either a scale or options, not both"),
        ({"scale": "3-3"}, "scale '3-3' must be A-B"),
        ({"scale": "0-11"}, "0 <= A < B <= 10"),
        ({"scale": "five"}, "scale 'five' must be A-B"),
        ({"scale": "0-3", "scale_labels": {"7": {"vi": "Bảy", "en": "Seven"}}},
         "scale_labels '7' not on the scale 0-3"),
        ({"type": "multi", "scale": "0-3"}, "a scale is for single-choice questions and tables"),
        ({}, "options: missing"),
    ],
)
def test_bad_scales_are_rejected(question, expected):
    errors, _ = messages(with_question({"id": "s1", **question}))
    assert any(expected in e for e in errors), errors


def test_a_table_and_its_columns():
    table = {"id": "t1", "type": "table", "weight": 2, "allow_na": True, "scale": "0-4",
             "rows": [{"id": "r1", "text": {"vi": "Dòng 1", "en": "Row 1"}},
                      {"id": "r2", "text": {"vi": "Dòng 2", "en": "Row 2"}, "applies_to": {"sections": ["C"]}}]}
    instrument = valid(with_question(table))
    columns = instrument.columns()
    assert [c.id for c in columns] == ["a1", "a2", "a3", "b1", "c1", "t1.r1", "t1.r2"]
    r2 = instrument.column("t1.r2")
    assert r2 is not None and r2.question.id == "t1" and r2.text.en == "Row 2"
    assert r2.applies("C", "small") and not r2.applies("G", "small") and instrument.column("t1.r1").applies("G", None)
    exported = instrument.export()["questions"][-1]
    assert exported["type"] == "table" and exported["rows"] == [{"id": "r1"}, {"id": "r2"}]
    model = compile_instrument(instrument.export())
    assert model.question_ids == tuple(c.id for c in columns)
    rescoped = Instrument.model_validate(with_question({**table, "rows": [table["rows"][0], {
        **table["rows"][1], "applies_to": {"sections": ["G"]}}]}))
    assert loader.content_hash(rescoped) != loader.content_hash(instrument)  # who is asked a row is pinned too


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ({"type": "table", "scale": "0-2"}, "a table needs rows"),
        ({"scale": "0-2", "rows": [{"id": "r", "text": {"vi": "D", "en": "R"}}]}, "rows are for type: table"),
        ({"type": "table", "scale": "0-2", "rows": [{"id": "r", "text": {"vi": "D", "en": "R"}}] * 2},
         "duplicate row id 'r'"),
        ({"scale": "0-2", "min_select": 1}, "min_select is for multi-choice questions"),
        ({"options": [{"id": "x", "score": 0, "exclusive": True, "text": {"vi": "X", "en": "X"}}]},
         "exclusive is for the options of a multi-choice question"),
        ({"type": "multi", "min_select": 2, "options": [{"id": "x", "score": 0, "text": {"vi": "X", "en": "X"}}]},
         "min_select 2 is more than the 1 options"),
        ({"type": "multi", "options": [{"id": f"o{i}", "score": 0, "text": {"vi": "X", "en": "X"}} for i in range(63)]},
         "at most 62 options"),
    ],
)
def test_bad_shapes_are_rejected(question, expected):
    errors, _ = messages(with_question({"id": "s1", **question}))
    assert any(expected in e for e in errors), errors


def test_a_row_may_not_take_the_id_of_a_question():
    table = {"id": "a1", "type": "table", "scale": "0-2", "rows": [{"id": "x", "text": {"vi": "D", "en": "R"}}]}
    data = with_question({"id": "q", "scale": "0-2"})
    data["questions"][-1]["id"] = "a1.x"
    data["questions"].append({**data["questions"][-1], **table})
    errors, _ = messages(data)
    assert any("row 'a1.x' has the id of a question" in e for e in errors), errors


def test_a_many_option_checklist_with_exclusive_and_min_select():
    options = [{"id": f"t{i}", "score": 0.05, "text": {"vi": f"Công cụ {i}", "en": f"Tool {i}"}} for i in range(29)]
    options.append({"id": "none", "score": 0, "exclusive": True, "text": {"vi": "Không", "en": "None"}})
    instrument = valid(with_question({"id": "m1", "type": "multi", "min_select": 1, "options": options}))
    question = instrument.question("m1")
    assert len(question.options) == 30 and question.min_select == 1 and question.option("none").exclusive
    exported = instrument.export()["questions"][-1]
    assert exported["min_select"] == 1 and exported["options"][-1] == {"id": "none", "score": 0, "exclusive": True}
    assert "exclusive" not in exported["options"][0]


def test_an_extra_language_is_fine_and_en_stays_required():
    data = with_question({"id": "s1", "scale": "0-2"}, languages=["vi", "en", "fr"])
    data["title"] = {"vi": "Ví dụ", "en": "Example", "fr": "Exemple"}
    instrument = valid(data)
    assert instrument.title.get("fr") == "Exemple" and instrument.title.get("de") == "Ví dụ"  # falls back to vi
    assert instrument.description.get("fr") == instrument.description.vi
    assert instrument.export(texts=True)["title"]["fr"] == "Exemple"
    assert instrument.export(texts=True)["languages"] == ["vi", "en", "fr"]
    _, warnings = messages(data)
    assert "description: no 'fr' text; the Vietnamese one is shown" in warnings

    data["title"] = {"vi": "Ví dụ", "fr": "Exemple"}
    errors, _ = messages(data)
    assert "title.en: missing translation (en)" in errors


@pytest.mark.parametrize(
    ("title", "languages", "expected"),
    [
        ({"vi": "Ví dụ", "en": "Example", "french": "Exemple"}, None, "'french' is not a language"),
        ({"vi": "Ví dụ", "en": "Example", "fr": ""}, ["vi", "en", "fr"], "the 'fr' text is empty"),
        ({"vi": "Ví dụ", "en": "Example", "fr": "Exemple"}, None, "title.fr: text in 'fr', which the instrument's"),
        ({"vi": "Ví dụ", "en": "Example"}, ["vi", "fr"], "languages must include vi and en"),
    ],
)
def test_bad_languages_are_rejected(title, languages, expected):
    data = base()
    data["title"] = title
    if languages:
        data["languages"] = languages
    errors, _ = messages(data)
    assert any(expected in e for e in errors), errors


def test_missing_advice_is_a_warning_for_an_imported_instrument_and_an_error_for_a_bundled_one(tmp_path):
    data = base()
    advice = dict(data["dimensions"][1]["recommendations"])  # the example shares one mapping (a YAML anchor)
    del advice["l1"]
    data["dimensions"][1]["recommendations"] = advice
    errors, warnings = messages(data)
    assert errors == [] and warnings == ["dimensions[1].recommendations: no advice for reaching the level after 'l1'"]
    path = tmp_path / "imported.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert loader.load_file(path).id == "example"  # loads, with the warning
    report = loader.lint_report(path.read_text(encoding="utf-8"), str(path))
    assert str(report.warnings[0]).startswith(f"{path}:") and ": warning: dimensions[1]" in str(report.warnings[0])
    with pytest.raises(loader.InstrumentError, match="no advice for reaching the level after 'l1'"):
        loader.load_file(path, strict=True)  # how the bundled instruments are read
    assert loader.lint_text(path.read_text(encoding="utf-8"), str(path))[1] == []


def test_bundled_instruments_are_read_strictly(monkeypatch, tmp_path):
    data = base()
    del data["dimensions"][0]["recommendations"]["l0"]
    (tmp_path / "example").mkdir()
    (tmp_path / "example" / "1.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(loader, "DATA_DIR", tmp_path)
    with pytest.raises(loader.InstrumentError, match="no advice"):
        loader._load_bundled.__wrapped__()


def test_tools_2025_loads_with_format_v2():
    instrument = loader.load_file(TOOLS, strict=True)
    assert instrument.id == "tools-2025" and instrument.version == "1.0"
    kinds = {q.id: q.type for q in instrument.questions}
    assert kinds["sal01"] == kinds["mgt01"] == "multi" and kinds["ops01"] == kinds["lnk03"] == "table"
    sal01 = instrument.question("sal01")
    assert len(sal01.options) == 22 and sal01.min_select == 1
    assert [o.id for o in sal01.options if o.exclusive] == ["none"]
    assert [(o.id, o.score) for o in instrument.question("dat02").options] == [
        ("0", 0.0), ("1", 0.25), ("2", 0.5), ("3", 0.75), ("4", 1.0)]
    assert instrument.column("lnk03.production_stock").row.applies_to.sections == ["C"]
    model = compile_instrument(instrument.export())
    assert model.n_items == 14 and model.n_questions == len(instrument.columns()) == 61


def test_tools_2025_scores_a_trading_business_as_docs_method_computes_it():
    """docs/method.md, "The tool inventory tools-2025": the worked example, through the engine alone
    (tests/questionnaires/test_tools_2025.py scores it through the assessment layer)."""
    instrument = loader.load_file(TOOLS)
    model = compile_instrument(instrument.export())
    answers = {
        "sal01": "website|facebook|zalo_oa|marketplace|pos|qr_pay|paper_orders", "sal02": "to30",
        "ops01.stock": "in_use", "ops01.purchasing": "planned", "ops01.tasks": "no",
        "ops01.shared_docs": "in_use", "ops01.work_chat": "in_use", "ops01.meetings": "na",
        "ind_g.omnichannel": "planned", "ind_g.barcodes": "in_use", "ind_g.multi_store": "na",
        "ind_g.carriers": "in_use", "ind_g.field_sales": "no", "ind_g.pricing": "in_use", "ind_g.supplier_orders": "no",
        "mgt01": "accounting|einvoice|e_tax|corporate_banking|esign", "mgt02": "reports",
        "dat01.cloud_storage": "in_use", "dat01.backup": "planned", "dat01.access_rights": "no",
        "dat01.auto_reports": "in_use", "dat01.dashboard": "no", "dat01.ai_tools": "in_use", "dat02": "3",
        "lnk01": "files", "lnk02": "twice",
        "lnk03.sales_accounting": "by_hand", "lnk03.sales_stock": "automatic", "lnk03.online_orders": "by_hand",
        "lnk03.einvoice_accounting": "automatic", "lnk03.bank_accounting": "no", "lnk03.time_payroll": "na",
        "lnk03.channels_stock": "by_hand",
        "lnk03.production_stock": "automatic",  # answered, but not asked of section G: left out
    }
    codes = model.na_codes.copy().reshape(1, -1)
    mask = codes < 0
    for c, column in enumerate(instrument.columns()):
        if column.id in answers and column.applies("G", "small"):
            codes[0, c] = model.code_of(c, answers[column.id].split("|") if answers[column.id] != "na" else "na")
            mask[0, c] = True
    result = score(codes, model, applicable=mask)
    assert_allclose(result.dimension_scores[0], [100 * 1 / 3, 60.5, 100 * 1.4 / 3, 100 * 1.85 / 3,
                                                 100 * (0.9 + 2 * 2.9 / 6) / 4])
    assert_allclose(result.overall, [248.833333333 / 5])
    assert [model.level_ids[i] for i in result.dimension_levels[0]] == [
        "separate", "connected", "separate", "connected", "separate"]
    assert model.level_ids[result.overall_level[0]] == "separate"


@pytest.mark.parametrize("instrument", loader.catalogue(), ids=lambda i: i.id)
def test_an_authoring_dump_reads_back_as_the_same_instrument(instrument):
    """What a YAML or spreadsheet export writes: a scale stays a scale (its options are not
    written beside it, which reading refuses), and nothing that decides a score changes."""
    dumped = instrument.authoring_dump()
    again = Instrument.model_validate(yaml.safe_load(yaml.safe_dump(dumped, allow_unicode=True)))
    assert again == instrument
    assert loader.content_hash(again) == loader.content_hash(instrument)
    if instrument.id == "tools-2025":
        assert dumped["questions"][[q.id for q in instrument.questions].index("dat02")]["scale"] == "0-4"
        assert "options" not in dumped["questions"][[q.id for q in instrument.questions].index("dat02")]
