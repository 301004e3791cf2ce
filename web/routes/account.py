"""Sign up (with a mailed code), log in, log out, change password, reset a forgotten one."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from assessment import accounts, consent, resets, signup
from assessment.messages import N_, FormErrors
from assessment.models import PendingSignup, User
from assessment.settings import Settings
from web import mails
from web.deps import SESSION_COOKIE, CurrentUser, LoadUser, SessionDep, SettingsDep, client_address
from web.routes.privacy import account_context
from web.security import CSRF_COOKIE
from web.templating import render

router = APIRouter(dependencies=[LoadUser])  # every page knows who is asking


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def set_login_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_days * 86400, httponly=True,
                        samesite="lax", secure=settings.cookie_secure)


def _logged_in(request: Request, session: Session, settings: Settings, user: User, target: str) -> Response:
    """A new login (a new id: the one this browser held before, if any, ends), then on to ``target``."""
    token = accounts.start_session(session=session, user=user, days=settings.session_days,
                                   replaces=request.cookies.get(SESSION_COOKIE), idle_hours=settings.session_idle_hours)
    response = RedirectResponse(_safe_next(target), status_code=303)
    set_login_cookie(response, settings, token)
    return response


@router.get("/signup")
def signup_form(request: Request, next: str = "/businesses/new") -> Response:
    return render(request, "signup.html", {"errors": {}, "values": {}, "next": _safe_next(next),
                                           "texts": consent.TEXTS})


@router.post("/signup")
def signup_start(
    request: Request, session: SessionDep, settings: SettingsDep,
    email: str = Form(""), password: str = Form(""), display_name: str = Form(""),
    next: str = Form("/businesses/new"), consent_service: str = Form(""), consent_statistics: str = Form(""),
    consent_reminders: str = Form(""),
) -> Response:
    """Check the form, mail a code to the address, and ask for it (the same page and mail work for an
    address that has an account: see ``assessment.signup``). Consents are ticked by the person, never
    in advance; they are recorded when the account is confirmed."""
    ticked = {"service": consent_service, "statistics": consent_statistics, "reminders": consent_reminders}
    agreed = tuple(purpose for purpose, value in ticked.items() if value == "yes")
    context = {"values": {"email": email, "display_name": display_name, "consents": agreed},
               "next": _safe_next(next), "texts": consent.TEXTS}
    try:
        started = signup.start(session=session, settings=settings, email=email, password=password,
                               display_name=display_name, language=request.state.lang, next_url=_safe_next(next),
                               client=client_address(request), consents=agreed)
    except accounts.Limited as exc:
        return render(request, "signup.html", {**context, "errors": {}, "retry_after": exc.retry_after},
                      status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except FormErrors as exc:
        return render(request, "signup.html", {**context, "errors": exc.errors}, status_code=422)
    mails.send_signup(request, settings, session, started)
    return RedirectResponse(f"/signup/{started.token}", status_code=303)


def _confirm_page(request: Request, pending: PendingSignup | None, token: str, errors: dict | None = None,
                  status_code: int = 200) -> Response:
    return render(request, "signup_confirm.html", {
        "pending": pending, "token": token, "errors": errors or {}, "minutes": signup.CODE_MINUTES},
        status_code=status_code)


@router.get("/signup/{token}")
def signup_code_form(request: Request, session: SessionDep, token: str) -> Response:
    try:
        return _confirm_page(request, signup.pending(session=session, token=token), token)
    except signup.Expired:
        return _confirm_page(request, None, token, status_code=410)


@router.post("/signup/{token}")
def signup_confirm(request: Request, session: SessionDep, settings: SettingsDep, token: str,
                   code: str = Form("")) -> Response:
    """The code typed: the account exists from here on, logged in, and on to where sign-up was heading."""
    try:
        user, target = signup.confirm(session=session, token=token, code=code)
    except signup.Expired:
        return _confirm_page(request, None, token, status_code=410)
    except FormErrors as exc:
        return _confirm_page(request, signup.pending(session=session, token=token), token, exc.errors, 422)
    return _logged_in(request, session, settings, user, target)


@router.get("/login")
def login_form(request: Request, next: str = "/", reset: bool = False) -> Response:
    return render(request, "login.html", {"errors": {}, "values": {}, "next": _safe_next(next), "reset": reset})


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep,
    email: str = Form(""), password: str = Form(""), next: str = Form("/"),
) -> Response:
    context = {"values": {"email": email}, "next": _safe_next(next)}
    try:
        user = accounts.authenticate(session=session, settings=settings, email=email, password=password,
                                     client=client_address(request))
    except accounts.Limited as exc:
        return render(request, "login.html", {**context, "errors": {}, "retry_after": exc.retry_after},
                      status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except FormErrors as exc:
        return render(request, "login.html", {**context, "errors": exc.errors}, status_code=422)
    return _logged_in(request, session, settings, user, next)


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    accounts.end_session(session=session, token=request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)  # the next visitor of this browser gets a token of their own
    return response


@router.get("/account")
def account_page(request: Request, user: CurrentUser, session: SessionDep, changed: bool = False,
                 saved: bool = False) -> Response:
    return render(request, "account.html", account_context(session, user, changed=changed, saved=saved))


@router.post("/account/profile")
def profile(request: Request, user: CurrentUser, session: SessionDep, display_name: str = Form(""),
            language: str = Form("")) -> Response:
    """Change one's display name and language."""
    try:
        accounts.update_profile(session=session, user=user, display_name=display_name, language=language)
    except FormErrors as exc:
        session.rollback()
        return render(request, "account.html", account_context(session, user, errors=exc.errors), status_code=422)
    return RedirectResponse("/account?saved=1", status_code=303)


