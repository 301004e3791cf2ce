"""Results of a submitted copy (frozen scores), peers, the what-if sandbox, charts, the PDF report and
the history of a business's closed rounds."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from assessment import access, answers, chart_cache, cohorts, layout, mail, results, rounds
from assessment.messages import NotAllowed
from assessment.models import Assessment, AssessmentRound, Business, RenderedChart
from assessment.settings import Settings
from questionnaires import loader
from web import charts, formatting, mails, pdf
from web.deps import CurrentUser, FormDep, SessionDep, SettingsDep, ViewBusiness, ViewCopy, require_roles
from web.i18n import translate
from web.templating import render

router = APIRouter(dependencies=[require_roles("owner")])
SVG = "image/svg+xml"
PRIVATE_CACHE = "private, no-cache"  # revalidated with the ETag: a 304 costs no rendering


def _submitted(owned: tuple[Assessment, Business]) -> tuple[Assessment, Business]:
    copy, business = owned
    if layout.view_for(copy.status, "results") != "results":
        raise HTTPException(status_code=404)
    return copy, business


def _peers(session: Session, copy: Assessment, minimum: int) -> results.Peers:
    """The copy's round among its peers (once the round is closed with a result)."""
    return results.peers(session=session, round_=session.get(AssessmentRound, copy.round_id), minimum=minimum)


