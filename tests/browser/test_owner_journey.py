"""An owner's journey in a real browser: sign up, register the business, take the quick-check with
HTMX autosave (across two devices), submit, read the results, play with the what-if sandbox and
download the PDF report. Screenshots of the main pages go to docs/screenshots/.

Selectors use ids, names and URLs rather than visible wording, so the tests do not depend on the
state of the translation catalogues.
"""

from __future__ import annotations

import re
import subprocess
import time
import unicodedata

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, col, select

from assessment import rounds
from assessment.models import Assessment, Business, MailMessage, User
from tests.factories import PASSWORD
from web import formatting

pytestmark = pytest.mark.browser

BUSINESS_NAME = "Công ty TNHH Gốm Bát Tràng"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "en-US"}


# --- steps -------------------------------------------------------------------------------------------


def submit_main_form(page: Page) -> None:
    """Click the submit button of the page's own form (the nav has log-out and language buttons too)."""
    page.locator("main form button[type=submit]").click()


def mailed_code(engine, email: str) -> str:
    """The code in the latest mail to ``email``, as the owner reads it in their mailbox (the test app
    has no SMTP: the outbox keeps every mail)."""
    with Session(engine) as s:
        body = s.exec(select(MailMessage).where(MailMessage.to_address == email)
                      .order_by(col(MailMessage.id).desc())).first().body
    return re.search(r"\b(\d{6})\b", body).group(1)


def sign_up(page: Page, engine, email: str, name: str = "Nguyễn Thị Hoa") -> None:
    """Sign up, then type the code mailed to the address."""
    page.goto("/signup")
    page.locator("#display_name").fill(name)
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#consent_service").check()
    submit_main_form(page)
    expect(page).to_have_url(re.compile(r"/signup/[\w-]+$"))
    page.locator("#code").fill(mailed_code(engine, email))
    submit_main_form(page)
    expect(page).to_have_url(re.compile(r"/businesses/new$"))
    expect(page.locator("header form[action='/logout'] button")).to_be_visible()


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    submit_main_form(page)
    expect(page.locator("header form[action='/logout'] button")).to_be_visible()


def fill_business_form(page: Page, *, name: str, tax_code: str) -> None:
    page.locator("#name").fill(name)
    page.locator("#tax_code").fill(tax_code)
    page.locator("#ward_code").select_option(value="00577")
    page.locator("#vsic_section").select_option(value="C")
    page.locator("#employees").fill("12")
    page.locator("#revenue_bn").fill("10")
    page.locator("#capital_bn").fill("5")


def register_business(page: Page, name: str = BUSINESS_NAME) -> int:
    expect(page).to_have_url(re.compile(r"/businesses/new$"))
    fill_business_form(page, name=name, tax_code="0100233488")
    submit_main_form(page)
    expect(page).to_have_url(re.compile(r"/businesses/\d+$"))
    expect(page.locator("main h1")).to_have_text(name)
    return int(page.url.rsplit("/", 1)[1])


def start_quick_check(page: Page) -> int:
    """On the business page: start the quick-check (the default choice); returns the assessment id."""
    expect(page.locator("input[name=instrument][value=quick-check]")).to_be_checked()
    page.locator("form.start-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/assessments/\d+/pages/0$"))
    return int(re.search(r"/assessments/(\d+)/", page.url).group(1))


def new_owner_on_first_question(pages, base_url: str, engine) -> tuple[Page, int, Locator, str]:
    """A new owner with a business, on the first page of a fresh quick-check: (page, assessment id,
    the first question's fieldset, its question id)."""
    page = pages.open(base_url)
    sign_up(page, engine, "owner@example.vn")
    register_business(page)
    assessment_id = start_quick_check(page)
    first = page.locator("fieldset.question").first
    return page, assessment_id, first, first.get_attribute("id").removeprefix("q-")


def progress(page: Page) -> int:
    return int(page.locator("#progress-bar").get_attribute("value"))


def choose(page: Page, question: Locator, target: Locator) -> None:
    """Click an answer and wait until the autosave for that question has answered ✓."""
    qid = question.get_attribute("id").removeprefix("q-")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/answers/{qid}")) as saved:
        target.click()
    assert saved.value.status == 200, f"saving {qid} answered {saved.value.status}"
    expect(page.locator(f"#status-{qid}")).to_contain_text("✓")


