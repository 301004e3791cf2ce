"""Text from outside, through the web: refused with a clear page (400 or 422), never a 500, nothing
written, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from assessment.models import Business, MailMessage, PendingSignup, User
from tests.factories import BUSINESS_FORM, PASSWORD, login, make_owner


def test_control_characters_and_overrides_anywhere_are_refused_before_any_route(client, session):
    make_owner(session)
    nul = client.submit("/login", {"email": "owner@example.vn\x00", "password": PASSWORD})
    assert nul.status_code == 400 and "cannot be stored" in nul.text
    override = client.submit("/signup", {"email": "x@example.vn", "password": PASSWORD,
                                         "display_name": "Lan\u202e"})
    assert override.status_code == 400
    assert client.get("/login?next=/%00").status_code == 400
    login(client)
    form = {**BUSINESS_FORM, "name": "Gốm\x00 Bát Tràng"}
    assert client.submit("/businesses", form).status_code == 400
    assert session.exec(select(Business)).all() == [] and session.exec(select(PendingSignup)).all() == []
    assert session.exec(select(MailMessage)).all() == []


def test_over_long_and_invisible_values_get_their_field_error(client, session):
    long_email = client.submit("/login", {"email": "a" * 290 + "@example.vn", "password": PASSWORD})
    assert long_email.status_code == 422 and "Wrong e-mail or password." in long_email.text
    invisible = client.submit("/signup", {"email": "x@example.vn", "password": PASSWORD, "consent_service": "yes",
                                          "display_name": "\u200b\u200b"})
    assert invisible.status_code == 422 and "This text has nothing visible in it." in invisible.text
    make_owner(session)
    login(client)
    too_long = client.submit("/businesses", {**BUSINESS_FORM, "name": "G" * 201})
    assert too_long.status_code == 422 and "at most 200 characters" in too_long.text
    hidden = client.submit("/businesses", {**BUSINESS_FORM, "name": "\u200b\u2060"})  # met at the write itself
    assert hidden.status_code == 422 and "This text has nothing visible in it." in hidden.text
    assert session.exec(select(Business)).all() == []
    assert [u.email for u in session.exec(select(User))] == ["owner@example.vn"]
