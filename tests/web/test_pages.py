"""The home page, the error pages' header, the favicon: what a visitor sees first."""

from __future__ import annotations

import re
from collections import deque

import pytest
from bs4 import BeautifulSoup

from tests.factories import login, make_business, make_owner

NOT_PAGES = re.compile(r"\.(pdf|csv|xlsx|svg|png|json)$|^/static/|^/logout$")


def _page(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def test_home_names_the_centre_and_what_an_owner_gets(client, settings):
    page = _page(client.get("/"))
    assert settings.centre_name in page.select_one("hgroup").text
    assert settings.centre_name in page.select_one("body > footer").text
    assert len(page.select(".what-you-get li")) == 4
    starts = [a["href"] for a in page.select(".grid-cards footer.start a")]
    assert starts and set(starts) == {"/signup"}  # a visitor's every card leads to starting: an account first


def test_each_questionnaire_card_starts_that_questionnaire_for_the_owners_business(client, session):
    owner = make_owner(session)
    login(client)
    assert {a["href"] for a in _page(client.get("/")).select(".grid-cards footer.start a")} == {"/businesses/new"}
    business = make_business(session, owner)
    links = [a["href"] for a in _page(client.get("/")).select(".grid-cards footer.start a")]
    assert f"/businesses/{business.id}?instrument=dmat#start" in links
    checked = "input[name=instrument][checked]"
    assert _page(client.get(f"/businesses/{business.id}?instrument=dmat")).select_one(checked)["value"] == "dmat"
    # an unknown choice falls back to the first questionnaire
    assert len(_page(client.get(f"/businesses/{business.id}?instrument=nope")).select(checked)) == 1


def test_a_404_page_keeps_the_logged_in_header(client, session):
    make_owner(session)
    login(client)
    for path in ("/no-such-page", "/businesses/999999", "/businesses/99999999999999999999"):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        header = _page(response).select_one("body > header")
        assert header.select_one("a[href='/account']") is not None, path  # not the visitor's "Log in"
        assert header.select_one("a[href='/login']") is None, path


def test_every_page_links_the_favicon_which_is_served(client):
    icon = _page(client.get("/")).select_one("link[rel=icon]")["href"]
    response = client.get(icon)
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize(("role", "lands_on"),
                         [("trainer", "/cohorts"), ("admin", "/cohorts"), ("department", "/city")])
def test_staff_land_on_a_page_that_says_what_they_can_do(client, session, role, lands_on):
    """A trainer's or the department's first page names their work and leads to it, with none of the
    owner's offer (what an owner gets, starting a questionnaire)."""
    make_owner(session, email=f"{role}@example.vn", role=role)
    login(client, f"{role}@example.vn")
    page = _page(client.get("/"))
    home = page.select_one("main section.role-home")
    assert home is not None and home.select_one("h2").text.strip() and len(home.select_one("p").text) > 80
    assert home.select_one("a[role=button]")["href"] == lands_on
    assert client.get(lands_on).status_code == 200
    assert page.select(".what-you-get") == [] and page.select(".grid-cards footer.start a") == []


def _text_of(html: str) -> str:
    """What a reader sees of a page: its text, without scripts, styles or attribute values."""
    page = BeautifulSoup(html, "html.parser")
    for hidden in page(["script", "style", "head"]):
        hidden.decompose()
    return " ".join(page.get_text(" ").split())


MACHINE_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
POINT_DECIMAL = re.compile(r"(?<![\d.,])\d+\.\d{1,2}(?![\d.])")


def machine_numbers(text: str, lang: str) -> list[str]:
    """What a page must not show a reader, each with a little of its context: a machine's date
    (2026-12-02), and in Vietnamese a decimal point (38.0 where Vietnamese writes 38,0). A
    questionnaire's version ("phiên bản 1.0") is a name, not a figure, and is let through."""
    from questionnaires import loader

    versions = {version for by_version in loader.bundled().values() for version in by_version}
    found = [*MACHINE_DATE.finditer(text)]
    found += [m for m in POINT_DECIMAL.finditer(text) if m.group(0) not in versions] if lang == "vi" else []
    return [text[max(m.start() - 30, 0):m.end() + 10] for m in found]


def test_no_page_of_an_owner_shows_a_questionnaire_id_or_a_machines_number(client, engine):
    """Every page the demo owner reaches by following links, in both languages: questionnaires are
    named by their titles, never by ids such as "quick-check" or "dmat" (which stay in URLs), and
    dates and numbers are the reader's (no ISO date; no "38.0" in Vietnamese)."""
    from sqlmodel import Session

    from assessment import demo
    from questionnaires import loader

    with Session(engine, expire_on_commit=False) as s:
        demo.seed(s)
    ids = sorted(loader.bundled())
    assert "quick-check" in ids
    shown = re.compile(r"(?<![\w/-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
    assert login(client, demo.ACCOUNTS[0].email, demo.DEMO_PASSWORD).status_code == 303
    problems, seen, queue = [], set(), deque(["/"])
    while queue:
        path = queue.popleft()
        kind = re.sub(r"/\d+", "/{id}", path.split("?")[0])
        if kind in seen or NOT_PAGES.search(path.split("?")[0]):
            continue
        seen.add(kind)
        for lang in ("vi", "en"):
            client.submit("/language", {"lang": lang, "next": "/"})
            response = client.get(path)
            assert response.status_code == 200, path
            text = _text_of(response.text)
            wrong = [text[max(m.start() - 30, 0):m.end() + 10] for m in shown.finditer(text)]
            problems += [f"{path} ({lang}): {context!r}" for context in wrong + machine_numbers(text, lang)]
        links = BeautifulSoup(response.text, "html.parser").select("a[href^='/']")
        queue.extend(a["href"].split("#")[0] for a in links)
    assert len(seen) > 8  # home, businesses, results, history, rounds, account ...
    assert problems == []