def shown_answers(page: Page) -> dict[str, str]:
    """The answers the current page shows ticked, in the stored form ("a|b" for several boxes)."""
    return page.eval_on_selector_all(
        "fieldset.question",
        "qs => Object.fromEntries(qs.filter(q => q.querySelector('input:checked')).map(q => [q.id.slice(2),"
        " [...q.querySelectorAll('input:checked')].map(i => i.value).join('|')]))")


def answer_page(page: Page) -> list[str]:
    """Answer every unanswered question of the current page: a single-choice question with its last
    real option (the best, not "not applicable"), a multi-choice question with its first box."""
    answered = []
    questions = page.locator("fieldset.question")
    for i in range(questions.count()):
        question = questions.nth(i)
        if question.locator("input:checked").count():
            continue
        boxes = question.locator("input[type=checkbox]")
        if boxes.count():
            choose(page, question, boxes.first)
        else:
            choose(page, question, question.locator("label:not(.na)").last)
        answered.append(question.get_attribute("id").removeprefix("q-"))
    # every question of the page still shows its answer (one radio group per question, not per page)
    expect(page.locator("fieldset.question:not(:has(input:checked))")).to_have_count(0)
    return answered


def answer_everything(page: Page, screenshot=None, name: str | None = None) -> None:
    """From the current page to the review page, answering whatever is unanswered."""
    for _ in range(20):
        expect(page.locator("fieldset.question").first).to_be_visible()
        answer_page(page)
        if screenshot and name:
            screenshot(page, name)
            screenshot = None
        page.locator("nav.pager a").last.click()
        if page.url.endswith("/review"):
            return
    pytest.fail("never reached the review page")


def no_horizontal_scroll(page: Page, width: int = 375) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px wide at {width}px"


def charts_loaded(page: Page) -> None:
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('section.charts img')];"
        " return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }")
    sizes = page.evaluate("[...document.querySelectorAll('section.charts img')].map(i => i.naturalWidth)")
    assert all(width > 0 for width in sizes), sizes


# --- database ----------------------------------------------------------------------------------------


def stored_answers(engine, assessment_id: int) -> dict[str, str]:
    with Session(engine) as s:
        return rounds.answers_of(s, s.get(Assessment, assessment_id))


def stored(engine, model, ident):
    with Session(engine, expire_on_commit=False) as s:
        return s.get(model, ident)


