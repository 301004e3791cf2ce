"""Admin: the mail outbox (read-only), where the demo's mails are read when no SMTP is configured."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import col, select

from assessment.models import MailMessage
from web.deps import CurrentUser, RowId, SessionDep, audit_access, require_roles
from web.templating import render

router = APIRouter(prefix="/admin/outbox", dependencies=[require_roles("admin")])

LATEST = 200  # messages listed, newest first


@router.get("")
def outbox(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    audit_access(request, session, user, "outbox.list", "mail", "*")
    messages = session.exec(
        select(MailMessage).order_by(col(MailMessage.created_at).desc(), col(MailMessage.id).desc()).limit(LATEST)
    ).all()
    return render(request, "admin_outbox.html", {"messages": messages, "message": None, "latest": LATEST})


@router.get("/{message_id}")
def message(request: Request, session: SessionDep, user: CurrentUser, message_id: RowId) -> Response:
    found = session.get(MailMessage, message_id)
    if found is None:
        raise HTTPException(status_code=404)
    audit_access(request, session, user, "outbox.read", "mail", message_id)
    return render(request, "admin_outbox.html", {"messages": [], "message": found, "latest": LATEST})
