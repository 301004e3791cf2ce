"""The department's city view in a real browser: on a 375 px phone in Vietnamese, the department
applies a filter (swapped in place by HTMX, the URL pushed), reloads the bookmarked URL and sees the
same view, downloads the sector table as XLSX; the page is never wider than the phone and has no
serious accessibility violation. At a desktop in English, another department account changes the
period and the sector, every chart loads, and the dashboard's screenshot goes to docs/screenshots/.

The city is tests/web/test_city.py's (12 businesses, 2026-Q2; G shown with 5, C and I hidden).
Selectors use names, classes, data-keys and URLs, not wording.
"""

from __future__ import annotations

import re

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from assessment import accounts
from tests.browser.test_every_page import AXE, WCAG
from tests.browser.test_trainer_journey import DESKTOP_EN, PHONE_VI, log_in, no_horizontal_scroll, open_page
from tests.factories import PASSWORD
from tests.web.test_city import build_city

pytestmark = pytest.mark.browser
WAIT_MS = 15_000


def charts_loaded(page: Page) -> None:
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('#city-view figure img')];"
        " imgs.forEach(i => i.loading = 'eager');"
        " return imgs.length >= 8 && imgs.every(i => i.complete && i.naturalWidth > 0); }", timeout=WAIT_MS)


def serious_violations(page: Page) -> list[str]:
    page.evaluate(AXE)
    result = page.evaluate("rules => axe.run(document, {runOnly: {type: 'tag', values: rules}})", WCAG)
    return [f"{v['id']} at {[n['target'] for n in v['nodes'][:3]]}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def row_cells(page: Page, table: str, key: str):
    return page.locator(f"#city-view table.{table} tr[data-key='{key}'] td")


def test_the_department_filters_bookmarks_and_downloads(live_server, live_server_vi, pages, engine, screenshot):
    with Session(engine, expire_on_commit=False) as s:
        build_city(s)
        accounts.create_user(session=s, email="so@hanoi.gov.vn", password=PASSWORD, role="department",
                             language="vi")
        accounts.create_user(session=s, email="stats@hanoi.gov.vn", password=PASSWORD, role="department",
                             language="en")

    phone = open_page(pages, live_server_vi, **PHONE_VI)
    log_in(phone, "so@hanoi.gov.vn")
    expect(phone.locator("html")).to_have_attribute("lang", "vi")
    phone.locator("main a[href='/city']").click()  # from the home page
    expect(phone).to_have_url(re.compile(r"/city$"))
    expect(phone.locator("select[name=period]")).to_have_value("2026-Q2")
    expect(row_cells(phone, "sections", "G").nth(1)).to_have_text("35,8")  # Vietnamese decimals
    no_horizontal_scroll(phone)

    with phone.expect_response(lambda r: "/city?" in r.url and r.request.headers.get("hx-request") == "true") as swap:
        phone.locator("#city-view select[name=vsic_section]").select_option(value="G")
    assert swap.value.status == 200
    expect(phone).to_have_url(re.compile(r"/city\?instrument=quick-check&version=1\.0&period=2026-Q2"
                                         r"&vsic_section=G&level=established$"))
    expect(phone.locator("#city-view section.city-overview .big-score")).to_contain_text("35,8")
    bookmarked = phone.url
    phone.reload()
    expect(phone).to_have_url(bookmarked)
    expect(phone.locator("#city-view select[name=vsic_section]")).to_have_value("G")
    expect(phone.locator("#city-view section.city-overview .big-score")).to_contain_text("35,8")
    expect(phone.locator("#city-view table.sections tbody tr")).to_have_count(1)
    no_horizontal_scroll(phone)
    assert serious_violations(phone) == []

    with phone.expect_download() as download:
        phone.locator("#city-view a[href^='/city/exports/sections.xlsx']").click()
    assert download.value.suggested_filename == "city-sections-quick-check-1.0-2026-Q2.xlsx"
    with open(download.value.path(), "rb") as file:
        sheet = openpyxl.load_workbook(file).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    by_key = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert (by_key["G"]["businesses"], by_key["G"]["mean_overall"]) == (5, 35.8)
    assert set(by_key) == {"G", "total"}

    # a small group asked for: the refusal, and no figures
    phone.locator("#city-view select[name=vsic_section]").select_option(value="C")
    expect(phone.locator("#city-view p.refused")).to_be_visible()
    expect(phone.locator("#city-view section.city-overview")).to_have_count(0)
    no_horizontal_scroll(phone)

    desk = open_page(pages, live_server, **DESKTOP_EN)
    log_in(desk, "stats@hanoi.gov.vn")
    desk.goto("/city")
    expect(desk.locator("html")).to_have_attribute("lang", "en")
    desk.locator("#city-view select[name=period]").select_option(value="2026")
    expect(desk).to_have_url(re.compile(r"period=2026&level="))
    expect(row_cells(desk, "sections", "G").nth(0)).to_have_text("5")
    expect(row_cells(desk, "sections", "C").nth(0)).to_have_text("—")
    charts_loaded(desk)
    screenshot(desk, "city-dashboard-en.png")
    pages.assert_no_errors()
