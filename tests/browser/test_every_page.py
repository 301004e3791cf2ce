"""Every page each role can reach, on a 375 px phone in Vietnamese: none is wider than the screen, and
none has a serious or critical accessibility violation (axe-core, WCAG 2.1 A and AA rules).

The pages are found as a person finds them: from the home page, following the links each role is
shown, on the demo data (`dxm demo`: an owner with history, a respondent, a trainer with courses, the
department and an admin). Pages that differ only by an id (a peer's business, another round) are
visited once per pattern, so the walk stays short.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlmodel import Session

from assessment import demo

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "locale": "vi-VN"}
NOT_PAGES = re.compile(r"\.(pdf|csv|xlsx|svg|png|json)$|^/static/|^/logout$")
MAX_PAGES = 40  # per role: the demo's pages are fewer; a walk that finds more is looping
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PERSONAS = [None, *(account.email for account in demo.ACCOUNTS), demo.RESPONDENT.email]


@pytest.fixture
def demo_data(engine):
    with Session(engine, expire_on_commit=False) as session:
        demo.seed(session)


def _pattern(path: str) -> str:
    return re.sub(r"/\d+", "/{id}", path)


def _links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        url = urlsplit(href)
        if href.startswith(base) and not NOT_PAGES.search(url.path) and not page.url.startswith(href + "#"):
            found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


def _check(page: Page) -> list[str]:
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 375:
        problems.append(f"{page.url}: {width} px wide")
    page.evaluate(AXE)  # evaluated through the debugging protocol: the page's CSP still forbids inline script
    result = page.evaluate("rules => axe.run(document, {runOnly: {type: 'tag', values: rules}})", WCAG)
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(f"{page.url}: {violation['id']} ({violation['impact']}) at {targets}")
    return problems


@pytest.mark.parametrize("email", PERSONAS, ids=lambda e: e or "visitor")
def test_every_page_fits_a_phone_and_passes_axe(live_server_vi, pages, demo_data, email):
    page = pages.open(live_server_vi, **PHONE)
    if email:
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
    seen: set[str] = set()
    queue = deque(["/"])
    problems: list[str] = []
    visited = 0
    while queue:
        path = queue.popleft()
        if _pattern(path.split("?")[0]) in seen:
            continue
        seen.add(_pattern(path.split("?")[0]))
        response = page.goto(path)
        assert response is not None and response.status < 400, f"{path} answered {response and response.status}"
        visited += 1
        assert visited <= MAX_PAGES, f"more than {MAX_PAGES} kinds of page for {email}: {sorted(seen)}"
        problems += _check(page)
        queue.extend(_links(page, live_server_vi))
    assert visited >= 2
    assert problems == [], "\n".join(problems)
    pages.assert_no_errors()
