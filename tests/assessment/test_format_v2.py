"""Format v2 in the owner's storage and layout: a table row is answered, counted and scored as its own
column (``<table>.<row>``), a checklist's exclusive "none of these" and ``min_select`` are checked at
the edge, and "nothing ticked" is stored as "-". Hand-computed on tools-2025 (docs/method.md §13)."""

import pytest
from numpy.testing import assert_allclose
from sqlmodel import select

from assessment import answers, layout, rounds
from assessment.messages import NotAllowed
from assessment.models import Answer, Assessment, DimensionResult
from assessment.scores import encode, model_for, score_answers
from questionnaires import loader
from tests.factories import make_business, make_owner, owner_of, start
from tests.questionnaires.test_tools_2025 import EXAMPLE

#: the example of docs/method.md §13 with its one unanswered row answered, so the copy can be submitted
COMPLETE = {**EXAMPLE, "ops01.delivery": "no"}


@pytest.fixture
def tools():
    return loader.get("tools-2025", "1.0")


@pytest.fixture
def shop(session):
    """A small trading business (VSIC G: 8 employees, 5 bn revenue) with a tools-2025 draft."""
    business = make_business(session, make_owner(session), vsic_section="G")
    return start(session, business, owner_of(session, business), instrument_id="tools-2025"), business


def save(session, copy, business, column_id, chosen):
    return answers.save(session=session, draft=copy, business=business, question_id=column_id, chosen=chosen)


def stored(session) -> dict[str, str]:
    return {a.question_id: a.value for a in session.exec(select(Answer)).all()}


# -- answer_value: the checks at the edge ---------------------------------------------------------
def test_none_of_these_is_refused_with_a_tool_and_alone_is_an_answer(tools):
    sal01 = tools.question("sal01")
    with pytest.raises(NotAllowed, match="cannot be ticked together with other answers"):
        answers.answer_value(sal01, ["website", "none"])
    assert answers.answer_value(sal01, ["none"]) == "none"
    assert answers.answer_value(sal01, ["-", "qr_pay", "website"]) == "website|qr_pay"  # in the options' order


def test_nothing_ticked_is_dash_unless_the_checklist_needs_a_tick(tools):
    with pytest.raises(NotAllowed) as refused:  # sal01: min_select 1
        answers.answer_value(tools.question("sal01"), ["-"])
    assert str(refused.value) == "Tick at least %(n)d of the answers." and refused.value.args[0].params == {"n": 1}
    ops01 = loader.get("quick-check", "1.0").question("ops01")  # a checklist without min_select
    assert answers.answer_value(ops01, ["-"]) == "-"
    assert answers.answer_value(ops01, []) is None  # nothing sent at all: the answer is cleared
    with pytest.raises(NotAllowed, match="Unknown answer"):
        answers.answer_value(tools.question("sal02"), ["-"])  # single choice: no "nothing ticked"


def test_a_table_row_takes_one_of_its_tables_options(tools):
    ops01 = tools.question("ops01")
    assert answers.answer_value(ops01, ["planned"]) == "planned"
    assert answers.answer_value(ops01, ["na"]) == "na"  # the table allows "not applicable"
    with pytest.raises(NotAllowed, match="Choose one answer"):
        answers.answer_value(ops01, ["planned", "no"])
    with pytest.raises(NotAllowed, match="not an answer"):
        answers.answer_value(tools.question("dat01"), ["na"])


# -- saving ----------------------------------------------------------------------------------------
def test_each_row_is_saved_and_counted_on_its_own(session, shop):
    copy, business = shop
    # asked of a small shop: sal01, sal02, ops01 (7 rows), mgt01, mgt02, dat01 (6), dat02, lnk01, lnk02,
    # lnk03 (6 common rows + channels_stock), ind_g (7 rows): 2 + 7 + 2 + 6 + 1 + 2 + 7 + 7 = 34 columns
    assert save(session, copy, business, "ops01.stock", ["in_use"]) == answers.Progress(1, 34)
    assert save(session, copy, business, "ops01.tasks", ["no"]) == answers.Progress(2, 34)
    assert save(session, copy, business, "sal01", ["-", "website", "zalo_oa"]) == answers.Progress(3, 34)
    assert save(session, copy, business, "ops01.stock", []).done == 2  # cleared
    assert stored(session) == {"ops01.tasks": "no", "sal01": "website|zalo_oa"}


@pytest.mark.parametrize(("column_id", "chosen", "message"), [
    ("ops01", ["in_use"], "Unknown question"),  # a table's own id is not an answer
    ("lnk03.production_stock", ["automatic"], "Unknown question"),  # a manufacturing row: not asked of a shop
    ("ind_c.planning", ["in_use"], "Unknown question"),  # a manufacturing table
    ("ops01.nope", ["in_use"], "Unknown question"),
    ("ops01.stock", ["automatic"], "Unknown answer"),  # lnk03's option, not ops01's
    ("sal01", ["website", "none"], "cannot be ticked together"),
    ("sal01", ["-"], "Tick at least"),
    ("sal02", ["to30", "over60"], "Choose one answer"),
])
def test_bad_answers_save_nothing(session, shop, column_id, chosen, message):
    copy, business = shop
    save(session, copy, business, "sal02", ["to30"])
    with pytest.raises(NotAllowed, match=message):
        save(session, copy, business, column_id, chosen)
    assert stored(session) == {"sal02": "to30"}