def nfc(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


# --- tests -------------------------------------------------------------------------------------------


def test_owner_journey_in_vietnamese_on_a_phone(live_server_vi, pages, engine, screenshot, tmp_path):
    page = pages.open(live_server_vi, **PHONE)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("main")).to_contain_text("Kiểm tra nhanh mức độ số hóa")  # questionnaire titles
    no_horizontal_scroll(page)
    screenshot(page, "home-vi.png")

    sign_up(page, engine, "hoa@gombattrang.vn")
    with Session(engine) as s:
        user = s.exec(select(User).where(User.email == "hoa@gombattrang.vn")).one()
        assert (user.role, user.language, user.display_name) == ("owner", "vi", "Nguyễn Thị Hoa")

    # a wrong check digit first: the error is shown next to the field, the values are kept
    pages.expect_error_status("/businesses", 422)
    fill_business_form(page, name=BUSINESS_NAME, tax_code="0100233480")
    no_horizontal_scroll(page)
    screenshot(page, "business-form-vi.png")
    submit_main_form(page)
    expect(page.locator("#tax_code-error")).to_be_visible()
    expect(page.locator("#tax_code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#tax_code")).to_have_attribute("aria-describedby", "tax_code-error")
    expect(page.locator("#name")).to_have_value(BUSINESS_NAME)
    expect(page.locator("#ward_code")).to_have_value("00577")
    expect(page.locator("#name-error")).to_have_count(0)
    with Session(engine) as s:
        assert s.exec(select(Business)).all() == []
    page.locator("#tax_code").fill("0100233488")
    submit_main_form(page)
    expect(page).to_have_url(re.compile(r"/businesses/\d+$"))
    expect(page.locator("main h1")).to_have_text(BUSINESS_NAME)
    expect(page.locator("main hgroup")).to_contain_text("Bát Tràng")  # the ward, in Vietnamese
    business_id = int(page.url.rsplit("/", 1)[1])
    business = stored(engine, Business, business_id)
    assert (business.name, business.tax_code, business.ward_code, business.vsic_section) == (
        BUSINESS_NAME, "0100233488", "00577", "C")
    assert business.size_class == "small"

    # the quick-check, first answer on this device
    assessment_id = start_quick_check(page)
    first = page.locator("fieldset.question").first
    first_id = first.get_attribute("id").removeprefix("q-")
    expect(page.locator(f"#status-{first_id}")).not_to_contain_text("✓")
    before = progress(page)
    chosen = first.locator("input[type=radio]").nth(2)
    chosen_value = chosen.get_attribute("value")
    choose(page, first, first.locator("label").nth(2))
    expect(page.locator("#progress-bar")).to_have_attribute("value", str(before + 1))
    assert stored_answers(engine, assessment_id) == {first_id: chosen_value}
    no_horizontal_scroll(page)
    screenshot(page, "assessment-page-vi.png")
    page.locator("header form[action='/logout'] button").click()
    expect(page.locator("header a[href='/login']")).to_be_visible()

    # another phone: log in, continue the draft, the answer is still there
    phone = pages.open(live_server_vi, **PHONE)
    log_in(phone, "hoa@gombattrang.vn")
    phone.locator(f"main a[href='/businesses/{business_id}']").click()
    expect(phone).to_have_url(re.compile(rf"/businesses/{business_id}$"))
    phone.locator(f"main a[href='/assessments/{assessment_id}']").click()
    expect(phone).to_have_url(re.compile(rf"/assessments/{assessment_id}/pages/0$"))
    expect(phone.locator(f"#q-{first_id} input[value='{chosen_value}']")).to_be_checked()
    expect(phone.locator(f"#status-{first_id}")).to_contain_text("✓")
    expect(phone.locator("#progress-bar")).to_have_attribute("value", "1")

    answer_everything(phone)
    expect(phone).to_have_url(re.compile(rf"/assessments/{assessment_id}/review$"))
    expect(phone.locator("article.missing")).to_have_count(0)
    total = phone.locator("#progress-bar").get_attribute("max")
    expect(phone.locator("#progress-bar")).to_have_attribute("value", total)
    no_horizontal_scroll(phone)
    screenshot(phone, "review-vi.png")
    answers = stored_answers(engine, assessment_id)
    assert len(answers) == int(total) and answers[first_id] == chosen_value
    phone.locator(f"main a[href='/assessments/{assessment_id}/pages/0']").click()
    shown = shown_answers(phone)
    assert len(shown) == phone.locator("fieldset.question").count() > 1
    assert shown == {qid: answers[qid] for qid in shown}
    phone.goto(f"/assessments/{assessment_id}/review")

    phone.locator("main form[action$='/submit'] button").click()
    expect(phone).to_have_url(re.compile(rf"/assessments/{assessment_id}/results$"))
    submitted = stored(engine, Assessment, assessment_id)
    assert submitted.status == "submitted" and submitted.overall_score is not None
    score_vi = formatting.score(submitted.overall_score, "vi")  # "82,5": the reader's locale
    expect(phone.locator("article.overall .big-score")).to_contain_text(score_vi)
    expect(phone.locator("main hgroup")).to_contain_text(BUSINESS_NAME)
    charts_loaded(phone)
    no_horizontal_scroll(phone)
    screenshot(phone, "results-vi.png")

    # what-if: the sandbox follows the changed answer, the stored assessment does not
    sandbox = phone.locator("#sandbox")
    sandbox_before = sandbox.inner_text()
    select_box = phone.locator(f"#whatif-form select[name='q_{first_id}']")
    other = next(v for v in select_box.locator("option").evaluate_all("os => os.map(o => o.value)")
                 if v != chosen_value)
    with phone.expect_response(lambda r: r.url.endswith("/what-if")) as answered:
        select_box.select_option(value=other)
    assert answered.value.status == 200
    expect(sandbox).not_to_have_text(sandbox_before)
    expect(sandbox.locator(".big-score")).not_to_contain_text(score_vi)
    # an answer far down the list: on a phone the sandbox is off-screen, its sticky bar is not
    last = phone.locator("#whatif-form select").last
    last.evaluate("e => e.scrollIntoView({block: 'center'})")
    options = last.locator("option").evaluate_all("os => os.map(o => o.value)")
    with phone.expect_response(lambda r: r.url.endswith("/what-if")):
        last.select_option(value=next(v for v in options if v != last.input_value()))
    expect(sandbox.locator(".big-score")).not_to_be_in_viewport()
    bar = phone.locator("#sandbox-bar")
    expect(bar).to_be_in_viewport()
    phone.wait_for_function("() => document.querySelector('#sandbox-bar strong').textContent.trim() === "
                            "document.querySelector('#sandbox .big-score').firstChild.textContent.trim()")
    assert stored_answers(engine, assessment_id) == answers
    assert stored(engine, Assessment, assessment_id).overall_score == submitted.overall_score
    expect(phone.locator("article.overall .big-score")).to_contain_text(score_vi)

    # the PDF report
    with phone.expect_download() as download:
        phone.locator("a[href$='report.pdf']").click()
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["/usr/bin/pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          check=True, timeout=30).stdout.decode("utf-8")
    assert nfc(BUSINESS_NAME) in nfc(text), text[:500]

    pages.assert_no_errors()


def test_owner_journey_in_english_on_a_desktop(live_server_vi, pages, engine, screenshot):
    page = pages.open(live_server_vi)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.locator("header form.lang-switch button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main")).to_contain_text("Digital quick check")

    sign_up(page, engine, "lan@example.vn", name="Tran Lan")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    business_id = register_business(page, name="Lan Ceramics Co., Ltd")
    assessment_id = start_quick_check(page)
    answer_everything(page, screenshot, "assessment-page-en.png")
    page.locator("main form[action$='/submit'] button").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{assessment_id}/results$"))
    expect(page.locator("article.overall .big-score")).to_be_visible()
    charts_loaded(page)
    screenshot(page, "results-en.png")

    with Session(engine) as s:
        assert s.exec(select(User).where(User.email == "lan@example.vn")).one().language == "en"
        assessment = s.get(Assessment, assessment_id)
        assert assessment.status == "submitted" and assessment.business_id == business_id
    pages.assert_no_errors()


