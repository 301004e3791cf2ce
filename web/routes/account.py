"""Sign up, log in, log out, change password."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from assessment import accounts
from assessment.messages import FormErrors
from assessment.models import User
from assessment.settings import Settings
from web.deps import SESSION_COOKIE, CurrentUser, LoadUser, SessionDep, SettingsDep
from web.templating import render

router = APIRouter(dependencies=[LoadUser])  # every page knows who is asking


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def _logged_in(request: Request, session: Session, settings: Settings, user: User, target: str) -> Response:
    token = accounts.start_session(session=session, user=user, days=settings.session_days)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_days * 86400, httponly=True,
                        samesite="lax", secure=settings.cookie_secure)
    return response


@router.get("/signup")
def signup_form(request: Request, next: str = "/businesses/new") -> Response:
    return render(request, "signup.html", {"errors": {}, "values": {}, "next": _safe_next(next)})


@router.post("/signup")
def signup(
    request: Request, session: SessionDep, settings: SettingsDep,
    email: str = Form(""), password: str = Form(""), display_name: str = Form(""),
    next: str = Form("/businesses/new"),
) -> Response:
    """Create an account and log in; then go on to ``next`` (an invitation link the visitor followed)
    or to registering a business."""
    try:
        user = accounts.create_user(session=session, email=email, password=password, display_name=display_name,
                                    language=request.state.lang)
    except FormErrors as exc:
        return render(request, "signup.html", {"errors": exc.errors,
                                               "values": {"email": email, "display_name": display_name},
                                               "next": _safe_next(next)},
                      status_code=422)
    return _logged_in(request, session, settings, user, next)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"errors": {}, "values": {}, "next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep,
    email: str = Form(""), password: str = Form(""), next: str = Form("/"),
) -> Response:
    context = {"values": {"email": email}, "next": _safe_next(next)}
    try:
        user = accounts.authenticate(
            session=session, email=email, password=password,
            client=request.client.host if request.client else "unknown",
            max_failures=settings.login_max_failures, window_minutes=settings.login_window_minutes)
    except accounts.RateLimited:
        return render(request, "login.html", {**context, "errors": {}, "rate_limited": True}, status_code=429,
                      headers={"Retry-After": str(settings.login_window_minutes * 60)})
    except FormErrors as exc:
        return render(request, "login.html", {**context, "errors": exc.errors}, status_code=422)
    return _logged_in(request, session, settings, user, next)


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    accounts.end_session(session=session, token=request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account")
def account_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "account.html", {"errors": {}, "changed": False})


@router.post("/account/password")
def change_password(
    request: Request, user: CurrentUser, session: SessionDep,
    current_password: str = Form(""), new_password: str = Form(""),
) -> Response:
    try:
        accounts.change_password(session=session, user=user, current=current_password, new=new_password,
                                 keep_token=request.cookies.get(SESSION_COOKIE))
    except FormErrors as exc:
        return render(request, "account.html", {"errors": exc.errors, "changed": False}, status_code=422)
    return render(request, "account.html", {"errors": {}, "changed": True})
