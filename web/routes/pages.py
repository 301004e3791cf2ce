"""Home page and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from assessment import access, accounts
from questionnaires import loader
from web.deps import LANG_COOKIE, LoadUser, MaybeUser, SessionDep, SettingsDep
from web.i18n import LANGUAGES
from web.templating import render

router = APIRouter(dependencies=[LoadUser])  # every page knows who is asking
probe_router = APIRouter()  # for the proxy and monitoring: no user, no cookies


@router.get("/")
def home(request: Request, user: MaybeUser, session: SessionDep) -> Response:
    return render(request, "home.html", {
        "instruments": loader.catalogue(),
        "businesses": access.businesses_of(session, user) if user else [],
        "copies": access.own_copies(session, user) if user else [],
    })


@probe_router.get("/healthz")
def healthz(session: SessionDep) -> Response:
    """For the proxy and monitoring: 200 when the database answers, 503 otherwise."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.post("/language")
def switch_language(
    user: MaybeUser, session: SessionDep, settings: SettingsDep, lang: str = Form(...), next: str = Form("/")
) -> Response:
    lang = lang if lang in LANGUAGES else "vi"
    if user:
        accounts.set_language(session=session, user=user, language=lang)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                        secure=settings.cookie_secure)
    return response
