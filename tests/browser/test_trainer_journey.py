"""A trainer's journey in a real browser: create a course, read its join code off the page; two
owners join by code, one on a phone in Vietnamese and one on a desktop in English; their rounds from
before the course are its T0; the course ends, and they submit a quick-check (T1); the trainer's
dashboard shows them submitted after an HTMX refresh (set off by changing a filter, not by waiting for
the 30-s poll) and the change before and after; the trainer e-mails a reminder to a third member who
has not started, the dashboard counts it, and the members' table downloads as XLSX. The dashboard's
screenshot goes to docs/screenshots/.

The owners and their businesses are made with the factories, and their answers saved through them
(the autosave has its own browser tests); submitting goes through the pages. Selectors use ids,
names, classes and URLs, not wording.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from assessment import access, accounts, cohorts, consent
from assessment.models import Cohort, Consent, MailMessage, Reminder, utcnow
from tests.factories import PASSWORD, answered, make_business

pytestmark = pytest.mark.browser

WAIT_MS = 15_000  # the machine may be busy: generous waits, never sleeps
PHONE_VI = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
            "device_scale_factor": 2, "locale": "vi-VN"}
DESKTOP_EN = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}
# a complete quick-check (overall 58.0, Established; see tests/web/test_cohorts.py)
# answers of the lowest options: overall 2.5 (see tests/web/test_cohorts.py)
LOW = {"cus01": ["none"], "cus02": ["cash"], "cus03": ["memory"], "ops01": ["paper"], "ops02": ["verbal"],
       "dat01": ["paper"], "dat02": ["rarely"], "ppl01": ["basic"], "ppl02": ["no"], "sec01": ["none"],
       "sec02": ["mfa"]}
MID = {"cus01": ["full"], "cus02": ["integrated"], "cus03": ["crm"], "ops01": ["einvoice", "accounting"],
       "ops02": ["verbal"], "dat01": ["shared"], "dat02": ["monthly"], "ppl01": ["office"], "ppl02": ["once"],
       "sec01": ["manual"], "sec02": ["mfa", "antivirus", "accounts"]}


def open_page(pages, base_url: str, **options) -> Page:
    page = pages.open(base_url, **options)
    page.set_default_timeout(WAIT_MS)
    return page


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header form[action='/logout'] button")).to_be_visible(timeout=WAIT_MS)


def no_horizontal_scroll(page: Page, width: int = 375) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px wide at {width}px"


def join_with_consent(page: Page, business_id: int) -> None:
    """On a course's join page: choose the business, tick the consent box, join."""
    page.locator(f"input[name=business_id][value='{business_id}']").check()
    expect(page.locator("p.consent-text")).to_be_visible(timeout=WAIT_MS)
    page.locator("input[name=consent][value=yes]").check()
    page.locator("#reminders").check()  # reminder e-mails: a choice of its own, not ticked in advance
    page.locator("main form[action^='/join/'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/businesses/{business_id}$"), timeout=WAIT_MS)


def submit_from_review(page: Page, copy_id: int) -> None:
    page.goto(f"/assessments/{copy_id}/review")
    expect(page.locator("article.missing")).to_have_count(0, timeout=WAIT_MS)
    page.locator("main form[action$='/submit'] button").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{copy_id}/results$"), timeout=WAIT_MS)


def member_row(page: Page, cohort_id: int, business_id: int):
    return page.locator("#dashboard table.members tbody tr").filter(
        has=page.locator(f"a[href='/cohorts/{cohort_id}/members/{business_id}']"))


def charts_loaded(page: Page) -> None:
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('#dashboard section.charts img')];"
        " return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }", timeout=WAIT_MS)


