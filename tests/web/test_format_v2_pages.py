"""Format v2 on the owner's pages, over HTTP: a table is one block of rows saved one by one, a scale is a
row of radios, a checklist with "none of these" is refused when mixed (with a message, in the owner's
language), and the review and results pages count and show table rows. On tools-2025, for a small
trading business (VSIC G)."""

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from assessment.models import Answer, Assessment, User
from tests.assessment.test_format_v2 import COMPLETE
from tests.factories import login, make_business, make_owner


@pytest.fixture
def copy(client, session):
    owner = make_owner(session)
    business = make_business(session, owner, vsic_section="G")
    login(client)
    response = client.submit(f"/businesses/{business.id}/assessments", {"instrument": "tools-2025"})
    assert response.status_code == 303 and response.headers["location"].endswith("/pages/0")
    return session.exec(select(Assessment)).one()


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def stored(session) -> dict[str, str]:
    session.expire_all()
    return {a.question_id: a.value for a in session.exec(select(Answer)).all()}


def test_a_table_is_one_block_of_rows_each_saved_on_its_own(client, copy):
    page = html(client.get(f"/assessments/{copy.id}/pages/1"))  # operations: ops01 and the trade part
    tables = page.select("fieldset.table-question")
    assert [t["id"] for t in tables] == ["q-ops01", "q-ind_g"]  # not the manufacturing, transport or hotel parts
    ops01 = tables[0]
    assert "cols-4" in ops01["class"]  # three answers and "not applicable": the grid's columns
    assert [h.text for h in ops01.select(".scale-head span")] == ["In use", "Planned within 12 months", "No",
                                                                 "Not applicable"]
    rows = ops01.select("fieldset.scale-row")
    assert [r["hx-post"] for r in rows] == [f"/assessments/{copy.id}/answers/ops01.{r}" for r in (
        "stock", "purchasing", "tasks", "shared_docs", "work_chat", "meetings", "delivery")]
    first = rows[0]
    assert first.legend.text == "Stock management software" and first["id"] == "q-ops01.stock"
    assert first.find_parent("form") is not None  # its own form: its radios are one group
    radios = first.select("input[type=radio][name=answer]")
    assert [r["value"] for r in radios] == ["in_use", "planned", "no", "na"]
    # each radio is labelled for a screen reader, though the grid shows the headings once
    assert [r.find_parent("label").select_one(".cell-text").text for r in radios] == [
        "In use", "Planned within 12 months", "No", "Not applicable"]


def test_a_row_saved_counts_one_of_34_and_shows_checked(client, session, copy):
    response = client.hx(f"/assessments/{copy.id}/answers/ops01.purchasing", {"answer": "planned"})
    assert response.status_code == 200 and "Saved" in response.text
    assert html(response).select_one("#progress-bar")["value"] == "1"
    assert html(response).select_one("#progress-bar")["max"] == "34"
    assert stored(session) == {"ops01.purchasing": "planned"}
    row = html(client.get(f"/assessments/{copy.id}/pages/1")).select_one("fieldset[id='q-ops01.purchasing']")
    assert [r["value"] for r in row.select("input[checked]")] == ["planned"]


@pytest.mark.parametrize(("column_id", "data", "message"), [
    ("ops01", {"answer": "in_use"}, "Unknown question."),
    ("lnk03.production_stock", {"answer": "automatic"}, "Unknown question."),
    ("ops01.stock", [("answer", "in_use"), ("answer", "no")], "Choose one answer."),
    ("sal01", [("answer", "-"), ("answer", "website"), ("answer", "none")], "cannot be ticked together"),
    ("sal01", {"answer": "-"}, "Tick at least 1 of the answers."),
])
def test_bad_answers_are_refused_with_a_message_and_save_nothing(client, session, copy, column_id, data, message):
    response = client.hx(f"/assessments/{copy.id}/answers/{column_id}", data)
    assert response.status_code == 422
    assert message in html(response).select_one("[role=alert]").text
    assert stored(session) == {}


def test_the_refusal_is_in_vietnamese_for_a_vietnamese_owner(client, session, copy):
    owner = session.exec(select(User)).one()
    owner.language = "vi"
    session.add(owner)
    session.commit()
    response = client.hx(f"/assessments/{copy.id}/answers/sal01", {"answer": "-"})
    assert response.status_code == 422 and "Cần chọn ít nhất 1 phương án." in response.text