@router.post("/account/password")
def change_password(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    current_password: str = Form(""), new_password: str = Form(""),
) -> Response:
    """Change the password: every login of the account ends, this browser gets a new one."""
    try:
        token = accounts.change_password(session=session, settings=settings, user=user, current=current_password,
                                         new=new_password, client=client_address(request),
                                         token=request.cookies.get(SESSION_COOKIE))
    except accounts.Limited as exc:
        return render(request, "account.html", account_context(session, user, retry_after=exc.retry_after),
                      status_code=429, headers={"Retry-After": str(exc.retry_after)})
    except FormErrors as exc:
        return render(request, "account.html", account_context(session, user, errors=exc.errors), status_code=422)
    response = RedirectResponse("/account?changed=1", status_code=303)
    set_login_cookie(response, settings, token)
    return response


@router.get("/password/forgot")
def forgot_form(request: Request) -> Response:
    return render(request, "password_forgot.html", {"errors": {}, "values": {}, "sent": False})


@router.post("/password/forgot")
def forgot(request: Request, session: SessionDep, settings: SettingsDep, email: str = Form("")) -> Response:
    """Mail a reset link; the page says the same whether or not the address has an account."""
    try:
        requested = resets.request(session=session, settings=settings, email=email, language=request.state.lang,
                                   client=client_address(request))
    except accounts.Limited as exc:
        return render(request, "password_forgot.html", {"errors": {}, "values": {"email": email}, "sent": False,
                                                        "retry_after": exc.retry_after},
                      status_code=429, headers={"Retry-After": str(exc.retry_after)})
    if requested is None:
        return render(request, "password_forgot.html", {
            "errors": {"email": N_("Enter a valid e-mail address.")}, "values": {"email": email}, "sent": False},
            status_code=422)
    mails.send_reset(request, settings, session, requested)
    return render(request, "password_forgot.html", {"errors": {}, "values": {}, "sent": True})


@router.get("/password/reset/{token}")
def reset_form(request: Request, session: SessionDep, token: str) -> Response:
    try:
        resets.check(session=session, token=token)
    except resets.Expired:
        return render(request, "password_reset.html", {"expired": True, "errors": {}}, status_code=410)
    return render(request, "password_reset.html", {"expired": False, "errors": {}, "token": token})


@router.post("/password/reset/{token}")
def reset(request: Request, session: SessionDep, token: str, new_password: str = Form("")) -> Response:
    """Set the new password; every login of the account ends, and the person logs in with it."""
    try:
        resets.use(session=session, token=token, password=new_password)
    except resets.Expired:
        return render(request, "password_reset.html", {"expired": True, "errors": {}}, status_code=410)
    except FormErrors as exc:
        return render(request, "password_reset.html", {"expired": False, "token": token,
                                                       "errors": exc.errors},
                      status_code=422)
    response = RedirectResponse("/login?reset=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
