"""Logins as server-side sessions: a new id at every login and password change, the idle timeout
and the absolute lifetime, disabled accounts, CSRF bound to the login, and the headers of private
pages."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from assessment import admin_accounts
from assessment.accounts import login_digest
from assessment.models import WebSession, utcnow
from tests.conftest import Browser
from tests.factories import login, make_owner

SESSION = "dxm_session"


def _row(session, client) -> WebSession:
    session.expire_all()
    return session.get(WebSession, login_digest(client.cookies[SESSION]))


def test_a_login_gets_a_new_id_and_ends_the_one_this_browser_had(client, session):
    make_owner(session)
    login(client)
    first = client.cookies[SESSION]
    login(client)
    second = client.cookies[SESSION]
    assert first != second
    session.expire_all()
    assert [r.token_hash for r in session.exec(select(WebSession)).all()] == [login_digest(second)]


def test_a_login_idle_longer_than_the_setting_ends_and_use_is_written_at_most_every_five_minutes(client, session,
                                                                                              settings):
    make_owner(session)
    login(client)
    row = _row(session, client)
    row.last_seen_at = seen = utcnow() - timedelta(minutes=4)
    session.add(row)
    session.commit()
    assert client.get("/account").status_code == 200
    assert _row(session, client).last_seen_at == seen  # four minutes: not written again
    row = _row(session, client)
    row.last_seen_at = utcnow() - timedelta(minutes=6)
    session.add(row)
    session.commit()
    assert client.get("/account").status_code == 200
    assert _row(session, client).last_seen_at > utcnow() - timedelta(minutes=1)  # touched
    row = _row(session, client)
    row.last_seen_at = utcnow() - timedelta(hours=settings.session_idle_hours, seconds=1)
    session.add(row)
    session.commit()
    assert client.get("/account").status_code == 303  # idle too long: back to the login page


def test_expired_and_idle_logins_are_refused_and_purged_at_the_next_login(client, new_client, session, settings):
    make_owner(session)
    make_owner(session, "other@example.vn")
    idle = new_client()
    login(client)
    login(idle)
    row = _row(session, client)
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    resting = _row(session, idle)
    resting.last_seen_at = utcnow() - timedelta(hours=settings.session_idle_hours, minutes=1)
    session.add(resting)
    session.commit()
    digests = (row.token_hash, resting.token_hash)
    assert client.get("/account").status_code == 303 and idle.get("/account").status_code == 303
    login(new_client(), "other@example.vn")  # anybody's login sweeps ended ones
    session.expire_all()
    assert [session.get(WebSession, d) for d in digests] == [None, None]


def test_a_disabled_account_loses_its_logins_and_cannot_log_in(client, session):
    owner = make_owner(session)
    admin = make_owner(session, "admin@example.vn", role="admin")
    login(client)
    admin_accounts.disable(session=session, admin=admin, user=owner, client="")
    assert client.get("/account").status_code == 303
    refused = login(client)
    assert refused.status_code == 422 and "Wrong e-mail or password." in refused.text  # as for a wrong one
    admin_accounts.enable(session=session, admin=admin, user=owner, client="")
    assert login(client).status_code == 303


def test_the_csrf_token_is_bound_to_the_login(client, new_client, session):
    make_owner(session)
    make_owner(session, "other@example.vn")
    anonymous = client.csrf()
    login(client)
    logged_in = client.csrf()
    assert logged_in != anonymous and logged_in in client.get("/account").text
    post = {"current_password": "wrong-one-here", "new_password": "another-long-one"}
    assert client.post("/account/password", data={**post, "csrf_token": anonymous}).status_code == 403
    other = new_client()
    login(other, "other@example.vn")
    assert client.post("/account/password", data={**post, "csrf_token": other.csrf()}).status_code == 403
    assert client.post("/account/password", data={**post, "csrf_token": logged_in}).status_code == 422
    login(client)  # a new login, a new token
    assert client.csrf() != logged_in
    assert client.post("/account/password", data={**post, "csrf_token": logged_in}).status_code == 403
    logout = client.submit("/logout")
    assert any(c.startswith("dxm_csrf=") for c in logout.headers.get_list("set-cookie"))  # dropped, renewed
    assert client.csrf() not in (anonymous, logged_in)


def test_private_pages_and_downloads_are_not_stored_and_hsts_comes_with_secure_cookies(client, session, settings,
                                                                                      engine):
    from web.app import create_app

    make_owner(session)
    login(client)
    for path in ("/", "/account", "/login"):
        assert client.get(path).headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("cache-control", "")
    assert "strict-transport-security" not in client.get("/").headers
    secure = Browser(create_app(settings.model_copy(update={"cookie_secure": True}), engine=engine),
                     base_url="https://testserver")
    assert secure.get("/").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
