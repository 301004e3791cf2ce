"""Cohorts: the trainer's pages (list, create, dashboard, members, notes, actions, reminders, charts,
QR code) and the owner's (join by code or link, leave, reminders on or off, actions done)."""

from __future__ import annotations

import io
import statistics
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from assessment import access, before_after, cohort_exports, cohorts, exports, mail, reference, taxcode
from assessment import consent as consent_texts
from assessment.messages import FormErrors, NotAllowed
from assessment.models import MAX_ID, Business, Cohort, RoundResult, User, utcnow
from questionnaires import loader
from web import charts, mails
from web.deps import (
    CurrentUser,
    FormDep,
    ManageBusiness,
    RowId,
    SessionDep,
    SettingsDep,
    audit_access,
    require_roles,
)
from web.i18n import translate
from web.templating import is_htmx, render

trainer_router = APIRouter(prefix="/cohorts", dependencies=[require_roles("trainer", "admin")])
owner_router = APIRouter(dependencies=[require_roles("owner")])
SVG = "image/svg+xml"


# What each route of a course does, as the audit log names it. Every route that takes a course
# (``RunCohort``) must be here: one missing fails at its first request, and tests/web/test_admin.py
# calls each of them and reads its row back.
AUDITED = {
    "dashboard": "cohort.view", "chart": "cohort.view", "change_chart": "cohort.view", "qr": "cohort.view",
    "export": "cohort.export", "close": "cohort.close", "member": "member.view", "add_note": "member.note",
    "add_action": "member.action", "remind": "member.remind",
}


def run_cohort(request: Request, cohort_id: RowId, user: CurrentUser, session: SessionDep) -> Cohort:
    """The course, when the policy lets ``user`` run it; and the access recorded in the audit log,
    here once for every course route: on the member business when the route names one (after
    checking it is a member, so a refused id leaves no row), else on the course."""
    cohort = access.cohort_for(session, user, cohort_id)
    if cohort is None:
        raise HTTPException(status_code=404)
    action = AUDITED[request.scope["endpoint"].__name__]
    business_id = request.path_params.get("business_id")
    if business_id is None:
        audit_access(request, session, user, action, "cohort", cohort_id)
    elif business_id.isdigit() and int(business_id) <= MAX_ID:  # else the route's own check answers 400
        audit_access(request, session, user, action, "business", _member(session, cohort, int(business_id)).id or 0)
    return cohort


RunCohort = Annotated[Cohort, Depends(run_cohort)]


def _member(session: SessionDep, cohort: Cohort, business_id: int) -> Business:
    if access.member_of_cohort(session, cohort, business_id) is None:
        raise HTTPException(status_code=404)
    business = session.get(Business, business_id)
    if business is None:
        raise HTTPException(status_code=404)
    return business


def _filters(request: Request) -> dict[str, str]:
    """The dashboard's filters, from the URL (so a view can be bookmarked and refreshed)."""
    section = request.query_params.get("section", "")
    size = request.query_params.get("size", "")
    return {"section": section if section in reference.sections() else "",
            "size": size if size in ("micro", "small", "medium", "large") else ""}