def test_trainer_runs_a_course(live_server, live_server_vi, pages, engine, screenshot):
    with Session(engine, expire_on_commit=False) as s:
        accounts.create_user(session=s, email="trainer@example.vn", password=PASSWORD, role="trainer",
                             display_name="Phạm Thu", language="en")
        people = {}
        for email, name, language in (("hoa@gombattrang.vn", "Gốm Bát Tràng", "vi"),
                                      ("lan@example.vn", "Lan Ceramics", "en"),
                                      ("minh@example.vn", "Minh Bikes", "en")):
            owner = accounts.create_user(session=s, email=email, password=PASSWORD, role="owner", language=language)
            people[email] = (owner, make_business(s, owner, name=name))
    hoa_business = people["hoa@gombattrang.vn"][1]
    lan_business = people["lan@example.vn"][1]
    minh, minh_business = people["minh@example.vn"]
    today = access.hanoi_date(utcnow())

    # the trainer creates the course and reads its code off the page
    trainer = open_page(pages, live_server, **DESKTOP_EN)
    log_in(trainer, "trainer@example.vn")
    trainer.goto("/cohorts")
    trainer.locator("#name").fill("Digital basics for craft villages")
    trainer.locator("#instrument").select_option(value="quick-check")
    trainer.locator("#starts_on").fill((today - timedelta(days=30)).isoformat())
    trainer.locator("#ends_on").fill((today + timedelta(days=10)).isoformat())
    trainer.locator("main form[action='/cohorts'] button[type=submit]").click()
    expect(trainer).to_have_url(re.compile(r"/cohorts/\d+$"), timeout=WAIT_MS)
    cohort_id = int(trainer.url.rsplit("/", 1)[1])
    code = trainer.locator("strong.code").inner_text().strip()
    assert re.fullmatch(r"[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}", code), code
    expect(trainer.locator("input.join-link")).to_have_value(f"{live_server}/join/{code}", timeout=WAIT_MS)
    trainer.wait_for_function("() => { const q = document.querySelector('.join-code img');"
                              " return q && q.complete && q.naturalWidth > 0; }", timeout=WAIT_MS)
    with Session(engine) as s:
        cohort = s.get(Cohort, cohort_id)
        assert (cohort.join_code, cohort.name, cohort.status) == (code, "Digital basics for craft villages", "open")

    # an owner on a phone, in Vietnamese: types the code (lower case, with a space)
    hoa = open_page(pages, live_server_vi, **PHONE_VI)
    log_in(hoa, "hoa@gombattrang.vn")
    expect(hoa.locator("html")).to_have_attribute("lang", "vi", timeout=WAIT_MS)
    hoa.goto("/join")
    hoa.locator("#code").fill(f"{code[:4].lower()} {code[4:].lower()}")
    hoa.locator("main form[action='/join'] button[type=submit]").click()
    expect(hoa.locator(f"main form[action='/join/{code}']")).to_be_visible(timeout=WAIT_MS)
    expect(hoa.locator("main")).to_contain_text("Digital basics for craft villages", timeout=WAIT_MS)
    no_horizontal_scroll(hoa)
    join_with_consent(hoa, hoa_business.id)
    no_horizontal_scroll(hoa)

    # an owner at a desktop, in English: follows the link
    lan = open_page(pages, live_server, **DESKTOP_EN)
    log_in(lan, "lan@example.vn")
    lan.goto(f"/join/{code}")
    expect(lan.locator("html")).to_have_attribute("lang", "en", timeout=WAIT_MS)
    join_with_consent(lan, lan_business.id)

    with Session(engine, expire_on_commit=False) as s:
        given = s.exec(select(Consent).where(Consent.cohort_id == cohort_id)).all()
        assert {c.business_id: f"{c.text_version}/{c.language}" for c in given} == {
            hoa_business.id: "cohort-consent-1/vi", lan_business.id: "cohort-consent-1/en"}
        # the third owner joins too (not through the pages: joining is shown above; agreeing to reminder
        # e-mails, as the join page offers) and does not start
        consent.give(session=s, user=minh, purpose="reminders", language="en")
        cohorts.join(session=s, cohort=s.get(Cohort, cohort_id), business=minh_business, by=minh, lang="en",
                     now=utcnow())
        for business in (hoa_business, lan_business):  # T0: a round closed 40 days ago, before the course
            answered(s, business, LOW, now=utcnow() - timedelta(days=40))
        cohort = s.get(Cohort, cohort_id)  # the course ends (yesterday): what follows is after it
        cohort.ends_on = today - timedelta(days=1)
        s.add(cohort)
        s.commit()
        hoa_copy = answered(s, hoa_business, MID, submit=False)
        lan_copy = answered(s, lan_business, MID, submit=False)

    trainer.reload()
    for business in (hoa_business, lan_business):
        expect(member_row(trainer, cohort_id, business.id).locator("td.state-in-progress")).to_contain_text(
            "100", timeout=WAIT_MS)
    expect(member_row(trainer, cohort_id, minh_business.id).locator("td.state-not-started")).to_have_count(1)

    submit_from_review(hoa, hoa_copy.id)
    no_horizontal_scroll(hoa)
    submit_from_review(lan, lan_copy.id)

    # no waiting for the 30-s poll: a filter change swaps the dashboard in at once
    with trainer.expect_response(lambda r: f"/cohorts/{cohort_id}?section=G" in r.url
                                 and r.request.headers.get("hx-request") == "true") as refreshed:
        trainer.locator("form.filters select[name=section]").select_option(value="G")
    assert refreshed.value.status == 200
    expect(trainer).to_have_url(re.compile(rf"/cohorts/{cohort_id}\?section=G(&size=)?$"), timeout=WAIT_MS)
    for business in (hoa_business, lan_business):
        row = member_row(trainer, cohort_id, business.id)
        expect(row.locator("td.state-submitted")).to_have_count(1, timeout=WAIT_MS)
        expect(row.locator("td").nth(1)).to_have_text("58.0", timeout=WAIT_MS)
    with trainer.expect_response(lambda r: urlsplit(r.url).path == f"/cohorts/{cohort_id}"
                                 and "section=G" not in r.url and r.request.headers.get("hx-request") == "true"):
        trainer.locator("form.filters select[name=section]").select_option(value="")
    expect(trainer.locator("#dashboard table.members tbody tr")).to_have_count(3, timeout=WAIT_MS)

    # a reminder by e-mail to the member who has not started
    row = member_row(trainer, cohort_id, minh_business.id)
    expect(row.locator("td.state-not-started")).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator("td").nth(3)).to_have_text("0")
    row.locator("th a").click()
    expect(trainer).to_have_url(re.compile(rf"/cohorts/{cohort_id}/members/{minh_business.id}$"), timeout=WAIT_MS)
    trainer.locator("button[name=channel][value=email]").click()
    expect(trainer).to_have_url(re.compile(rf"/cohorts/{cohort_id}/members/{minh_business.id}$"), timeout=WAIT_MS)
    expect(trainer.locator("main")).to_contain_text("(email)", timeout=WAIT_MS)
    with Session(engine) as s:
        mails = s.exec(select(MailMessage)).all()
        assert [(m.to_address, m.kind) for m in mails] == [("minh@example.vn", "cohort-reminder")]
        assert f"/businesses/{minh_business.id}" in mails[0].body and "Minh Bikes" in mails[0].body
        assert [(r.business_id, r.channel) for r in s.exec(select(Reminder))] == [(minh_business.id, "email")]

    trainer.locator(f"main a[href='/cohorts/{cohort_id}']").click()
    expect(trainer).to_have_url(re.compile(rf"/cohorts/{cohort_id}$"), timeout=WAIT_MS)
    expect(member_row(trainer, cohort_id, minh_business.id).locator("td").nth(3)).to_have_text("1", timeout=WAIT_MS)
    expect(member_row(trainer, cohort_id, hoa_business.id).locator("td").nth(3)).to_have_text("0")
    # before and after: both improved from 2.5 to 58.0, the same change: its mean, no p-value
    overall = trainer.locator("#dashboard table.changes tr.overall td")
    expect(overall.nth(0)).to_have_text("2", timeout=WAIT_MS)
    expect(overall.nth(1)).to_have_text("+55.5")
    expect(overall.nth(3)).to_have_text("—")
    charts_loaded(trainer)
    screenshot(trainer, "cohort-dashboard-en.png")
    with trainer.expect_download() as download:
        trainer.locator(f"a[href='/cohorts/{cohort_id}/exports/members.xlsx']").click()
    assert download.value.suggested_filename == f"cohort-{cohort_id}-members.xlsx"
    with open(download.value.path(), "rb") as file:
        sheet = openpyxl.load_workbook(file).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    by_name = {row[header.index("business")]: row for row in rows[1:]}
    assert set(by_name) == {"Gốm Bát Tràng", "Lan Ceramics", "Minh Bikes"}
    for name in ("Gốm Bát Tràng", "Lan Ceramics"):
        row = by_name[name]
        assert (row[header.index("t0_overall")], row[header.index("t1_overall")]) == (2.5, 58.0)
    assert by_name["Minh Bikes"][header.index("t0_overall")] is None
    pages.assert_no_errors()