@router.get("/assessments/{assessment_id}/results")
def show(request: Request, owned: ViewCopy, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> Response:
    copy, business = owned
    if layout.view_for(copy.status, "results") != "results":
        return RedirectResponse(f"/assessments/{copy.id}", status_code=303)
    view = results.copy_result(session=session, copy=copy)
    saved = rounds.answers_of(session, copy)
    _, suggestions = results.what_if(view.instrument, business, saved)
    peers = _peers(session, copy, settings.min_cell)
    # those who manage the business also see its progress and its courses' actions (a respondent: neither)
    manages = access.business_for(session, user, business.id, access.Action.MANAGE_BUSINESS) is not None  # type: ignore[arg-type]
    return render(request, "results.html", {
        "assessment": copy, "business": business, "view": view, "peers": peers, "min_cell": settings.min_cell,
        "answers": saved,
        "sandbox": view, "suggestions": suggestions,
        "columns": layout.asked_columns(view.instrument, business.vsic_section, business.size_class),
        "round": session.get(AssessmentRound, copy.round_id),
        "manages": manages,
        "memberships": cohorts.memberships_of(session, business) if manages else [],
    })


@router.post("/assessments/{assessment_id}/what-if")
def what_if(request: Request, owned: ViewCopy, form: FormDep) -> Response:
    """Score sandbox answers; the stored copy is never touched."""
    copy, business = _submitted(owned)
    instrument = rounds.instrument_of(copy)
    sandbox = {}
    for column in layout.asked_columns(instrument, business.vsic_section, business.size_class):
        try:  # an answer that could not be saved (e.g. "none of these" with a tool) is left out
            value = answers.answer_value(column.question, [str(v) for v in form.getlist(f"q_{column.id}")])
        except NotAllowed:
            value = None
        if value is not None:
            sandbox[column.id] = value
    view, suggestions = results.what_if(instrument, business, sandbox)
    return render(request, "results.html", {"sandbox": view, "suggestions": suggestions,
                                            "assessment": copy, "oob": True}, block="sandbox")


def _svg(request: Request, chart: RenderedChart) -> Response:
    headers = {"ETag": f'"{chart.etag}"', "Cache-Control": PRIVATE_CACHE}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(chart.body, media_type=SVG, headers=headers)


@router.get("/assessments/{assessment_id}/charts/{kind}.svg")
def chart(request: Request, owned: ViewCopy, session: SessionDep, kind: str) -> Response:
    """A chart of a submitted copy's frozen scores: rendered on its first view, then served from the
    database with its ETag (a browser that has it gets 304)."""
    copy, _business = _submitted(owned)
    if kind not in ("radar", "bars"):
        raise HTTPException(status_code=404)
    lang = request.state.lang

    def draw() -> bytes:
        view = results.copy_result(session=session, copy=copy)
        labels = [d.dimension.name.get(lang) for d in view.dimensions]
        if kind == "radar":
            return charts.to_svg(charts.radar(labels, view.scores, lang=lang))
        levels = view.instrument.levels
        return charts.to_svg(charts.bars(labels, view.scores, [lv.min_score for lv in levels],
                                         [lv.name.get(lang) for lv in levels], lang=lang))

    stored = chart_cache.cached(session, key=f"copy/{copy.id}/{kind}/{lang}", assessment_id=copy.id,  # type: ignore[arg-type]
                                render=draw)
    return _svg(request, stored)


def _report(session: Session, settings: Settings, copy: Assessment, business: Business, lang: str) -> mail.Attachment:
    """The copy's PDF report in ``lang``, named as it is downloaded or attached."""
    view = results.copy_result(session=session, copy=copy)
    peers = _peers(session, copy, settings.min_cell)
    body = pdf.report_pdf(view=view, business=business, assessment=copy, lang=lang, peers=peers,
                          min_cell=settings.min_cell, centre=settings.centre_name, contact=settings.centre_contact)
    return mail.Attachment(f"dxmaturity-{copy.instrument_id}-{copy.id}.pdf", "application/pdf", body)


@router.get("/assessments/{assessment_id}/report.pdf")
def report(request: Request, owned: ViewCopy, session: SessionDep, settings: SettingsDep) -> Response:
    copy, business = _submitted(owned)
    report = _report(session, settings, copy, business, request.state.lang)
    return Response(report.data, media_type=report.content_type, headers={
        "Content-Disposition": f'attachment; filename="{report.filename}"', "Cache-Control": "no-store"})


@router.post("/assessments/{assessment_id}/report/mail")
def mail_report(request: Request, owned: ViewCopy, user: CurrentUser, session: SessionDep,
                settings: SettingsDep) -> Response:
    """Mail the PDF report to the person asking (only to their own account's address)."""
    copy, business = _submitted(owned)
    lang = request.state.lang
    report = _report(session, settings, copy, business, lang)
    title = loader.get(copy.instrument_id, copy.instrument_version).title.get(lang)
    sent = mail.send(
        session=session, settings=settings, to=user.email, kind="report", attachment=report,
        subject=translate(lang, "Your report: %(title)s") % {"title": title},
        body=translate(lang, "Attached is the PDF report of %(business)s's assessment “%(title)s”, as you asked. "
                             "Your results are also on the site: %(link)s") % {
            "business": business.name, "title": title,
            "link": mails.link(request, settings, f"/assessments/{copy.id}/results")})
    return render(request, "report_mailed.html", {"assessment": copy, "failed": sent.error is not None},
                  status_code=502 if sent.error else 200)


def _history(session: Session, business: Business, instrument_id: str) -> list[results.VersionHistory]:
    if instrument_id not in loader.bundled():
        raise HTTPException(status_code=404)
    return results.history(session=session, business=business, instrument_id=instrument_id)


@router.get("/businesses/{business_id}/history/{instrument_id}")
def history(request: Request, business: ViewBusiness, session: SessionDep, instrument_id: str) -> Response:
    groups = _history(session, business, instrument_id)
    return render(request, "history.html", {"business": business, "instrument": loader.latest(instrument_id),
                                            "groups": groups})


@router.get("/businesses/{business_id}/history/{instrument_id}/{version}/chart.svg")
def history_chart(request: Request, business: ViewBusiness, session: SessionDep, instrument_id: str,
                  version: str) -> Response:
    """One version's history: its points labelled with that version's own dimensions."""
    group = next((g for g in _history(session, business, instrument_id) if g.instrument.version == version), None)
    if group is None:
        raise HTTPException(status_code=404)
    lang = request.state.lang
    series = {d.name.get(lang): [p.dimensions.get(d.id) for p in group.points] for d in group.instrument.dimensions}
    dates = [formatting.day(p.round.closed_at, lang) for p in group.points]
    body = charts.to_svg(charts.progress(dates, [p.overall for p in group.points], series,
                                         overall_label=translate(lang, "Overall")))
    return Response(body, media_type=SVG, headers={"Cache-Control": "private, max-age=60"})
