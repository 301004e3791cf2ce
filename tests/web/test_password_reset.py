"""Forgotten passwords: a link by mail (the same answer for known and unknown addresses), single use,
one hour, every login of the account ended; an admin can mail one too (recorded in the audit log)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import col, select

from assessment.models import AuditEvent, MailMessage, PasswordReset, WebSession, utcnow
from tests.factories import PASSWORD, login, make_owner

NEW = "a-brand-new-password"


def _last_mail(session, to: str) -> MailMessage:
    session.expire_all()
    return session.exec(select(MailMessage).where(MailMessage.to_address == to)
                        .order_by(col(MailMessage.id).desc())).first()


def _link(session, to: str) -> str:
    return re.search(r"http://testserver(/password/reset/\S+)", _last_mail(session, to).body).group(1)


def test_the_login_page_offers_a_reset_that_answers_the_same_for_any_address(client, session):
    make_owner(session)
    assert 'href="/password/forgot"' in client.get("/login").text
    known = client.submit("/password/forgot", {"email": "Owner@example.vn"})
    unknown = client.submit("/password/forgot", {"email": "nobody@example.vn"})
    assert known.status_code == unknown.status_code == 200
    assert _main(known.text) == _main(unknown.text)
    assert "/password/reset/" in _last_mail(session, "owner@example.vn").body
    stranger = _last_mail(session, "nobody@example.vn").body
    assert "no account uses it" in stranger and "/password/reset/" not in stranger
    bad = client.submit("/password/forgot", {"email": "not an address"})
    assert bad.status_code == 422 and "Enter a valid e-mail address." in bad.text


def _main(html: str) -> str:
    return html[html.index("<main"):html.index("</main>")]


def test_a_reset_link_works_once_and_ends_every_login(client, new_client, session):
    make_owner(session)
    elsewhere = new_client()
    login(elsewhere)
    client.submit("/password/forgot", {"email": "owner@example.vn"})
    link = _link(session, "owner@example.vn")
    assert client.get(link).status_code == 200
    short = client.submit(link, {"new_password": "short"})
    assert short.status_code == 422 and "Use at least 10 characters." in short.text
    done = client.submit(link, {"new_password": NEW})
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert "Log in with the new one" in client.get(done.headers["location"]).text
    assert elsewhere.get("/account").status_code == 303  # logged out
    session.expire_all()
    assert session.exec(select(WebSession)).all() == []
    assert client.submit(link, {"new_password": "yet-another-password"}).status_code == 410  # used
    assert login(client, password=PASSWORD).status_code == 422
    assert login(client, password=NEW).status_code == 303


def test_a_reset_link_expires_after_an_hour(client, session):
    make_owner(session)
    client.submit("/password/forgot", {"email": "owner@example.vn"})
    link = _link(session, "owner@example.vn")
    reset = session.exec(select(PasswordReset)).one()
    assert timedelta(minutes=59) < reset.expires_at - utcnow() <= timedelta(hours=1)
    reset.expires_at = utcnow() - timedelta(seconds=1)
    session.add(reset)
    session.commit()
    assert client.get(link).status_code == 410
    assert client.submit(link, {"new_password": NEW}).status_code == 410
    assert client.get("/password/reset/not-a-token").status_code == 410


def test_an_admin_mails_a_reset_link_and_the_audit_log_says_so(client, session):
    owner = make_owner(session)
    admin = make_owner(session, "admin@example.vn", role="admin")
    login(client, "admin@example.vn")
    page = client.submit(f"/admin/users/{owner.id}/reset")
    assert page.status_code == 200 and "A reset link was mailed to the account." in page.text
    assert "/password/reset/" in _last_mail(session, "owner@example.vn").body
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "account.reset")).one()
    assert (event.actor, event.object_type, event.object_id) == (str(admin.id), "user", str(owner.id))
    assert session.exec(select(PasswordReset)).one().issued_by == admin.id
    assert client.submit("/admin/users/99999/reset").status_code == 404


def test_codes_and_links_arrive_by_smtp_and_work(settings, engine, session, smtp_server):
    """Through a real SMTP server: the sign-up code and the reset link a person receives work."""
    from tests.conftest import Browser
    from tests.mailbox import smtp_settings
    from web.app import create_app

    collector, port = smtp_server
    app = create_app(smtp_settings(settings, port, public_url="https://dxm.example.vn"), engine=engine)
    with Browser(app, follow_redirects=False) as client:
        started = client.submit("/signup", {"email": "hoa@example.vn", "password": PASSWORD, "consent_service": "yes"})
        (code_mail,) = collector.received
        assert code_mail.rcpt_tos == ["hoa@example.vn"]
        code = re.search(r"\b(\d{6})\b", code_mail.text()).group(1)
        assert client.submit(started.headers["location"], {"code": code}).status_code == 303
        client.submit("/logout")
        client.submit("/password/forgot", {"email": "hoa@example.vn"})
        link = re.search(r"https://dxm\.example\.vn(/password/reset/\S+)", collector.received[-1].text()).group(1)
        assert client.submit(link, {"new_password": NEW}).status_code == 303
        assert login(client, "hoa@example.vn", NEW).status_code == 303
