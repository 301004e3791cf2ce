"""Sign up, log in/out, password change, rate limit, roles and the admin's account page."""

import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import col, select

from assessment.models import Consent, MailMessage, PendingSignup, User, WebSession, utcnow
from tests.conftest import Browser
from tests.factories import PASSWORD, login, make_owner


def mailed_code(session, email: str) -> str:
    """The code in the latest mail to ``email`` (the outbox keeps every mail)."""
    body = session.exec(select(MailMessage).where(MailMessage.to_address == email)
                        .order_by(col(MailMessage.id).desc())).first().body
    return re.search(r"\b(\d{6})\b", body).group(1)


def sign_up(client, session, email="lan@example.vn", **form):
    """Sign up and type the mailed code; the response of the code's page."""
    started = client.submit("/signup", {"email": email, "password": PASSWORD, "consent_service": "yes", **form})
    assert started.status_code == 303 and started.headers["location"].startswith("/signup/")
    return client.submit(started.headers["location"], {"code": mailed_code(session, email.lower())})


def test_signup_confirms_the_address_with_a_code_then_logs_in_with_an_argon2_hash(client, session):
    started = client.submit("/signup", {"email": "Lan@Example.vn", "password": PASSWORD, "display_name": "Lan",
                                        "consent_service": "yes", "consent_statistics": "yes"})
    assert started.status_code == 303
    assert session.exec(select(User)).all() == []  # no account until the code is typed
    page = client.get(started.headers["location"])
    assert page.status_code == 200 and "lan@example.vn" in page.text and 'name="code"' in page.text
    wrong = client.submit(started.headers["location"], {"code": "000000" if mailed_code(session, "lan@example.vn")
                                                        != "000000" else "111111"})
    assert wrong.status_code == 422 and "This code is not right" in wrong.text
    response = client.submit(started.headers["location"], {"code": mailed_code(session, "lan@example.vn")})
    assert response.status_code == 303 and response.headers["location"] == "/businesses/new"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("dxm_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    user = session.exec(select(User)).one()
    assert user.email == "lan@example.vn" and user.password_hash.startswith("$argon2id$")
    assert user.display_name == "Lan" and PASSWORD not in user.password_hash
    assert session.exec(select(WebSession)).one().token_hash != client.cookies["dxm_session"]  # only a digest
    assert session.exec(select(PendingSignup)).all() == []
    assert {(c.purpose, c.text_version, c.language) for c in session.exec(select(Consent))} == {
        ("service", "service-1", "en"), ("statistics", "statistics-1", "en")}  # reminders: not ticked
    again = client.submit(started.headers["location"], {"code": mailed_code(session, "lan@example.vn")})
    assert again.status_code == 410  # used up


def test_a_code_allows_five_tries_and_fifteen_minutes(client, session):
    started = client.submit("/signup", {"email": "lan@example.vn", "password": PASSWORD,
                                        "consent_service": "yes"}).headers["location"]
    code = mailed_code(session, "lan@example.vn")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert client.submit(started, {"code": wrong}).status_code == 422
    assert client.submit(started, {"code": wrong}).status_code == 410  # the fifth wrong try ends it
    assert client.submit(started, {"code": code}).status_code == 410
    late = client.submit("/signup", {"email": "lan@example.vn", "password": PASSWORD,
                                        "consent_service": "yes"}).headers["location"]
    pending = session.exec(select(PendingSignup).where(PendingSignup.tries == 0)).one()
    pending.expires_at = utcnow() - timedelta(seconds=1)
    session.add(pending)
    session.commit()
    assert client.submit(late, {"code": mailed_code(session, "lan@example.vn")}).status_code == 410
    assert session.exec(select(User)).all() == []


def test_signup_errors_are_shown_next_to_the_fields_and_nothing_is_written(client, session):
    response = client.submit("/signup", {"email": "not-an-email", "password": "short"})
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#email-error").text == "Enter a valid e-mail address."
    assert page.select_one("#password-error").text == "Use at least 10 characters."
    assert page.select_one("#email")["aria-invalid"] == "true"
    assert session.exec(select(User)).all() == [] and session.exec(select(MailMessage)).all() == []


def test_the_service_consent_is_required_and_nothing_is_ticked_in_advance(client, session):
    form = BeautifulSoup(client.get("/signup").text, "html.parser")
    boxes = form.select("input[type=checkbox][name^=consent_]")
    assert [b["name"] for b in boxes] == ["consent_service", "consent_statistics", "consent_reminders"]
    assert not any(b.has_attr("checked") for b in boxes)
    refused = client.submit("/signup", {"email": "lan@example.vn", "password": PASSWORD, "consent_statistics": "yes"})
    assert refused.status_code == 422 and "needs this consent" in refused.text
    assert BeautifulSoup(refused.text, "html.parser").select_one("#consent_statistics").has_attr("checked")
    assert session.exec(select(PendingSignup)).all() == [] and session.exec(select(MailMessage)).all() == []


def test_signing_up_with_a_taken_address_looks_the_same_and_the_mail_says_so(client, session):
    make_owner(session, "a@example.vn")
    fresh = client.submit("/signup", {"email": "b@example.vn", "password": PASSWORD, "consent_service": "yes"})
    taken = client.submit("/signup", {"email": "A@example.vn", "password": PASSWORD, "consent_service": "yes"})
    assert taken.status_code == fresh.status_code == 303
    pages = [BeautifulSoup(client.get(r.headers["location"]).text, "html.parser").select_one("main").get_text()
             for r in (fresh, taken)]
    assert pages[0].replace("b@example.vn", "X") == pages[1].replace("a@example.vn", "X")
    note = session.exec(select(MailMessage).where(MailMessage.to_address == "a@example.vn")).one()
    assert "has one already" in note.body and "/password/forgot" in note.body and not re.search(r"\d{6}", note.body)
    for guess in ("123456", "000000"):  # no code can work for it
        assert client.submit(taken.headers["location"], {"code": guess}).status_code == 422
    assert session.exec(select(User).where(User.email == "a@example.vn")).one().password_hash != ""


def test_login_logout_and_wrong_password(client, session):
    make_owner(session)
    wrong = login(client, password="wrong-password")
    assert wrong.status_code == 422 and "Wrong e-mail or password." in wrong.text
    assert login(client).status_code == 303
    assert client.get("/account").status_code == 200
    assert client.submit("/logout").status_code == 303
    assert session.exec(select(WebSession)).all() == []
    assert client.get("/account").status_code == 303  # back to the login page


def test_five_wrong_passwords_block_that_account_from_that_address_only(app, client, session):
    make_owner(session)
    for _ in range(5):
        assert login(client, password="wrong-password").status_code == 422
    limited = login(client)  # even the right password waits, from this address
    assert limited.status_code == 429 and "Please wait 15 minutes" in limited.text
    assert limited.headers["retry-after"] == "900"
    elsewhere = Browser(app, follow_redirects=False, client=("192.0.2.77", 50000))
    assert login(elsewhere).status_code == 303  # the owner, at home, is not locked out


def test_empty_forms_are_no_attempts(client, session):
    make_owner(session)
    for _ in range(12):
        empty = client.submit("/login", {"email": "owner@example.vn", "password": ""})
        assert empty.status_code == 422 and "Enter your e-mail and your password." in empty.text
    assert login(client).status_code == 303


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
    before = client.cookies["dxm_session"]
    ok = client.submit("/account/password", {"current_password": PASSWORD, "new_password": "another-long-one"})
    assert ok.status_code == 303 and ok.headers["location"] == "/account?changed=1"
    assert client.cookies["dxm_session"] != before  # a new login id for this browser too
    assert "was changed" in client.get(ok.headers["location"]).text
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


def test_signing_up_from_an_invitation_link_comes_back_to_it(client, session):
    """A colleague who follows an invitation link without an account: login page → sign-up → the link."""
    response = client.get("/invitations/some-token")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/invitations/some-token"
    login_page = BeautifulSoup(client.get(response.headers["location"]).text, "html.parser")
    signup_link = login_page.select_one("main a[href^='/signup']")["href"]
    assert signup_link == "/signup?next=/invitations/some-token"
    form = BeautifulSoup(client.get(signup_link).text, "html.parser")
    assert form.select_one("form[action='/signup'] input[name=next]")["value"] == "/invitations/some-token"
    done = sign_up(client, session, "it@example.vn", display_name="IT", next="/invitations/some-token")
    assert done.status_code == 303 and done.headers["location"] == "/invitations/some-token"
    evil = BeautifulSoup(client.get("/signup?next=//evil.example").text, "html.parser")
    assert evil.select_one("form[action='/signup'] input[name=next]")["value"] == "/"  # no open redirect


def test_an_owner_edits_their_name_and_language(client, session):
    owner = make_owner(session)
    login(client)
    saved = client.submit("/account/profile", {"display_name": "  Nguyễn   Thị Lan ", "language": "vi"})
    assert saved.status_code == 303 and saved.headers["location"] == "/account?saved=1"
    page = client.get("/account?saved=1")
    assert '<html lang="vi"' in page.text and 'value="Nguyễn Thị Lan"' in page.text
    session.expire_all()
    assert (session.get(User, owner.id).display_name, session.get(User, owner.id).language) == ("Nguyễn Thị Lan", "vi")
    too_long = client.submit("/account/profile", {"display_name": "x" * 121, "language": "en"})
    assert too_long.status_code == 422
    session.expire_all()
    assert session.get(User, owner.id).language == "vi"  # nothing changed


def test_a_failed_login_says_what_to_do_next_the_same_for_any_address(client, session):
    make_owner(session)
    known = BeautifulSoup(login(client, password="wrong-password").text, "html.parser")
    unknown = BeautifulSoup(login(client, "nobody@example.vn", password="wrong-password").text, "html.parser")
    for page in (known, unknown):
        step = page.select_one("#next-step")
        assert "choose a new password" in step.get_text() and step.select_one("a")["href"] == "/password/forgot"
    assert known.select_one("main form").get_text() == unknown.select_one("main form").get_text()


def test_sign_ups_and_reset_requests_per_address_are_limited_per_hour(settings, engine, session):
    from web.app import create_app

    app = create_app(settings.model_copy(update={"signup_per_address_hour": 2}), engine=engine)
    room = Browser(app, follow_redirects=False)
    for n in range(2):
        assert room.submit("/signup", {"email": f"p{n}@example.vn", "password": PASSWORD,
                                       "consent_service": "yes"}).status_code == 303
    third = room.submit("/signup", {"email": "p3@example.vn", "password": PASSWORD, "consent_service": "yes"})
    assert third.status_code == 429 and "Too many sign-ups from this network" in third.text
    assert 3000 < int(third.headers["retry-after"]) <= 3600
    elsewhere = Browser(app, follow_redirects=False, client=("192.0.2.8", 50000))
    assert elsewhere.submit("/signup", {"email": "p3@example.vn", "password": PASSWORD,
                                        "consent_service": "yes"}).status_code == 303
    assert session.exec(select(PendingSignup).where(PendingSignup.email == "p3@example.vn")).one()
    for n in range(2):
        assert room.submit("/password/forgot", {"email": f"p{n}@example.vn"}).status_code == 200
    assert room.submit("/password/forgot", {"email": "p0@example.vn"}).status_code == 429


def _wrong(client, email):
    return login(client, email, password="wrong-password")


def _locked(client, email):
    for _ in range(5):
        assert _wrong(client, email).status_code == 422
    return login(client, email)  # the right password, if the account exists: it waits too


@pytest.mark.parametrize(("state", "attempt", "status", "says"), [
    ("wrong password", _wrong, 422, "Wrong e-mail or password."),
    ("empty password", lambda client, email: client.submit("/login", {"email": email, "password": ""}), 422,
     "Enter your e-mail and your password."),
    ("locked out", _locked, 429, "Please wait 15 minutes"),
])
def test_every_login_message_offers_the_reset_and_reads_the_same_for_any_address(client, session, state, attempt,
                                                                                  status, says):
    """Whatever went wrong, the page says what to do next and offers the reset link; an address with no
    account gets the very same page, so the login page tells nobody which addresses have accounts."""
    make_owner(session)
    pages = []
    for email in ("owner@example.vn", "nobody@example.vn"):
        response = attempt(client, email)
        assert response.status_code == status, (state, email)
        page = BeautifulSoup(response.text, "html.parser")
        step = page.select_one("#next-step")
        assert step is not None and step.select_one("a")["href"] == "/password/forgot", (state, email)
        assert says in page.select_one("main").get_text()
        pages.append(page.select_one("main").get_text())
    assert pages[0] == pages[1]