def test_a_checklist_of_every_tool_fits(session, shop, tools):
    copy, business = shop
    every_tool = [o.id for o in tools.question("sal01").options if not o.exclusive]
    save(session, copy, business, "sal01", every_tool)
    assert stored(session)["sal01"] == "|".join(every_tool)


# -- layout ------------------------------------------------------------------------------------------
def test_pages_list_questions_and_a_table_holds_the_rows_asked(tools):
    pages = layout.pages(tools, "G", "small")
    assert [p.dimension.id for p in pages] == ["sales", "operations", "management", "data", "linkage"]
    operations = pages[1]
    assert [q.id for q in operations.questions] == ["ops01", "ind_g"]  # not ind_c, ind_h, ind_i
    assert [r.id for r in operations.rows["ops01"]] == [
        "stock", "purchasing", "tasks", "shared_docs", "work_chat", "meetings", "delivery"]
    linkage = pages[4]
    assert [r.id for r in linkage.rows["lnk03"]][-1] == "channels_stock"
    assert "lnk03.production_stock" not in [c.id for c in linkage.columns]
    assert sum(len(p.columns) for p in pages) == 34


def test_a_table_with_no_row_asked_is_not_asked(tools):
    """lnk03 with only its manufacturing row left: a shop is not asked the table at all."""
    lnk03 = tools.question("lnk03")
    only_c = lnk03.model_copy(update={"rows": [lnk03.row("production_stock")]})
    trimmed = tools.model_copy(update={"questions": [only_c if q.id == "lnk03" else q for q in tools.questions]})
    assert "lnk03" not in [q.id for q in layout.applicable(trimmed, "G", "small")]
    assert "lnk03" in [q.id for q in layout.applicable(trimmed, "C", "small")]
    assert "lnk03" not in [p.rows for p in layout.pages(trimmed, "G", "small")][-1]


def test_missing_and_the_first_unanswered_page_count_rows(tools):
    answered = {k: v for k, v in COMPLETE.items() if k != "ops01.delivery"}
    assert [c.id for c in layout.missing(tools, "G", "small", answered)] == ["ops01.delivery"]
    assert layout.first_unanswered_page(tools, "G", "small", answered) == 1
    assert layout.first_unanswered_page(tools, "G", "small", COMPLETE) is None


# -- scoring over columns --------------------------------------------------------------------------------
def test_encode_codes_each_column(tools):
    model = model_for("tools-2025", "1.0")
    codes, mask = encode(tools, "G", "small", {"ops01.purchasing": "planned", "sal01": "none",
                                               "lnk03.production_stock": "automatic"})
    assert codes[0, model.column("ops01.purchasing")] == 1 and codes[0, model.column("sal01")] == 1 << 21
    assert mask.sum() == 2  # the manufacturing row is not asked of a shop
    quick = loader.get("quick-check", "1.0")
    codes, mask = encode(quick, "G", "small", {"ops01": "-"})
    assert codes[0, model_for("quick-check", "1.0").column("ops01")] == 0 and mask.sum() == 1


def test_a_partly_answered_table_averages_its_answered_rows(tools):
    """operations = (2 ops01 + 2 ind_g) / 4; ops01 of the example without "delivery": (1 + 0.3 + 0 + 1 +
    1) / 5 = 0.66 ("meetings" is na); with "delivery" no: 3.3 / 6 = 0.55; ind_g = 3.3 / 6 = 0.55."""
    operations = [d.id for d in tools.dimensions].index("operations")
    partly = score_answers(tools, "G", "small", EXAMPLE).dimension_scores[0, operations]
    assert_allclose(partly, 100 * (2 * 0.66 + 2 * 0.55) / 4)  # 60.5
    assert_allclose(score_answers(tools, "G", "small", COMPLETE).dimension_scores[0, operations], 55.0)


def test_a_complete_copy_is_submitted_with_hand_computed_scores(session, shop):
    """sales 100 (2 * 0.25 + 0.5) / 3 = 33.333333, operations 55, management 100 * 1.4 / 3 = 46.666667,
    data 100 * 1.85 / 3 = 61.666667, linkage 100 * (0.9 + 2 * 2.9 / 6) / 4 = 46.666667; overall the mean
    of the five, 243.333333 / 5 = 48.666667: "separate tools" (25 to under 50)."""
    copy, business = shop
    for column_id, value in COMPLETE.items():
        if column_id != "ops01.delivery":
            save(session, copy, business, column_id, value.split("|"))
    gaps = rounds.submit(session=session, copy=copy, business=business)
    assert [c.id for c in gaps] == ["ops01.delivery"]
    assert save(session, copy, business, "ops01.delivery", ["no"]) == answers.Progress(34, 34)
    assert rounds.submit(session=session, copy=copy, business=business) == []
    session.expire_all()
    submitted = session.get(Assessment, copy.id)
    assert submitted.status == "submitted" and submitted.overall_level == "separate"
    assert_allclose(submitted.overall_score, 243.333333333 / 5, atol=1e-6)
    scores = {r.dimension_id: (r.score, r.level) for r in session.exec(select(DimensionResult)).all()}
    assert_allclose([scores[d][0] for d in ("sales", "operations", "management", "data", "linkage")],
                    [100 / 3, 55.0, 140 / 3, 185 / 3, 140 / 3], atol=1e-6)
    assert [scores[d][1] for d in ("sales", "operations", "management", "data", "linkage")] == [
        "separate", "connected", "separate", "connected", "separate"]
