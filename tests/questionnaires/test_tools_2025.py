"""tools-2025: the tool inventory modelled on the principles of the 2025 SME criteria (Decision
1567/QĐ-BKHCN). It must lint clean, say in its own texts that it is not the official list, ask each
industry part only of its VSIC section, and score one answer set as docs/method.md ("The tool inventory tools-2025")
computes it by hand."""

import unicodedata
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from assessment.answers import answer_value
from assessment.layout import applicable
from assessment.messages import NotAllowed
from assessment.scores import score_answers
from questionnaires import loader
from questionnaires.schema import Instrument

INDUSTRY_PARTS = {"ind_c": "C", "ind_g": "G", "ind_h": "H", "ind_i": "I"}
SECTION_ROWS = {"production_stock": "C", "channels_stock": "G", "gps_dispatch": "H", "ota_pms": "I"}
SECTIONS = "ABCDEFGHIJKLMNOPQRSTU"

# The worked example of docs/method.md ("The tool inventory tools-2025"): a small trading business (section G).
EXAMPLE = {
    "sal01": "website|facebook|zalo_oa|marketplace|pos|qr_pay|paper_orders",  # 0.25
    "sal02": "to30",  # 0.5
    "ops01.stock": "in_use", "ops01.purchasing": "planned", "ops01.tasks": "no",
    "ops01.shared_docs": "in_use", "ops01.work_chat": "in_use", "ops01.meetings": "na",  # delivery unanswered
    "ind_g.omnichannel": "planned", "ind_g.barcodes": "in_use", "ind_g.multi_store": "na",
    "ind_g.carriers": "in_use", "ind_g.field_sales": "no", "ind_g.pricing": "in_use",
    "ind_g.supplier_orders": "no",
    "mgt01": "accounting|einvoice|e_tax|corporate_banking|esign",  # 0.35
    "mgt02": "reports",  # 0.7
    "dat01.cloud_storage": "in_use", "dat01.backup": "planned", "dat01.access_rights": "no",
    "dat01.auto_reports": "in_use", "dat01.dashboard": "no", "dat01.ai_tools": "in_use",
    "dat02": "3",  # 3/4
    "lnk01": "files",  # 0.4
    "lnk02": "twice",  # 0.5
    "lnk03.sales_accounting": "by_hand", "lnk03.sales_stock": "automatic", "lnk03.online_orders": "by_hand",
    "lnk03.einvoice_accounting": "automatic", "lnk03.bank_accounting": "no", "lnk03.time_payroll": "na",
    "lnk03.channels_stock": "by_hand",
}


@pytest.fixture(scope="module")
def tools() -> Instrument:
    return loader.get("tools-2025")


def test_the_file_lints_clean_and_is_nfc() -> None:
    path = loader.DATA_DIR / "tools-2025" / "1.0.yaml"
    text = Path(path).read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", text) == text
    instrument, problems = loader.lint_text(text, str(path))
    assert problems == [] and instrument is not None and instrument.version == "1.0"


def test_it_says_it_is_modelled_on_the_2025_principles_not_the_official_list(tools: Instrument) -> None:
    assert tools.source is not None
    for text in (tools.description.en, tools.source.en):
        assert "1567/QĐ-BKHCN" in text and "not the official" in text
    assert "1567/QĐ-BKHCN" in tools.description.vi and "không phải danh mục chính thức" in tools.description.vi


def test_common_part_has_tool_inventories_with_an_exclusive_none_and_tables(tools: Instrument) -> None:
    inventories = [q for q in tools.questions if q.type == "multi"]
    assert len(inventories) >= 2
    for question in inventories:
        tools_listed = [o for o in question.options if not o.exclusive]
        assert 20 <= len(tools_listed) <= 40
        assert [o.id for o in question.options if o.exclusive] == ["none"]
        assert question.min_select == 1 and question.applies_to.sections == []
    tables = [q for q in tools.questions if q.type == "table" and not q.applies_to.sections]
    assert {"ops01", "dat01", "lnk03"} <= {q.id for q in tables}
    assert {d.id for d in tools.dimensions} == {"sales", "operations", "management", "data", "linkage"}


