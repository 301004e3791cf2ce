"""Mail: kept in the outbox, sent through a real SMTP server (aiosmtpd on 127.0.0.1) when one is
configured, read back from that server with the links and codes it carries; failures are recorded,
never raised; without SMTP a console line (no address, no body) points the admins to the outbox."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr
from sqlmodel import select

from assessment import mail
from assessment.models import MailMessage
from tests.harness import free_port
from tests.mailbox import PASSWORD, USER, smtp_settings

SUBJECT = "Đặt lại mật khẩu – Trung tâm Hỗ trợ Doanh nghiệp Hà Nội"
LINK = "http://127.0.0.1:8000/password/reset?token=" + "Ab3_-x" * 12  # longer than a mail line
CODE = "482913"
BODY = (f"Xin chào Nguyễn Thị Hường,\n\nMở liên kết sau để đặt lại mật khẩu:\n{LINK}\n\n"
        f"Mã xác nhận của bạn: {CODE}\n\nTrân trọng,\nSở Tài chính Hà Nội — Chuyển đổi số\n")
TO = "huong@example.vn"


def send(session, settings, **kwargs) -> MailMessage:
    values = {"to": TO, "subject": SUBJECT, "body": BODY, "kind": "password-reset", **kwargs}
    return mail.send(session=session, settings=settings, **values)


def test_a_vietnamese_mail_arrives_whole_and_its_link_and_code_can_be_followed(session, settings, smtp_server,
                                                                             capsys):
    collector, port = smtp_server
    row = send(session, smtp_settings(settings, port))
    assert row.id and row.sent_at is not None and row.error is None
    [got] = collector.received
    assert got.mail_from == "no-reply@localhost" and got.rcpt_tos == [TO]
    message = got.message
    assert message["Subject"] == got.header("Subject") == SUBJECT
    assert str(message["To"]) == TO
    assert got.header("From") == "Trung tâm Hỗ trợ Doanh nghiệp Hà Nội <no-reply@localhost>"
    assert message["From"].addresses[0].addr_spec == "no-reply@localhost"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert message["Message-ID"].endswith("@localhost>") and message["Date"]
    text = message.get_content()
    assert text.replace("\r\n", "\n") == BODY
    assert re.search(r"https?://\S+", text)[0] == LINK  # what a test following the link would open
    assert re.search(r"\b(\d{6})\b", text)[1] == CODE
    assert capsys.readouterr().err == ""  # a mail that was sent logs nothing
    stored = session.exec(select(MailMessage)).one()
    assert (stored.to_address, stored.subject, stored.body, stored.kind) == (TO, SUBJECT, BODY, "password-reset")
    assert stored.sent_at is not None


def test_the_from_is_the_configured_one_and_the_login_is_used(session, settings, smtp_server):
    collector, port = smtp_server
    configured = smtp_settings(settings, port, mail_from="Sở Tài chính <dx@so-tai-chinh.example.vn>",
                               smtp_user=USER, smtp_password=SecretStr(PASSWORD))
    assert send(session, configured).sent_at is not None
    [got] = collector.received
    assert got.mail_from == "dx@so-tai-chinh.example.vn"
    assert got.header("From") == "Sở Tài chính <dx@so-tai-chinh.example.vn>"
    assert got.message["Message-ID"].endswith("@so-tai-chinh.example.vn>")


def test_a_refused_login_is_recorded_without_the_password(session, settings, smtp_server, capsys):
    collector, port = smtp_server
    row = send(session, smtp_settings(settings, port, smtp_user=USER, smtp_password=SecretStr("wrong-" + PASSWORD)))
    assert row.sent_at is None and row.error.startswith("SMTPAuthenticationError: 535")
    assert collector.received == []
    err = capsys.readouterr().err
    assert err.strip() == f"dxm.mail: mail {row.id} (password-reset) not sent: SMTPAuthenticationError 535"
    assert PASSWORD not in row.error and PASSWORD not in err


def test_unreachable_smtp_is_recorded_not_raised(session, settings, capsys):
    row = send(session, smtp_settings(settings, free_port()))  # nothing listens there
    assert row.sent_at is None and row.error.startswith("ConnectionRefusedError")
    assert len(row.error) <= 300
    stored = session.get(MailMessage, row.id)
    session.refresh(stored)
    assert stored.error == row.error and stored.sent_at is None
    err = capsys.readouterr().err
    assert err.strip() == f"dxm.mail: mail {row.id} (password-reset) not sent: ConnectionRefusedError"
    assert TO not in err and CODE not in err


def test_starttls_refused_by_the_server_sends_nothing_in_clear(session, settings, smtp_server):
    collector, port = smtp_server
    configured = smtp_settings(settings, port, smtp_starttls=True, smtp_user=USER, smtp_password=SecretStr(PASSWORD))
    row = send(session, configured)
    assert row.sent_at is None and row.error.startswith("SMTPNotSupportedError")
    assert collector.received == []


def test_without_smtp_the_mail_stays_in_the_outbox_and_the_console_says_so(session, settings, smtp_server, capsys):
    collector, _port = smtp_server
    assert settings.smtp_host == ""  # the default: the demo
    row = send(session, settings)
    assert row.id and row.sent_at is None and row.error is None
    assert collector.received == []
    err = capsys.readouterr().err
    assert err == (f"dxm.mail: mail {row.id} (password-reset) written to the outbox; "
                   f"admins read it at /admin/outbox/{row.id}\n")
    assert TO not in err and "huong" not in err and CODE not in err and LINK not in err
    assert session.exec(select(MailMessage.body)).one() == BODY


@pytest.mark.parametrize("kwargs", [
    {"to": "a@example.vn\r\nBcc: b@example.vn"},
    {"subject": "Hello\nBcc: b@example.vn"},
    {"to": "a@example.vn, b@example.vn"},
    {"to": "Nguyễn <a@example.vn>"},
    {"to": "not an address"},
    {"subject": "x" * 201},
])
def test_header_injection_and_bad_addresses_are_refused_before_anything_is_stored(session, settings, kwargs):
    with pytest.raises(ValueError):
        send(session, settings, **kwargs)
    assert session.exec(select(MailMessage)).all() == []