def test_submit_shows_missing_questions(live_server, pages, engine):
    page, assessment_id, first, _ = new_owner_on_first_question(pages, live_server, engine)
    choose(page, first, first.locator("label").first)
    total = int(page.locator("#progress-bar").get_attribute("max"))
    # two boxes of the first multi-choice question: both are stored, once each
    page.locator("nav.pager a").last.click()
    multi = page.locator("fieldset.question:has(input[type=checkbox])").first
    multi_id = multi.get_attribute("id").removeprefix("q-")
    boxes = multi.locator("input[type=checkbox]")
    choose(page, multi, boxes.nth(0))
    choose(page, multi, boxes.nth(1))
    expected = "|".join(boxes.evaluate_all("bs => bs.slice(0, 2).map(b => b.value)"))
    assert stored_answers(engine, assessment_id)[multi_id] == expected
    expect(page.locator("#progress-bar")).to_have_attribute("value", "2")

    page.goto(f"/assessments/{assessment_id}/review")
    missing = page.locator("article.missing li a")
    expect(missing).to_have_count(total - 2)
    expect(page.locator("article.missing")).to_contain_text(f"{total - 2} questions still need an answer")
    expect(page.locator("main form[action$='/submit'] button")).to_be_disabled()
    # every missing question links to its place in the questionnaire
    hrefs = missing.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    asked = set(stored_answers(engine, assessment_id))
    assert all(re.fullmatch(rf"/assessments/{assessment_id}/pages/\d+#q-\w+", h) for h in hrefs)
    assert not asked & {h.rsplit("#q-", 1)[1] for h in hrefs}
    missing.first.click()
    target = page.url.rsplit("#", 1)[1]
    expect(page.locator(f"#{target}")).to_be_visible()
    expect(page.locator(f"#{target} input:checked")).to_have_count(0)

    assert stored(engine, Assessment, assessment_id).status == "draft"
    pages.assert_no_errors()


def test_keyboard_answering(live_server, pages, engine):
    page, assessment_id, first, qid = new_owner_on_first_question(pages, live_server, engine)
    radios = first.locator("input[type=radio]")

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('fieldset.question input[type=radio]')"):
            break
    else:
        pytest.fail("the first answer cannot be reached with Tab")
    expect(radios.first).to_be_focused()

    saved = lambda r: r.request.method == "POST" and r.url.endswith(f"/answers/{qid}")  # noqa: E731
    with page.expect_response(saved):
        page.keyboard.press("Space")
    expect(radios.first).to_be_checked()
    expect(page.locator(f"#status-{qid}")).to_contain_text("✓")
    assert stored_answers(engine, assessment_id) == {qid: radios.first.get_attribute("value")}

    with page.expect_response(saved):
        page.keyboard.press("ArrowDown")
    expect(radios.nth(1)).to_be_focused()
    expect(radios.nth(1)).to_be_checked()
    expect(page.locator(f"#status-{qid}")).to_contain_text("✓")
    assert stored_answers(engine, assessment_id) == {qid: radios.nth(1).get_attribute("value")}
    expect(page.locator("#progress-bar")).to_have_attribute("value", "1")

    # Tab moves on to the next question's answers (each question is its own radio group) ...
    second = page.locator("fieldset.question").nth(1)
    second_id = second.get_attribute("id").removeprefix("q-")
    page.keyboard.press("Tab")
    expect(second.locator("input[type=radio]").first).to_be_focused()
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/answers/{second_id}")):
        page.keyboard.press("Space")
    expect(page.locator(f"#status-{second_id}")).to_contain_text("✓")
    # ... and answering it leaves the first answer ticked, on the page and in the database
    expect(radios.nth(1)).to_be_checked()
    assert stored_answers(engine, assessment_id) == {
        qid: radios.nth(1).get_attribute("value"), second_id: second.locator("input").first.get_attribute("value")}
    expect(page.locator("#progress-bar")).to_have_attribute("value", "2")
    pages.assert_no_errors()


