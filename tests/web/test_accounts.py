"""Sign up, log in/out, password change, rate limit, roles and the admin's account page."""

from bs4 import BeautifulSoup
from sqlmodel import select

from assessment.models import User, WebSession
from tests.factories import PASSWORD, login, make_owner


def test_signup_logs_in_with_an_argon2_hash_and_a_safe_cookie(client, session):
    response = client.submit("/signup", {"email": "Lan@Example.vn", "password": PASSWORD, "display_name": "Lan"})
    assert response.status_code == 303 and response.headers["location"] == "/businesses/new"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("dxm_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    user = session.exec(select(User)).one()
    assert user.email == "lan@example.vn" and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert session.exec(select(WebSession)).one().token_hash != client.cookies["dxm_session"]  # only a digest


def test_signup_errors_are_shown_next_to_the_fields_and_nothing_is_written(client, session):
    response = client.submit("/signup", {"email": "not-an-email", "password": "short"})
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#email-error").text == "Enter a valid e-mail address."
    assert page.select_one("#password-error").text == "Use at least 10 characters."
    assert page.select_one("#email")["aria-invalid"] == "true"
    assert session.exec(select(User)).all() == []


def test_duplicate_email_is_refused(client, session):
    make_owner(session, "a@example.vn")
    response = client.submit("/signup", {"email": "A@example.vn", "password": PASSWORD})
    assert response.status_code == 422 and "already exists" in response.text


def test_login_logout_and_wrong_password(client, session):
    make_owner(session)
    wrong = login(client, password="wrong-password")
    assert wrong.status_code == 422 and "Wrong e-mail or password." in wrong.text
    assert login(client).status_code == 303
    assert client.get("/account").status_code == 200
    assert client.submit("/logout").status_code == 303
    assert session.exec(select(WebSession)).all() == []
    assert client.get("/account").status_code == 303  # back to the login page


def test_login_rate_limit(client, session):
    make_owner(session)
    for _ in range(5):
        assert login(client, password="wrong-password").status_code == 422
    limited = login(client)  # even the right password waits
    assert limited.status_code == 429 and "Too many failed attempts" in limited.text
    assert limited.headers["retry-after"] == "900"


def test_next_parameter_cannot_leave_the_site(client, session):
    make_owner(session)
    response = client.submit("/login", {"email": "owner@example.vn", "password": PASSWORD, "next": "//evil.example"})
    assert response.headers["location"] == "/"


def test_change_password_ends_other_logins(client, new_client, session):
    make_owner(session)
    other = new_client()
    login(other)
    login(client)
    bad = client.submit("/account/password", {"current_password": "nope", "new_password": "another-long-one"})
    assert bad.status_code == 422 and "current password is not right" in bad.text
    ok = client.submit("/account/password", {"current_password": PASSWORD, "new_password": "another-long-one"})
    assert ok.status_code == 200 and "was changed" in ok.text
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 303
    assert login(other, password="another-long-one").status_code == 303


def test_roles_an_owner_cannot_reach_the_admin_pages(client, session):
    make_owner(session)
    login(client)
    assert client.get("/admin/users").status_code == 404
    assert client.submit("/admin/users", {"email": "x@example.vn", "password": PASSWORD, "role": "admin"}
                         ).status_code == 404


def test_admin_creates_trainer_and_department_accounts(client, session):
    make_owner(session, "admin@example.vn", role="admin")
    login(client, "admin@example.vn")
    response = client.submit("/admin/users", {"email": "t@example.vn", "password": PASSWORD, "role": "trainer"})
    assert response.status_code == 200 and "t@example.vn" in response.text
    assert session.exec(select(User).where(User.email == "t@example.vn")).one().role == "trainer"
    bad = client.submit("/admin/users", {"email": "o@example.vn", "password": PASSWORD, "role": "superuser"})
    assert bad.status_code == 422
    assert session.exec(select(User).where(User.email == "o@example.vn")).first() is None


def test_staff_cannot_use_owner_pages(client, session):
    make_owner(session, "trainer@example.vn", role="trainer")
    login(client, "trainer@example.vn")
    assert client.get("/businesses/new").status_code == 404


def test_cli_user_create(database_url, engine, monkeypatch):
    from typer.testing import CliRunner

    from assessment.cli import app
    from assessment.settings import get_settings

    monkeypatch.setenv("DXM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["user", "create", "dept@example.vn", "--role", "department",
                                          "--password", PASSWORD])
        assert result.exit_code == 0 and "created department dept@example.vn" in result.stdout
        again = CliRunner().invoke(app, ["user", "create", "dept@example.vn", "--password", PASSWORD])
        assert again.exit_code == 1 and "already exists" in again.stderr
    finally:
        get_settings.cache_clear()


def test_signing_up_from_an_invitation_link_comes_back_to_it(client):
    """A colleague who follows an invitation link without an account: login page → sign-up → the link."""
    response = client.get("/invitations/some-token")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/invitations/some-token"
    login_page = BeautifulSoup(client.get(response.headers["location"]).text, "html.parser")
    signup_link = login_page.select_one("main a[href^='/signup']")["href"]
    assert signup_link == "/signup?next=/invitations/some-token"
    form = BeautifulSoup(client.get(signup_link).text, "html.parser")
    assert form.select_one("form[action='/signup'] input[name=next]")["value"] == "/invitations/some-token"
    done = client.submit("/signup", {"email": "it@example.vn", "password": "long-enough-password",
                                     "display_name": "IT", "next": "/invitations/some-token"})
    assert done.status_code == 303 and done.headers["location"] == "/invitations/some-token"
    evil = BeautifulSoup(client.get("/signup?next=//evil.example").text, "html.parser")
    assert evil.select_one("form[action='/signup'] input[name=next]")["value"] == "/"  # no open redirect
