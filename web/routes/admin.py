"""Admin: create trainer, department and admin accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from assessment import accounts
from assessment.messages import FormErrors
from assessment.models import ROLES, User
from web.deps import SessionDep, require_roles
from web.templating import render

router = APIRouter(prefix="/admin", dependencies=[require_roles("admin")])


def _page(request: Request, session: Session, **context: Any) -> Response:
    users = session.exec(select(User).where(User.role != "owner").order_by(col(User.id))).all()
    status = 422 if context.get("errors") else 200
    return render(request, "admin_users.html",
                  {"users": users, "roles": ROLES[1:], "errors": {}, "values": {}, "created": None, **context},
                  status_code=status)


@router.get("/users")
def users(request: Request, session: SessionDep) -> Response:
    return _page(request, session)


@router.post("/users")
def create(
    request: Request, session: SessionDep,
    email: str = Form(""), password: str = Form(""), role: str = Form(""), display_name: str = Form(""),
) -> Response:
    values = {"email": email, "role": role, "display_name": display_name}
    if role not in ROLES[1:]:
        return _page(request, session, errors={"role": "Unknown role."}, values=values)
    try:
        user = accounts.create_user(session=session, email=email, password=password, role=role,
                                    display_name=display_name)
    except FormErrors as exc:
        return _page(request, session, errors=exc.errors, values=values)
    return _page(request, session, created=user)