@pytest.mark.parametrize("section", SECTIONS)
def test_each_industry_part_is_asked_only_of_its_section(tools: Instrument, section: str) -> None:
    asked = {q.id for q in applicable(tools, section, "small")}
    assert {q for q, s in INDUSTRY_PARTS.items() if s == section} == asked & set(INDUSTRY_PARTS)
    assert {"sal01", "mgt01", "ops01", "lnk01", "lnk02", "lnk03"} <= asked  # the common part


def test_an_industry_row_of_the_linkage_table_counts_only_in_its_section(tools: Instrument) -> None:
    base = score_answers(tools, "G", "small", EXAMPLE).dimension_scores[0]
    other_section = score_answers(tools, "G", "small", {**EXAMPLE, "lnk03.production_stock": "automatic"})
    assert_allclose(other_section.dimension_scores[0], base)  # a manufacturing row: not asked of trade
    as_manufacturer = {k: v for k, v in EXAMPLE.items() if k != "lnk03.channels_stock"}
    manufacturer = score_answers(tools, "C", "small", {**as_manufacturer, "lnk03.production_stock": "automatic"})
    linkage = [d.id for d in tools.dimensions].index("linkage")
    # lnk03 rows: 0.3, 1, 0.3, 1, 0 and production → stock 1: 3.6 / 6 = 0.6
    assert_allclose(manufacturer.dimension_scores[0, linkage], 100 * (0.4 + 0.5 + 2 * 0.6) / 4)


def test_none_of_these_cannot_be_ticked_with_a_tool(tools: Instrument) -> None:
    sal01 = tools.question("sal01")
    assert sal01 is not None
    with pytest.raises(NotAllowed):
        answer_value(sal01, ["website", "none"])
    assert answer_value(sal01, ["none"]) == "none"


def test_hand_computed_scores_of_a_trading_business(tools: Instrument) -> None:
    result = score_answers(tools, "G", "small", EXAMPLE)
    by_id = dict(zip((d.id for d in tools.dimensions), result.dimension_scores[0], strict=True))
    # sales: sal01 = 0.1 + 0.05 + 0.05 + 0.1 + 0.1 + 0.05 - 0.2 = 0.25 (weight 2), sal02 = 0.5
    assert_allclose(by_id["sales"], 100 * (2 * 0.25 + 0.5) / 3)  # 33.333333
    # operations: ops01 = (1 + 0.3 + 0 + 1 + 1) / 5 = 0.66, ind_g = (0.3 + 1 + 1 + 0 + 1 + 0) / 6 = 0.55
    assert_allclose(by_id["operations"], 60.5)
    # management: mgt01 = 0.1 + 0.1 + 0.05 + 0.05 + 0.05 = 0.35 (weight 2), mgt02 = 0.7
    assert_allclose(by_id["management"], 100 * 1.4 / 3)  # 46.666667
    # data: dat01 = 3.3 / 6 = 0.55 (weight 2), dat02 = 3 / 4
    assert_allclose(by_id["data"], 100 * 1.85 / 3)  # 61.666667
    # linkage: lnk01 0.4, lnk02 0.5, lnk03 = (0.3 + 1 + 0.3 + 1 + 0 + 0.3) / 6 (weight 2)
    assert_allclose(by_id["linkage"], 100 * (0.9 + 2 * 2.9 / 6) / 4)  # 46.666667
    assert_allclose(result.overall[0], 248.833333333 / 5)  # 49.766667: just short of "connected"
    model_levels = [lv.id for lv in tools.levels]
    assert model_levels[result.overall_level[0]] == "separate"
    assert [model_levels[i] for i in result.dimension_levels[0]] == [
        "separate", "connected", "separate", "connected", "separate"]