@trainer_router.get("")
def index(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    return render(request, "cohorts.html", {"cohorts": access.cohorts_for(session, user), "errors": {}, "values": {},
                                            "instruments": loader.catalogue(), "can_create": user.role == "trainer"})


@trainer_router.post("")
def create(request: Request, user: CurrentUser, session: SessionDep, form: FormDep) -> Response:
    if user.role != "trainer":
        raise HTTPException(status_code=404)
    values = {k: str(form.get(k) or "") for k in ("name", "description", "instrument", "starts_on", "ends_on",
                                                     "co_trainers")}
    try:
        cohort = cohorts.create(session=session, trainer=user, form=values)
    except FormErrors as exc:
        return render(request, "cohorts.html", {"cohorts": access.cohorts_for(session, user), "errors": exc.errors,
                                                "values": values, "instruments": loader.catalogue(),
                                                "can_create": True}, status_code=422)
    return RedirectResponse(f"/cohorts/{cohort.id}", status_code=303)


def _dashboard(request: Request, session: SessionDep, settings: SettingsDep, cohort: Cohort) -> dict:
    filters = _filters(request)
    statuses = cohorts.member_statuses(session, cohort, section=filters["section"], size=filters["size"])
    instrument = cohorts.instrument_of(cohort)
    done = [s for s in statuses if s.latest is not None]
    level_counts = [(level, sum(1 for s in done if s.latest and s.latest.overall_level == level.id))
                    for level in instrument.levels]
    dimensions = []
    city = cohorts.city_figures(session, cohort, minimum=settings.min_cell, **filters)
    for d in instrument.dimensions:
        values = [v for s in done if (v := s.dimensions.get(d.id)) is not None]
        dimensions.append({"dimension": d, "n": len(values), "mean": statistics.fmean(values) if values else None,
                           "low": min(values, default=None), "high": max(values, default=None),
                           "city": city.dimensions.get(d.id)})
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    change = before_after.before_after(session, cohort, settings=settings, now=utcnow())
    return {"cohort": cohort, "instrument": instrument, "statuses": statuses, "filters": filters, "query": query,
            "level_counts": level_counts, "dimensions": dimensions, "city": city, "min_cell": settings.min_cell,
            "funnel": cohorts.funnel(session, cohort, statuses), "members": len(statuses),
            "reminders": cohorts.reminders_of(session, cohort), "stamp": sum(1 for _ in done),
            "sections": list(reference.sections().values()), "change": change,
            "statuses_text": before_after.STATUSES}


@trainer_router.get("/{cohort_id}")
def dashboard(request: Request, cohort: RunCohort, session: SessionDep, settings: SettingsDep) -> Response:
    """The cohort's dashboard; an HTMX request (the filters, the refresh every 30 s) gets only the
    dashboard block, swapped in place."""
    context = _dashboard(request, session, settings, cohort)
    context |= {"trainers": cohorts.trainers_of(session, cohort),
                "join_link": mails.link(request, request.app.state.settings, f"/join/{cohort.join_code}")}
    if is_htmx(request):
        return render(request, "cohort.html", context, block="dashboard", headers={"Vary": "HX-Request"})
    return render(request, "cohort.html", context, headers={"Vary": "HX-Request"})


@trainer_router.get("/{cohort_id}/charts/{kind}.svg")
def chart(request: Request, cohort: RunCohort, session: SessionDep, settings: SettingsDep, kind: str) -> Response:
    context = _dashboard(request, session, settings, cohort)
    lang = request.state.lang
    if kind == "levels":
        fig = charts.counts([lv.name.get(lang) for lv, _ in context["level_counts"]],
                            [n for _, n in context["level_counts"]], lang=lang)
    elif kind == "dimensions":
        done = [s for s in context["statuses"] if s.latest is not None]
        rows = context["dimensions"]
        fig = charts.strip([r["dimension"].name.get(lang) for r in rows],
                           [[v for s in done if (v := s.dimensions.get(r["dimension"].id)) is not None] for r in rows],
                           [r["mean"] for r in rows], [r["city"] for r in rows],
                           mean_label=translate(lang, "Course mean"), reference_label=translate(lang, "City mean"))
    else:
        raise HTTPException(status_code=404)
    return Response(charts.to_svg(fig), media_type=SVG, headers={"Cache-Control": "private, no-store"})


@trainer_router.get("/{cohort_id}/before-after.svg")
def change_chart(request: Request, cohort: RunCohort, session: SessionDep, settings: SettingsDep) -> Response:
    """The mean change per dimension and overall, with its 95 % interval."""
    result = before_after.before_after(session, cohort, settings=settings, now=utcnow())
    lang = request.state.lang
    labels = [row.dimension.name.get(lang) if row.dimension else translate(lang, "Overall") for row in result.rows]
    fig = charts.changes(labels, [r.change.mean for r in result.rows], [r.change.ci_low for r in result.rows],
                         [r.change.ci_high for r in result.rows], axis_label=translate(lang, "Change in points"))
    return Response(charts.to_svg(fig), media_type=SVG, headers={"Cache-Control": "private, no-store"})


@trainer_router.get("/{cohort_id}/exports/{table}.{fmt}")
def export(cohort: RunCohort, session: SessionDep, settings: SettingsDep, table: str, fmt: str) -> Response:
    """The members' table (``members``) or the before/after table (``change``), as CSV or XLSX."""
    if table not in ("members", "change") or fmt not in ("csv", "xlsx"):
        raise HTTPException(status_code=404)
    now = utcnow()
    result = before_after.before_after(session, cohort, settings=settings, now=now)
    if table == "members":
        ids = cohort_exports.round_ids(result)
        scores = cohort_exports.round_scores(list(session.exec(
            select(RoundResult).where(col(RoundResult.round_id).in_(ids or [-1])))))
        data = cohort_exports.members_table(cohort, result, scores, now)
    else:
        data = cohort_exports.change_table(cohort, result, now)
    name = f"cohort-{cohort.id}-{table}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(exports.to_csv(data), media_type=exports.CSV_MEDIA_TYPE, headers=headers)
    return Response(exports.to_xlsx(data, sheet_title=cohort.name), media_type=exports.XLSX_MEDIA_TYPE,
                    headers=headers)


@trainer_router.get("/{cohort_id}/qr.svg")
def qr(request: Request, cohort: RunCohort) -> Response:
    """The join link as a QR code for the classroom screen."""
    buffer = io.BytesIO()
    segno.make(mails.link(request, request.app.state.settings, f"/join/{cohort.join_code}"), error="m").save(
        buffer, kind="svg", scale=8, border=2, title=cohort.name)
    return Response(buffer.getvalue(), media_type=SVG, headers={"Cache-Control": "private, max-age=3600"})


@trainer_router.post("/{cohort_id}/close")
def close(cohort: RunCohort, session: SessionDep) -> Response:
    cohorts.close(session=session, cohort=cohort)
    return RedirectResponse(f"/cohorts/{cohort.id}", status_code=303)


def _member_page(request: Request, session: SessionDep, cohort: Cohort, business: Business, user: User,
                 errors: dict | None = None, status: int = 200, zalo: str | None = None) -> Response:
    business_id: int = business.id  # type: ignore[assignment]
    statuses = [s for s in cohorts.member_statuses(session, cohort) if s.business.id == business_id]
    notes = cohorts.notes_of(session, cohort, business_id)
    return render(request, "cohort_member.html", {
        "cohort": cohort, "business": business, "tax_code": taxcode.masked(business.tax_code),
        "status": statuses[0] if statuses else None, "instrument": cohorts.instrument_of(cohort), "notes": notes,
        "actions": cohorts.actions_of(session, cohort, business_id),
        "reminders": cohorts.reminders_of(session, cohort).get(business_id, []),
        "can_mail": bool(cohorts.owners_to_remind(session, cohort, business_id)), "errors": errors or {},
        "zalo": zalo, "ward": reference.wards().get(business.ward_code),
    }, status_code=status)


@trainer_router.get("/{cohort_id}/members/{business_id}")
def member(request: Request, cohort: RunCohort, session: SessionDep, user: CurrentUser, business_id: RowId) -> Response:
    return _member_page(request, session, cohort, _member(session, cohort, business_id), user)


@trainer_router.post("/{cohort_id}/members/{business_id}/notes")
def add_note(request: Request, cohort: RunCohort, session: SessionDep, user: CurrentUser, business_id: RowId,
             text: str = Form(""), private: str = Form("")) -> Response:
    business = _member(session, cohort, business_id)
    try:
        cohorts.add_note(session=session, cohort=cohort, business_id=business.id, author=user, text=text,  # type: ignore[arg-type]
                         private=bool(private))
    except FormErrors as exc:
        return _member_page(request, session, cohort, business, user, exc.errors, 422)
    return RedirectResponse(f"/cohorts/{cohort.id}/members/{business_id}", status_code=303)


@trainer_router.post("/{cohort_id}/members/{business_id}/actions")
def add_action(request: Request, cohort: RunCohort, session: SessionDep, user: CurrentUser, business_id: RowId,
               form: FormDep) -> Response:
    business = _member(session, cohort, business_id)
    try:
        cohorts.add_action(session=session, cohort=cohort, business_id=business.id, author=user,  # type: ignore[arg-type]
                           form={k: str(form.get(k) or "") for k in ("text", "dimension", "due_on")})
    except FormErrors as exc:
        return _member_page(request, session, cohort, business, user, exc.errors, 422)
    return RedirectResponse(f"/cohorts/{cohort.id}/members/{business_id}", status_code=303)


def reminder_text(lang: str, cohort: Cohort, business: Business, link: str) -> str:
    return translate(lang, "Hello! This is a reminder from the course “%(course)s”: please complete the "
                           "digital maturity self-assessment of %(business)s before the next session: %(link)s") % {
        "course": cohort.name, "business": business.name, "link": link}


@trainer_router.post("/{cohort_id}/members/{business_id}/remind")
def remind(request: Request, cohort: RunCohort, session: SessionDep, settings: SettingsDep, user: CurrentUser,
           business_id: RowId, channel: str = Form("")) -> Response:
    """E-mail the business's owners (unless they turned reminders off), or show a message to copy
    into Zalo; either is logged for the member."""
    business = _member(session, cohort, business_id)
    link = mails.link(request, request.app.state.settings, f"/businesses/{business.id}")
    if channel == "email":
        owners = cohorts.owners_to_remind(session, cohort, business.id)  # type: ignore[arg-type]
        if not owners:
            raise HTTPException(status_code=409)
        for owner in owners:
            mail.send(session=session, settings=settings, to=owner.email,
                      subject=translate(owner.language, "Reminder: your digital maturity self-assessment"),
                      body=reminder_text(owner.language, cohort, business, link), kind="cohort-reminder")
        cohorts.log_reminder(session=session, cohort=cohort, business_id=business.id, channel="email", by=user)  # type: ignore[arg-type]
        return RedirectResponse(f"/cohorts/{cohort.id}/members/{business_id}", status_code=303)
    if channel == "zalo":
        cohorts.log_reminder(session=session, cohort=cohort, business_id=business.id, channel="zalo", by=user)  # type: ignore[arg-type]
        return _member_page(request, session, cohort, business, user,
                            zalo=reminder_text(request.state.lang, cohort, business, link))
    raise HTTPException(status_code=400)


# -- the owner's side ------------------------------------------------------------------------------
@owner_router.get("/join")
def join_form(request: Request, user: CurrentUser, session: SessionDep, code: str = "") -> Response:
    return _join_page(request, session, user, code)


@owner_router.get("/join/{code}")
def join_link(request: Request, user: CurrentUser, session: SessionDep, code: str) -> Response:
    return _join_page(request, session, user, code)


def _join_page(request: Request, session: SessionDep, user: User, code: str, status: int = 200,
               refusal: str | None = None) -> Response:
    cohort = None
    if code and refusal is None:
        try:
            cohort = cohorts.joinable(session, code, now=utcnow())
        except NotAllowed as exc:
            refusal, status = str(exc), 404
    return render(request, "join.html", {"code": cohorts.normalise_code(code), "cohort": cohort, "refusal": refusal,
                                         "businesses": access.businesses_of(session, user),
                                         "consent": cohorts.CONSENT,
                                         "reminders_text": consent_texts.TEXTS["reminders"].text,
                                         "has_reminders": consent_texts.has(session, user.id, "reminders")},  # type: ignore[arg-type]
                  status_code=status)


@owner_router.post("/join/{code}")
def join(request: Request, user: CurrentUser, session: SessionDep, code: str, business_id: int = Form(0),
         consent: str = Form(""), reminders: str = Form("")) -> Response:
    """Bring a business into a course with the owner's consent (and, if ticked, reminder e-mails)."""
    try:
        cohort = cohorts.joinable(session, code, now=utcnow())
    except NotAllowed as exc:
        return _join_page(request, session, user, code, 404, str(exc))
    business = access.business_for(session, user, business_id, access.Action.MANAGE_BUSINESS) if business_id else None
    if business is None or consent != "yes":
        return _join_page(request, session, user, code, 422)
    if reminders == "yes":
        consent_texts.give(session=session, user=user, purpose="reminders", language=request.state.lang)
    cohorts.join(session=session, cohort=cohort, business=business, by=user, lang=request.state.lang, now=utcnow())
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)


