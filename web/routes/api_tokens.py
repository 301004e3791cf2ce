"""Admins' page of the API's tokens (``/admin/api-tokens``): issue one (shown once), list them, revoke
one. Only admins; anybody else 404. Issuing and revoking are recorded in the audit log by the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from assessment import api_tokens
from assessment.messages import FormErrors
from web.deps import CurrentUser, FormDep, RowId, SessionDep, client_address, require_roles
from web.templating import render

router = APIRouter(prefix="/admin/api-tokens", dependencies=[require_roles("admin")])


def _page(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    return render(request, "admin_api_tokens.html", {
        "tokens": api_tokens.listed(session), "issued": None, "errors": {}, "values": {}, **context,
    }, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("")
def tokens(request: Request, session: SessionDep) -> Response:
    return _page(request, session)


@router.post("")
def issue(request: Request, session: SessionDep, user: CurrentUser, form: FormDep) -> Response:
    """A new token, shown on this response only (not stored, and the page is not cached)."""
    name = str(form.get("name") or "")
    try:
        issued = api_tokens.issue(session=session, admin=user, name=name, client=client_address(request))
    except FormErrors as exc:
        session.rollback()
        return _page(request, session, 422, errors=exc.errors, values={"name": name})
    return _page(request, session, issued=issued)


@router.post("/{token_id}/revoke")
def revoke(request: Request, session: SessionDep, user: CurrentUser, token_id: RowId) -> Response:
    if api_tokens.revoke(session=session, admin=user, token_id=token_id, client=client_address(request)) is None:
        raise HTTPException(status_code=404)
    return RedirectResponse("/admin/api-tokens", status_code=303)
