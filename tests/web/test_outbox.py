"""The admin's outbox: the latest mails with their state, each readable in full (escaped), for
admins only; every other role gets 404 and a visitor the login page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from assessment import mail
from assessment.models import MailMessage
from tests.factories import login, make_owner
from tests.harness import free_port

HOSTILE = '<script>alert("x")</script> & <b>đậm</b>'


def admin_client(client, session):
    make_owner(session, "admin@example.vn", role="admin")
    login(client, "admin@example.vn")
    return client


def test_the_admin_reads_the_outbox_and_each_mail(client, session, settings, capsys):
    outboxed = mail.send(session=session, settings=settings, to="huong@example.vn", subject="Mã xác nhận của bạn",
                         body=f"Mã: 482913\n{HOSTILE}\nhttp://127.0.0.1/x?a=1&b=2", kind="signup-code")
    unreachable = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port(),
                                              "smtp_starttls": False})
    failed = mail.send(session=session, settings=unreachable, to="an@example.vn", subject=HOSTILE, body="…",
                       kind="invitation")
    sent = MailMessage(to_address="binh@example.vn", subject="Đã gửi", body="ok", kind="reminder",
                       sent_at=datetime(2026, 3, 1, 8, 30, tzinfo=UTC))
    session.add(sent)
    session.commit()
    capsys.readouterr()
    admin_client(client, session)

    page = client.get("/admin/outbox")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in soup.select("tbody tr")]
    assert [r[0] for r in rows] == ["binh@example.vn", "an@example.vn", "huong@example.vn"]  # newest first
    assert rows[0][2] == "reminder" and rows[0][4] == "sent 1 Mar 2026, 15:30"  # Hanoi time, the reader's form
    assert rows[1][1] == HOSTILE and rows[1][4].startswith("not sent: ConnectionRefusedError")
    assert rows[2][1:3] == ["Mã xác nhận của bạn", "signup-code"] and rows[2][4] == "outbox only (no SMTP)"
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    links = [a["href"] for a in soup.select("tbody a")]
    assert links == [f"/admin/outbox/{m.id}" for m in (sent, failed, outboxed)]

    detail = client.get(f"/admin/outbox/{outboxed.id}")
    assert detail.status_code == 200
    soup = BeautifulSoup(detail.text, "html.parser")
    assert soup.select_one("#mail-body").get_text() == outboxed.body  # the text exactly, shown as text
    assert soup.select_one("#mail-body").find("script") is None and "<script>alert" not in detail.text
    assert soup.h1.get_text() == "Mã xác nhận của bạn" and "huong@example.vn" in detail.text
    hostile = BeautifulSoup(client.get(f"/admin/outbox/{failed.id}").text, "html.parser")
    assert hostile.h1.get_text() == HOSTILE and hostile.h1.find("b") is None
    assert client.get(f"/admin/outbox/{sent.id + 100}").status_code == 404
    # an id out of range names nothing, like a missing one
    assert client.get("/admin/outbox/99999999999999999999").status_code == 404


def test_the_list_shows_the_latest_200(client, session):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    session.add_all([MailMessage(to_address=f"p{i}@example.vn", subject=f"s{i}", body="b", kind="k",
                                 created_at=start + timedelta(minutes=i)) for i in range(205)])
    session.commit()
    admin_client(client, session)
    soup = BeautifulSoup(client.get("/admin/outbox").text, "html.parser")
    listed = [tr.td.get_text() for tr in soup.select("tbody tr")]
    assert len(listed) == 200 and listed[0] == "p204@example.vn" and listed[-1] == "p5@example.vn"


def test_an_empty_outbox_says_so_in_vietnamese(client, session):
    admin = make_owner(session, "admin@example.vn", role="admin")
    admin.language = "vi"
    session.add(admin)
    session.commit()
    login(client, "admin@example.vn")
    page = client.get("/admin/outbox")
    assert page.status_code == 200 and "Hộp thư đi" in page.text and "Chưa có thư nào." in page.text


@pytest.mark.parametrize("role", ["owner", "trainer", "department"])
def test_other_roles_get_404(client, session, settings, role):
    row = mail.send(session=session, settings=settings, to="x@example.vn", subject="s", body="b", kind="k")
    make_owner(session, f"{role}@example.vn", role=role)
    login(client, f"{role}@example.vn")
    assert client.get("/admin/outbox").status_code == 404
    assert client.get(f"/admin/outbox/{row.id}").status_code == 404


def test_a_visitor_is_sent_to_the_login(client, session, settings):
    row = mail.send(session=session, settings=settings, to="x@example.vn", subject="s", body="b", kind="k")
    for url in ("/admin/outbox", f"/admin/outbox/{row.id}"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={url}"
