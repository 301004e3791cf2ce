"""Personal data: the privacy page, consents on the account page, the download of one's data and
deleting one's account (assessment/consent.py and assessment/privacy.py say what each does)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from assessment import consent, privacy
from assessment.messages import FormErrors
from assessment.models import User
from web.deps import SESSION_COOKIE, CurrentUser, LoadUser, SessionDep, SettingsDep
from web.templating import render

router = APIRouter(dependencies=[LoadUser])
CHOOSABLE = ("statistics", "reminders")  # given and withdrawn on the account page


@router.get("/privacy")
def privacy_page(request: Request, settings: SettingsDep) -> Response:
    return render(request, "privacy.html", {"texts": consent.TEXTS, "department": settings.department_name,
                                            "centre": settings.centre_name,
                                            "acknowledge_days": privacy.ACKNOWLEDGE_WORKING_DAYS})


@router.get("/account/data.{fmt}")
def download(user: CurrentUser, session: SessionDep, fmt: str) -> Response:
    """All one's data, as JSON or CSV (logged as a data request)."""
    if fmt not in ("json", "csv"):
        raise HTTPException(status_code=404)
    body = privacy.export(session, user, fmt)
    media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="dxmaturity-my-data.{fmt}"', "Cache-Control": "no-store"})


@router.post("/account/consents/{purpose}")
def choose(request: Request, user: CurrentUser, session: SessionDep, purpose: str, on: str = Form("")) -> Response:
    """Give or withdraw an optional consent."""
    if purpose not in CHOOSABLE:
        raise HTTPException(status_code=404)
    if on == "yes":
        consent.give(session=session, user=user, purpose=purpose, language=request.state.lang)
    else:
        consent.withdraw(session=session, user_id=user.id, purpose=purpose)  # type: ignore[arg-type]
    session.commit()
    return RedirectResponse("/account#consents", status_code=303)


@router.post("/account/delete")
def delete_account(request: Request, user: CurrentUser, session: SessionDep, password: str = Form("")) -> Response:
    """Delete one's account for good, after the password (see ``assessment.privacy``)."""
    try:
        privacy.erase_account(session=session, user=user, password=password)
    except FormErrors as exc:
        session.rollback()
        return render(request, "account.html", account_context(session, user, errors=exc.errors), status_code=422)
    response = RedirectResponse("/?erased=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def account_context(session: Session, user: User, **extra: object) -> dict[str, object]:
    """What the account page shows besides the password form: the consents."""
    given = consent.of(session, user.id)  # type: ignore[arg-type]
    live = {c.purpose for c in given if c.withdrawn_at is None and c.purpose != "cohort"}
    return {"errors": {}, "changed": False, "consents": given, "live": live,
            "texts": consent.TEXTS, "choosable": CHOOSABLE, **extra}