@owner_router.post("/businesses/{business_id}/cohorts/{cohort_id}/leave")
def leave(business: ManageBusiness, session: SessionDep, cohort_id: RowId) -> Response:
    try:
        cohorts.leave(session=session, cohort_id=cohort_id, business=business, now=utcnow())
    except NotAllowed:
        raise HTTPException(status_code=404) from None
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)


@owner_router.post("/businesses/{business_id}/cohorts/{cohort_id}/reminders")
def reminders(business: ManageBusiness, session: SessionDep, cohort_id: RowId, on: str = Form("")) -> Response:
    try:
        cohorts.set_reminders(session=session, cohort_id=cohort_id, business=business, on=on == "yes")
    except NotAllowed:
        raise HTTPException(status_code=404) from None
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)


@owner_router.post("/businesses/{business_id}/actions/{action_id}")
def mark_action(request: Request, business: ManageBusiness, session: SessionDep, action_id: RowId,
                done: str = Form(""), back: str = Form("")) -> Response:
    try:
        cohorts.mark_action(session=session, business=business, action_id=action_id, done=done == "yes", now=utcnow())
    except NotAllowed:
        raise HTTPException(status_code=404) from None
    target = back if back.startswith("/") and not back.startswith("//") else f"/businesses/{business.id}"
    return RedirectResponse(target, status_code=303)
