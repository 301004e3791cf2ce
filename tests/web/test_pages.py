"""The home page, the error pages' header, the favicon: what a visitor sees first."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.factories import login, make_business, make_owner


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