def test_a_checklist_sends_nothing_ticked_and_marks_its_exclusive_option(client, session, copy):
    page = html(client.get(f"/assessments/{copy.id}/pages/0"))
    sal01 = page.select_one("fieldset#q-sal01")
    assert sal01.select_one("input[type=hidden][name=answer]")["value"] == "-"
    assert [b["value"] for b in sal01.select("input[data-exclusive]")] == ["none"]
    assert len(sal01.select("input[type=checkbox]")) == 22
    assert "Tick at least 1." in sal01.text
    response = client.hx(f"/assessments/{copy.id}/answers/sal01", [("answer", "-"), ("answer", "none")])
    assert response.status_code == 200 and stored(session) == {"sal01": "none"}
    assert page.find("script", src="/static/choices.js") is not None
    assert client.get("/static/choices.js").status_code == 200


def test_a_scale_is_a_row_of_radios(client, copy):
    page = html(client.get(f"/assessments/{copy.id}/pages/3"))  # data
    dat02 = page.select_one("fieldset#q-dat02")
    assert "scale-question" in dat02["class"]
    assert [r["value"] for r in dat02.select(".options input[type=radio]")] == ["0", "1", "2", "3", "4"]


def test_review_lists_a_missing_row_with_its_table_and_results_show_the_score(client, session, copy):
    for column_id, value in COMPLETE.items():
        if column_id != "ops01.delivery":
            assert client.hx(f"/assessments/{copy.id}/answers/{column_id}",
                             [("answer", v) for v in value.split("|")]).status_code == 200
    review = html(client.get(f"/assessments/{copy.id}/review"))
    missing = review.select(".missing li a")
    assert [(a.text, a["href"]) for a in missing] == [
        ("How does the business use these tools in its daily work? — Delivery management linked to carriers",
         f"/assessments/{copy.id}/pages/1#q-ops01.delivery")]
    assert review.select_one("#progress-bar")["value"] == "33"
    assert client.get(f"/assessments/{copy.id}").headers["location"].endswith("/pages/1")
    assert client.submit(f"/assessments/{copy.id}/submit").status_code == 422
    client.hx(f"/assessments/{copy.id}/answers/ops01.delivery", {"answer": "no"})
    response = client.submit(f"/assessments/{copy.id}/submit")
    assert response.status_code == 303 and response.headers["location"].endswith("/results")
    results = html(client.get(f"/assessments/{copy.id}/results"))
    # overall (100 / 3 + 55 + 140 / 3 + 185 / 3 + 140 / 3) / 5 = 48.666667 (docs/method.md §13)
    assert results.select_one(".big-score").text.startswith("48.7")
    assert results.select_one(".level").text == "Separate tools"
    dimension_scores = [td.text.split()[-1] for td in results.select("table.dimensions td:nth-of-type(1)")]
    assert dimension_scores == ["33.3", "55.0", "46.7", "61.7", "46.7"]
    # the what-if form offers each row of a table on its own, and a checklist's tools
    assert results.select_one("select[name='q_ops01.delivery'] option[selected]")["value"] == "no"
    assert len(results.select("input[name=q_sal01][type=checkbox]")) == 22


def test_what_if_scores_a_changed_row_and_leaves_out_an_invalid_mix(client, session, copy):
    for column_id, value in COMPLETE.items():
        client.hx(f"/assessments/{copy.id}/answers/{column_id}", [("answer", v) for v in value.split("|")])
    assert client.submit(f"/assessments/{copy.id}/submit").status_code == 303
    form = {f"q_{k}": value.split("|") for k, value in COMPLETE.items()}  # repeated fields: lists
    # delivery in use: ops01 = 4.3 / 6, operations = 100 (2 * 4.3 / 6 + 2 * 0.55) / 4 = 63.333333; overall
    # (243.333333 - 55 + 63.333333) / 5 = 50.333333: "connected"
    changed = html(client.submit(f"/assessments/{copy.id}/what-if", {**form, "q_ops01.delivery": ["in_use"]}))
    assert changed.select_one("#sandbox .big-score").text.startswith("50.3")
    assert changed.select_one(".sandbox-level").text == "Connected"
    # "none of these" with a tool is no answer: sales falls back to sal02 alone (0.5): 50
    mixed = {**form, "q_sal01": ["-", "website", "none"]}
    sales = html(client.submit(f"/assessments/{copy.id}/what-if", mixed)).select(".sandbox-dimensions li")[0]
    assert sales.text.startswith("Sales and customers: 50.0")
    session.expire_all()  # the submitted copy is untouched
    assert session.get(Assessment, copy.id).overall_score == pytest.approx(48.666667, abs=1e-6)
