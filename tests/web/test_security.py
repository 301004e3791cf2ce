"""CSRF, headers, body limits, language switching."""

from bs4 import BeautifulSoup

from tests.factories import PASSWORD, login, make_owner


def test_every_page_has_a_strict_csp(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    page = BeautifulSoup(response.text, "html.parser")
    assert all(script.get("src", "").startswith("/static/") for script in page.find_all("script"))
    assert not [tag for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)]


def test_posts_without_the_csrf_token_are_refused(client, session):
    make_owner(session)
    response = client.post("/login", data={"email": "owner@example.vn", "password": PASSWORD})
    assert response.status_code == 403 and "expired" in response.text
    client.csrf()
    response = client.post("/login", data={"email": "owner@example.vn", "password": PASSWORD,
                                           "csrf_token": "x" * 43})
    assert response.status_code == 403


def test_htmx_requests_carry_the_token_in_a_header(client, session):
    make_owner(session)
    login(client)
    page = client.get("/")
    assert f'"X-CSRF-Token": "{client.csrf()}"' in page.text
    assert client.post("/language", data={"lang": "vi"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/language", data={"lang": "vi"},
                       headers={"X-CSRF-Token": client.csrf()}).status_code == 303


def test_oversized_bodies_are_refused(client):
    response = client.post("/login", content=b"x" * 2_000_000,
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_language_switch_and_vietnamese_by_default(app):
    from assessment.settings import Settings
    from tests.conftest import Browser
    from web.app import create_app

    vi_app = create_app(Settings(database_url="sqlite://", default_language="vi"), engine=app.state.engine)
    with Browser(vi_app, follow_redirects=False) as browser:
        home = browser.get("/")
        assert 'lang="vi"' in home.text and "Đăng nhập" in home.text
        browser.submit("/language", {"lang": "en", "next": "/"})
        assert "Log in" in browser.get("/").text


def test_unknown_pages_are_404_pages_not_500(client):
    response = client.get("/nope")
    assert response.status_code == 404 and "Page not found" in response.text
