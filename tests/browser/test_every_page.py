"""Every page each role can reach, on a 375 px phone in Vietnamese: none is wider than the screen, every
link, button and field lies within it and is on top where one taps it, the header's buttons line up,
no date or number is written in a machine's form (2026-12-02, or 38.0 in Vietnamese), and none has
a serious or critical accessibility violation (axe-core, WCAG 2.1 A and AA rules). A visitor's and an
owner's pages get the same checks at 1280 px in English.

The pages are found as a person finds them: from the home page, following the links each role is
shown, on the demo data (`dxm demo`: an owner with history, a respondent, a trainer with courses, the
department and an admin). Pages that differ only by an id (a peer's business, another round) are
visited once per pattern, so the walk stays short. Pages no link leads to (a sign-up's code, a reset
link, an invitation) are reached through the authorization matrix instead: each of its page routes is
visited, in the matrix's own world, by a person the matrix lets in.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlmodel import Session, select

from assessment import demo
from tests.web.test_pages import machine_numbers

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "locale": "vi-VN"}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}
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


# Every control a person uses, in the screen's width (not cut off at the right edge, inside a table
# that scrolls or not) and on top at its centre, so a click reaches it (not a label's text or a
# neighbour laid over it); and the header's controls one height, centred on one line.
CONTROLS = """width => {
  const problems = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? `[name=${e.name}]` : '')
    + ` "${(e.textContent || e.value || '').trim().slice(0, 30)}"`;
  const shown = e => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
      && !e.closest('[hidden], details:not([open]) > :not(summary)');
  };
  const controls = 'main a[href], main button, main input:not([type=hidden]), main select, main textarea,'
    + ' header a, header button';
  for (const e of document.querySelectorAll(controls)) {
    if (!shown(e)) continue;
    // scrolled to vertically only: a link a table hides past the right edge stays hidden, as for a person
    window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - innerHeight / 2);
    const r = e.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1) {
      problems.push(`${name(e)} lies outside the ${width} px screen (${Math.round(r.left)}–${Math.round(r.right)} px)`);
      continue;
    }
    const box = e.getClientRects()[0];  // a link wrapped over two lines: the centre of its first line
    const x = Math.min(Math.max(box.left + box.width / 2, 0), width - 1), y = box.top + box.height / 2;
    const top = document.elementFromPoint(x, y);  // (a disabled button takes no clicks: Pico sets it so)
    if (top && top !== e && !e.contains(top) && !e.disabled) problems.push(`${name(e)} is covered by ${name(top)}`);
  }
  window.scrollTo(0, 0);
  const rows = [];  // the header's buttons by line (a phone's header wraps): those whose heights overlap
  for (const e of document.querySelectorAll('header nav li > a[role=button], header nav li button')) {
    const r = e.getBoundingClientRect();
    const row = rows.find(items => items[0][1].top < r.bottom && r.top < items[0][1].bottom);
    if (row) row.push([e, r]); else rows.push([[e, r]]);
  }
  for (const items of rows) {
    const [first, r0] = items[0];
    for (const [e, r] of items.slice(1)) {
      if (Math.abs(r.height - r0.height) > 1 || Math.abs((r.top + r.bottom) - (r0.top + r0.bottom)) > 2)
        problems.push(`header: ${name(e)} (top ${Math.round(r.top)}, ${Math.round(r.height)} high) is not`
          + ` aligned with ${name(first)} (top ${Math.round(r0.top)}, ${Math.round(r0.height)} high)`);
    }
  }
  return problems;
}"""


def _check(page: Page, width: int | None = None) -> list[str]:
    problems = []
    width = width or (page.viewport_size or {"width": 375})["width"]  # the screen the page is shown on
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        problems.append(f"{page.url}: {scroll_width} px wide")
    problems += [f"{page.url}: {problem}" for problem in page.evaluate(CONTROLS, width)]
    text = " ".join(page.locator("body").inner_text().split())
    lang = page.locator("html").get_attribute("lang") or ""
    problems += [f"{page.url}: a machine's number {context!r}" for context in machine_numbers(text, lang)]
    page.evaluate(AXE)  # evaluated through the debugging protocol: the page's CSP still forbids inline script
    result = page.evaluate("rules => axe.run(document, {runOnly: {type: 'tag', values: rules}})", WCAG)
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(f"{page.url}: {violation['id']} ({violation['impact']}) at {targets}")
    return problems


def _log_in(page: Page, email: str | None) -> None:
    if email:
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)


def _walk(page: Page, base: str, email: str | None, width: int) -> list[str]:
    """Every kind of page reachable from the home page by links, each checked; the problems found."""
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
        problems += _check(page, width)
        queue.extend(_links(page, base))
    assert visited >= 2
    return problems


@pytest.mark.parametrize("email", PERSONAS, ids=lambda e: e or "visitor")
def test_every_page_fits_a_phone_and_passes_axe(live_server_vi, pages, demo_data, email):
    page = pages.open(live_server_vi, **PHONE)
    _log_in(page, email)
    problems = _walk(page, live_server_vi, email, 375)
    assert problems == [], "\n".join(problems)
    pages.assert_no_errors()


@pytest.mark.parametrize("email", [None, demo.ACCOUNTS[0].email], ids=["visitor", "owner"])
def test_every_page_of_a_visitor_and_an_owner_on_a_desktop_in_english(live_server_vi, pages, demo_data, email):
    """The same checks at 1280 px in English: the questionnaire choices' counts, the tables' action
    links and the header's buttons, wide as narrow."""
    page = pages.open(live_server_vi, **DESKTOP)
    _log_in(page, email)
    page.goto("/")
    page.locator("header form.lang-switch button[value=en]").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    problems = _walk(page, live_server_vi, email, 1280)
    assert problems == [], "\n".join(problems)
    pages.assert_no_errors()


