"""Outgoing mail: every message is kept in the outbox table (``MailMessage``), then sent by SMTP
when ``DXM_SMTP_HOST`` is set; without it (the demo) a line on the console says a mail waits in the
outbox, which admins read at ``/admin/outbox``.

Sending is synchronous: the request that sends a mail waits for the SMTP server (at most
``smtp_timeout_seconds`` per step). A later change may move the SMTP part to a background job that
picks up unsent rows; the outbox row is written and committed first so that such a job needs no new
table. No log line carries an address, a body or the SMTP password: only the message's id and kind
(and, on failure, the error's class and SMTP code).
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from dataclasses import dataclass
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from sqlmodel import Session

from assessment.models import MailMessage, utcnow
from assessment.settings import Settings

MAX_ERROR = 300  # MailMessage.error's length


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (a PDF report). The outbox keeps the mail's text, not the file: a mail
    that failed is re-sent by asking again, which builds the file afresh."""

    filename: str
    content_type: str  # "application/pdf"
    data: bytes


def send(*, session: Session, settings: Settings, to: str, subject: str, body: str, kind: str,
         attachment: Attachment | None = None) -> MailMessage:
    """Keep a mail in the outbox, then send it by SMTP if one is configured; returns its row.

    What happened is in the returned row, and nothing raises for a failed send (the page that sent
    it goes on and can say so):
      ``sent_at`` set                     the SMTP server accepted it;
      ``error`` set (``sent_at`` None)    SMTP is configured and sending failed (the error's class and
                                          the server's short answer, at most 300 characters);
      neither                             no SMTP (the demo): only in the outbox, for the admins.
    The row is committed before the SMTP connection is opened (no transaction is held while the
    server is waited for), which commits the caller's pending changes too, as the other services do.

    Raises ``ValueError``, before anything is stored, for a line break in ``to`` or ``subject`` (a
    header injection), ``to`` not one plain address, or a value longer than its column.
    """
    _check(to=to, subject=subject, kind=kind)
    message = MailMessage(to_address=to, subject=subject, body=body, kind=kind)
    session.add(message)
    session.commit()
    if not settings.smtp_host:
        _console(f"mail {message.id} ({kind}) written to the outbox; admins read it at /admin/outbox/{message.id}")
        return message
    try:
        _deliver(settings, _email(settings, message, attachment))
    except Exception as exc:  # any failure of the send is reported in the row, never raised
        message.error = _describe(exc, settings)
        _console(f"mail {message.id} ({kind}) not sent: {_log_reason(exc)}")
    else:
        message.sent_at = utcnow()
    session.add(message)
    session.commit()
    return message


def _check(*, to: str, subject: str, kind: str) -> None:
    for name, value in (("to", to), ("subject", subject), ("kind", kind)):
        if "\r" in value or "\n" in value:
            raise ValueError(f"mail {name}: a line break")
    name, address = parseaddr(to)
    if name or address != to or address.count("@") != 1 or "," in to:
        raise ValueError("mail to: not one plain address")
    for field, value, limit in (("to", to, 254), ("subject", subject, 200), ("kind", kind, 40)):
        if len(value) > limit:
            raise ValueError(f"mail {field}: longer than {limit} characters")


def _email(settings: Settings, message: MailMessage, attachment: Attachment | None = None) -> EmailMessage:
    """The mail as sent: UTF-8 headers (RFC 2047 words where needed) and a UTF-8 text body."""
    mail = EmailMessage()  # email.policy.default: Unicode headers are encoded, lines end in CRLF on the wire
    mail["From"] = settings.mail_from
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    created = message.created_at
    mail["Date"] = format_datetime(created if created.tzinfo else created.replace(tzinfo=UTC))
    mail["Message-ID"] = make_msgid(f"dxm.{message.id}", domain=_domain(settings.mail_from))
    mail.set_content(message.body, charset="utf-8")
    if attachment is not None:
        maintype, subtype = attachment.content_type.split("/", 1)
        mail.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mail


def _domain(mail_from: str) -> str:
    """The From address's domain, for the Message-ID (make_msgid would otherwise ask DNS for this host's name)."""
    address = parseaddr(mail_from)[1]
    try:
        return Address(addr_spec=address).domain or "localhost"
    except (ValueError, IndexError):
        return "localhost"


def _deliver(settings: Settings, mail: EmailMessage) -> None:
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds
    client = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
              if settings.smtp_ssl else smtplib.SMTP(host, port, timeout=timeout))
    with client:
        if settings.smtp_starttls and not settings.smtp_ssl:
            client.starttls(context=ssl.create_default_context())  # refused by the server: not sent in clear
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        client.send_message(mail)


def _describe(exc: Exception, settings: Settings) -> str:
    """What the outbox row says: the error's class and the server's answer, short, never the password."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{code} {_text(answer)}" for code, answer in exc.recipients.values())
    elif isinstance(exc, smtplib.SMTPResponseException):
        detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
    elif isinstance(exc, OSError) and exc.strerror:
        detail = exc.strerror
    else:
        detail = str(exc)
    text = f"{type(exc).__name__}: {detail}".strip().removesuffix(":")
    secret = settings.smtp_password.get_secret_value()
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:MAX_ERROR]


def _log_reason(exc: Exception) -> str:
    """What the console line says: the class and SMTP code only (a server's answer may quote the address)."""
    code = getattr(exc, "smtp_code", None)
    return type(exc).__name__ + (f" {code}" if code else "")


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _console(line: str) -> None:
    print(f"dxm.mail: {line}", file=sys.stderr, flush=True)
