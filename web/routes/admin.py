"""Admin: accounts (find, create, disable, re-enable, change role, mail a reset link) and the audit
log (filter, page, export as CSV). Role admin only; anybody else gets 404. Every page here reads
other people's data, so each records itself in the audit log; each change is recorded by its
service, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlmodel import Session

from assessment import admin_accounts, audit, exports, resets
from assessment.messages import N_, FormErrors, NotAllowed
from assessment.models import MAX_ID, ROLES, User, utcnow
from web import mails
from web.deps import CurrentUser, RowId, SessionDep, SettingsDep, audit_access, client_address, require_roles
from web.templating import render

router = APIRouter(prefix="/admin", dependencies=[require_roles("admin")])


def _int(text: str | None) -> int:
    """A paging cursor from the URL; anything but a number in range starts from the beginning."""
    return int(text) if text and text.isdigit() and int(text) <= MAX_ID else 0


def _users_page(request: Request, session: Session, user: User, status: int = 200, **context: Any) -> Response:
    params = request.query_params
    query, role = (params.get("q") or "").strip()[:254], params.get("role") or ""
    role = role if role in ROLES else ""
    found = admin_accounts.search(session, query=query, role=role, after=_int(params.get("after")))
    audit_access(request, session, user, "account.list", "user", "*")
    return render(request, "admin_users.html", {
        "users": found.users, "next_after": found.next_after, "q": query, "role": role, "roles": ROLES,
        "errors": {}, "values": {}, "created": None, "notice": None, "refusal": None, "me": user.id, **context,
    }, status_code=status)


@router.get("/users")
def users(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _users_page(request, session, user)


@router.post("/users")
def create(
    request: Request, session: SessionDep, user: CurrentUser,
    email: str = Form(""), password: str = Form(""), role: str = Form(""), display_name: str = Form(""),
    language: str = Form("vi"),
) -> Response:
    """A new account; the password typed here is never shown back (the page says only that the
    account exists), and the new person changes it from their account page."""
    values = {"email": email, "role": role, "display_name": display_name, "language": language}
    try:
        created = admin_accounts.create(session=session, admin=user, email=email, password=password, role=role,
                                        display_name=display_name, language=language, client=client_address(request))
    except FormErrors as exc:
        session.rollback()
        return _users_page(request, session, user, 422, errors=exc.errors, values=values)
    return _users_page(request, session, user, created=created)


def _target(session: Session, user_id: int) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise HTTPException(status_code=404)
    return found


def _change(request: Request, session: Session, admin: User, user_id: int, change: str, **kwargs: Any) -> Response:
    """Run one account change; a refusal (own account, last admin) re-renders the list with the
    reason and a 409, having changed nothing."""
    target = _target(session, user_id)
    notices = {"disable": N_("Account disabled: its sessions have ended."), "enable": N_("Account re-enabled."),
               "change_role": N_("Role changed.")}
    try:
        getattr(admin_accounts, change)(session=session, admin=admin, user=target, client=client_address(request),
                                        **kwargs)
    except NotAllowed as exc:
        session.rollback()
        return _users_page(request, session, admin, 409, refusal=str(exc))
    return _users_page(request, session, admin, notice=notices[change])


@router.post("/users/{user_id}/disable")
def disable(request: Request, session: SessionDep, user: CurrentUser, user_id: RowId) -> Response:
    return _change(request, session, user, user_id, "disable")


@router.post("/users/{user_id}/enable")
def enable(request: Request, session: SessionDep, user: CurrentUser, user_id: RowId) -> Response:
    return _change(request, session, user, user_id, "enable")


@router.post("/users/{user_id}/role")
def change_role(request: Request, session: SessionDep, user: CurrentUser, user_id: RowId,
                role: str = Form("")) -> Response:
    return _change(request, session, user, user_id, "change_role", role=role)


# -- the audit log ------------------------------------------------------------------------------------
@router.post("/users/{user_id}/reset")
def mail_reset(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
               user_id: RowId) -> Response:
    """Mail the account a password-reset link (a person who cannot reach the login page's form)."""
    target = _target(session, user_id)
    if target.disabled_at is not None:
        return _users_page(request, session, user, 409, refusal=N_("A disabled account cannot reset its password."))
    token = resets.issue_by_admin(session=session, admin=user, user=target, client=client_address(request))
    mails.send_reset(request, settings, session, resets.Requested(target.email, target.language, token))
    return _users_page(request, session, user, notice=N_("A reset link was mailed to the account."))


@router.get("/audit")
def audit_log(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The log, newest first, filtered by actor, action, object and Hanoi dates; a bad filter is
    named beside its field (422) and lists nothing."""
    filters = audit.parse_filters(request.query_params)
    before = _int(request.query_params.get("before")) or None
    found = audit.page(session, filters, before=before)
    audit_access(request, session, user, "audit.view", "audit", "*")
    return render(request, "admin_audit.html", {
        "page": found, "filters": filters, "query": filters.query(), "actions": audit.ACTIONS,
        "object_types": audit.OBJECT_TYPES, "errors": filters.errors, "too_many": None,
    }, status_code=422 if filters.errors else 200)


@router.get("/audit.csv")
def audit_export(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The selected events as CSV (every row, oldest first, through the one CSV writer: formula-like
    text neutralised), or the page with the reason when the filters are bad or select too many."""
    filters = audit.parse_filters(request.query_params)
    too_many = None
    if not filters.errors:
        try:
            table = audit.export_table(session, filters, now=utcnow())
            body = exports.to_csv(table)
        except audit.TooMany as exc:
            too_many = exc.args[0]
        else:
            audit_access(request, session, user, "audit.export", "audit", "*")
            return Response(body, media_type=exports.CSV_MEDIA_TYPE, headers={
                "Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"})
    return render(request, "admin_audit.html", {
        "page": audit.Page([], {}, None), "filters": filters, "query": filters.query(), "actions": audit.ACTIONS,
        "object_types": audit.OBJECT_TYPES, "errors": filters.errors, "too_many": too_many,
        "export_max": audit.EXPORT_MAX}, status_code=422)