MATRIX_NOT_PAGES = re.compile(r"\.(pdf|csv|xlsx|svg|png|json|\{fmt\})$|^/healthz$|^/api/|^/openapi")


def _matrix_pages() -> list[tuple[str, str, str]]:
    """(path, id kind, person) for every route of the authorization matrix that renders a page: each
    id kind that someone may see, seen by the first person the table lets in (a visitor first)."""
    from tests.web.test_authorization_matrix import EVERYONE, ROWS

    found = []
    for row in ROWS:
        if row.method != "GET" or MATRIX_NOT_PAGES.search(row.path):
            continue
        for kind, table in row.cells.items():
            who = next((person for person in EVERYONE if table[person] == 200 and person not in ("U", "K")), None)
            if who is not None and kind not in ("missing", "huge"):
                found.append((row.path, kind, who))
    return found


def test_every_page_of_the_authorization_matrix_fits_a_phone_and_passes_axe(live_server_vi, pages, engine,
                                                                              settings):
    """The walk above reaches what links lead to; this one visits every page route of the matrix
    (tests/web/test_authorization_matrix.py) in its world, so a page no link leads to (a sign-up code,
    a reset link, an invitation, a draft's questions) is checked too, and a route added to the matrix
    is checked without anyone adding it here."""
    from assessment import accounts
    from assessment.models import User
    from tests.web.test_authorization_matrix import _fill, build_world
    from web.deps import SESSION_COOKIE

    world = build_world(engine, settings)
    with Session(engine) as s:
        for user in s.exec(select(User)).all():
            user.language = "vi"
            s.add(user)
        s.commit()
    browsers: dict[str, Page] = {}
    problems: list[str] = []
    visited = set()
    for path, kind, who in _matrix_pages():
        if who not in browsers:
            browsers[who] = pages.open(live_server_vi, **PHONE)
            if who != "anon":
                with Session(engine) as s:
                    token = accounts.start_session(session=s, user=s.get(User, world.users[who].id), days=1)
                browsers[who].context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server_vi}])
        page = browsers[who]
        url = _fill(path, kind, world.ids)
        if not page.request.get(url).headers.get("content-type", "").startswith("text/html"):
            continue  # a download (a file the route sends): not a page to look at
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{path} [{kind}] as {who}: {response.status}"
        assert page.locator("html").get_attribute("lang") == "vi", path
        problems += _check(page)
        visited.add(path)
    assert {"/signup/{token}", "/password/reset/{token}", "/invitations/{token}",
            "/assessments/{assessment_id}/review"} <= visited
    assert len(visited) > 30
    assert problems == [], "\n".join(problems)
    pages.assert_no_errors()