def test_a_failed_save_is_retried_and_the_owner_is_told(live_server, pages, engine):
    page, assessment_id, first, qid = new_owner_on_first_question(pages, live_server, engine)
    dropped = []

    def flaky_network(route) -> None:  # a Playwright route
        if len(dropped) < 2:  # the first two tries never reach the server
            dropped.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route(f"**/assessments/{assessment_id}/answers/**", flaky_network)
    first.locator("input[type=radio]").first.check()
    expect(page.locator("#save-failed")).to_be_visible()  # the owner is told at once
    assert stored_answers(engine, assessment_id) == {}
    # app.js retries after 1 s and 2 s; the third try gets through
    expect(page.locator(f"#status-{qid}")).to_contain_text("✓", timeout=15_000)
    expect(page.locator("#save-failed")).to_be_hidden()
    assert len(dropped) == 2
    chosen = first.locator("input[type=radio]").first.get_attribute("value")
    assert stored_answers(engine, assessment_id) == {qid: chosen}


def test_quick_answers_are_saved_one_at_a_time_in_order(live_server, pages, engine):
    """Answers chosen faster than the server replies: the page sends its saves one at a time, in the
    order they were made, so the last of two quick choices on a question is the one stored, and the
    progress bar of the last reply counts every answer."""
    page, assessment_id, _first, _qid = new_owner_on_first_question(pages, live_server, engine)
    held, most, finished = [], [0], []

    def hold(route) -> None:  # a Playwright route
        """The server seems slow: each save waits here until the test lets it through."""
        held.append(route)
        most[0] = max(most[0], len(held))

    page.route(f"**/assessments/{assessment_id}/answers/**", hold)
    page.on("requestfinished", lambda request: finished.append(request.url) if "/answers/" in request.url else None)
    questions = page.locator("fieldset.question")
    expected = {}
    for i in range(questions.count()):
        options = questions.nth(i).locator("input[type=radio]")
        if options.count() < 2:
            continue
        qid = questions.nth(i).get_attribute("id").removeprefix("q-")
        options.nth(0).check()
        options.nth(1).check()  # changed at once: two saves of one question, back to back
        expected[qid] = options.nth(1).get_attribute("value")
    assert len(expected) >= 2
    deadline = time.monotonic() + 20
    while len(finished) < 2 * len(expected) and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # saves sent meanwhile are held; then let them through
        while held:
            held.pop(0).continue_()
    assert len(finished) == 2 * len(expected)
    assert most[0] == 1, f"{most[0]} saves were sent at once"
    assert stored_answers(engine, assessment_id) == expected
    assert progress(page) == len(expected)
    pages.assert_no_errors()


def test_leaving_the_page_waits_for_its_saves(live_server, pages, engine):
    """An owner answers and at once follows "Next" while the save is still on its way (or queued):
    the page goes on only when the save is answered, so the answer is not lost with the page."""
    page, assessment_id, first, qid = new_owner_on_first_question(pages, live_server, engine)
    held = []
    page.route(f"**/assessments/{assessment_id}/answers/**", lambda route: held.append(route))
    answer = first.locator("input[type=radio]").nth(1)
    chosen = answer.get_attribute("value")
    answer.check()
    onward = page.locator("nav.pager a").last
    onward.click()
    page.wait_for_timeout(300)  # the save is held back, so the page must still be here
    assert page.url.endswith(f"/assessments/{assessment_id}/pages/0")
    assert onward.get_attribute("aria-busy") == "true"
    assert len(held) == 1
    held.pop().continue_()
    page.wait_for_url(f"**/assessments/{assessment_id}/pages/1")
    assert stored_answers(engine, assessment_id) == {qid: chosen}
    pages.assert_no_errors()
