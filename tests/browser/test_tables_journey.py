"""Format v2 in a real browser, on a 375 px phone in Vietnamese: a shop owner answers the tools-2025
checklist with its exclusive "none of these" (choices.js unticks the rest) and a table stacked one row
per fieldset, submits, and reads the hand-computed score of docs/method.md §13 on the results page.
The other answers are saved beforehand through the service, so the browser does only the new shapes.

Selectors use ids, names and URLs rather than visible wording, except where the Vietnamese text is
what is checked.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session

from assessment import answers, rounds
from assessment.models import Assessment, User
from tests.assessment.test_format_v2 import COMPLETE
from tests.browser.test_every_page import _check as fits_and_passes_axe
from tests.factories import PASSWORD, make_business, make_owner, owner_of, start

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "locale": "vi-VN"}
BROWSER_ANSWERS = ("sal01", "ops01.")  # answered by clicking; every other column is saved beforehand


@pytest.fixture
def shop_copy(engine) -> int:
    """A Vietnamese owner's small shop (VSIC G) with a tools-2025 draft, all but sal01 and ops01 answered."""
    with Session(engine, expire_on_commit=False) as session:
        owner = make_owner(session)
        owner.language = "vi"
        session.add(owner)
        session.commit()
        business = make_business(session, owner, vsic_section="G")
        copy = start(session, business, owner_of(session, business), instrument_id="tools-2025")
        for column_id, value in COMPLETE.items():
            if not column_id.startswith(BROWSER_ANSWERS):
                answers.save(session=session, draft=copy, business=business, question_id=column_id,
                             chosen=value.split("|"))
        return copy.id


def stored_answers(engine, copy_id: int) -> dict[str, str]:
    with Session(engine) as s:
        return rounds.answers_of(s, s.get(Assessment, copy_id))


def save_by_clicking(page: Page, column_id: str, target: Locator) -> None:
    """Click an answer and wait until its column's autosave has answered ✓."""
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith(f"/answers/{column_id}")) as saved:
        target.click()
    assert saved.value.status == 200, f"saving {column_id} answered {saved.value.status}"
    expect(page.locator(f"[id='q-{column_id}'] .status")).to_contain_text("✓")


def no_horizontal_scroll(page: Page, width: int = 375) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px wide at {width}px"


def test_a_table_and_an_exclusive_checklist_on_a_phone_in_vietnamese(live_server_vi, pages, engine, shop_copy):
    page = pages.open(live_server_vi, **PHONE)
    page.goto("/login")
    page.locator("#email").fill("owner@example.vn")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header form[action='/logout'] button")).to_be_visible()

    # the sales checklist: "none of these" unticks the tools, a tool unticks "none of these"
    page.goto(f"/assessments/{shop_copy}/pages/0")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    sal01 = page.locator("fieldset#q-sal01")
    box = lambda value: sal01.locator(f"input[type=checkbox][value='{value}']")  # noqa: E731
    save_by_clicking(page, "sal01", box("website"))
    save_by_clicking(page, "sal01", box("none"))
    expect(box("none")).to_be_checked()
    expect(box("website")).not_to_be_checked()
    assert stored_answers(engine, shop_copy)["sal01"] == "none"
    for tool in COMPLETE["sal01"].split("|"):
        save_by_clicking(page, "sal01", box(tool))
    expect(box("none")).not_to_be_checked()
    assert stored_answers(engine, shop_copy)["sal01"] == COMPLETE["sal01"]
    assert fits_and_passes_axe(page) == []

    # the operations table, stacked: each row a fieldset of its own, its answers one under another
    page.goto(f"/assessments/{shop_copy}/pages/1")
    table = page.locator("fieldset#q-ops01")
    rows = table.locator("fieldset.scale-row")
    expect(rows).to_have_count(7)
    expect(table.locator(".scale-head")).to_be_hidden()
    first_row = rows.first.locator(".scale-cells label")
    expect(first_row.first.locator(".cell-text")).to_have_text("Đang dùng")  # each answer says what it is
    tops = [label.bounding_box()["y"] for label in first_row.all()]
    assert tops == sorted(tops) and len(set(tops)) == 4, f"the row's answers are not stacked: {tops}"
    lefts = {round(row.bounding_box()["x"]) for row in rows.all()}
    assert len(lefts) == 1  # the rows stack too
    assert fits_and_passes_axe(page) == []  # 375 px wide, no serious or critical axe violation
    for column_id, value in COMPLETE.items():
        if column_id.startswith("ops01."):
            row = page.locator(f"[id='q-{column_id}']")
            save_by_clicking(page, column_id, row.locator(f"input[type=radio][value='{value}']"))
    expect(page.locator("#progress-bar")).to_have_attribute("value", "34")
    expect(page.locator("#progress-bar")).to_have_attribute("max", "34")
    assert stored_answers(engine, shop_copy) == COMPLETE

    # on a desktop the same table is a grid: a row's answers side by side, on one line
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(table.locator(".scale-head")).to_be_visible()
    tops = {round(label.bounding_box()["y"]) for label in rows.first.locator(".scale-cells label").all()}
    assert len(tops) == 1, f"the row's answers are not on one line: {tops}"
    page.goto(f"/assessments/{shop_copy}/pages/0")
    assert fits_and_passes_axe(page) == []  # the checklist, on the desktop
    page.set_viewport_size(PHONE["viewport"])

    # submit, and the results page shows the score computed by hand (48.666667, "Công cụ rời rạc")
    page.goto(f"/assessments/{shop_copy}/review")
    expect(page.locator("article.missing")).to_have_count(0)
    page.locator("main form[action$='/submit'] button").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{shop_copy}/results$"))
    expect(page.locator("article.overall .big-score")).to_contain_text("48,7")
    expect(page.locator("article.overall .level")).to_have_text("Công cụ rời rạc")
    no_horizontal_scroll(page)
    with Session(engine) as s:
        copy = s.get(Assessment, shop_copy)
        assert copy.status == "submitted" and copy.overall_level == "separate"
        assert abs(copy.overall_score - 243.333333333 / 5) < 1e-6
        assert s.get(User, copy.respondent_id).language == "vi"
    pages.assert_no_errors()
