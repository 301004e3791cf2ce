"""Results, peer comparison, the what-if sandbox, charts, the PDF report and the history."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from assessment import assessments, results
from questionnaires import loader
from web import charts, pdf
from web.deps import FormDep, OwnedAssessment, OwnedBusiness, SessionDep, SettingsDep, require_roles
from web.i18n import translate
from web.templating import render

router = APIRouter(dependencies=[require_roles("owner")])
SVG = "image/svg+xml"


def _submitted(owned) -> tuple:  # noqa: ANN001
    assessment, business = owned
    if assessment.status != "submitted":
        raise HTTPException(status_code=404)
    return assessment, business


def _labels(view: results.ResultView, lang: str) -> list[str]:
    return [d.dimension.name.get(lang) for d in view.dimensions]


@router.get("/assessments/{assessment_id}/results")
def show(request: Request, owned: OwnedAssessment, session: SessionDep, settings: SettingsDep) -> Response:
    assessment, business = owned
    if assessment.status != "submitted":
        return RedirectResponse(f"/assessments/{assessment.id}", status_code=303)
    view = results.result_of(session=session, assessment=assessment, business=business)
    peers, percentile = results.peer_percentile(session=session, assessment=assessment, minimum=settings.peer_min)
    answers = assessments.answers_of(session=session, assessment=assessment)
    _, suggestions = results.what_if(view.instrument, business, answers)
    return render(request, "results.html", {
        "assessment": assessment, "business": business, "view": view, "peers": peers,
        "percentile": percentile, "peer_min": settings.peer_min, "answers": answers,
        "sandbox": view, "suggestions": suggestions,
        "questions": assessments.applicable(view.instrument, business),
    })


@router.post("/assessments/{assessment_id}/what-if")
def what_if(request: Request, owned: OwnedAssessment, form: FormDep) -> Response:
    """Score sandbox answers; the stored assessment is never touched."""
    assessment, business = _submitted(owned)
    instrument = assessments.instrument_of(assessment)
    sandbox = {}
    for question in assessments.applicable(instrument, business):
        chosen = [str(v) for v in form.getlist(f"q_{question.id}")]
        try:
            value = assessments.answer_value(question, chosen)
        except assessments.NotAllowed:
            value = None
        if value is not None:
            sandbox[question.id] = value
    view, suggestions = results.what_if(instrument, business, sandbox)
    return render(request, "results.html", {"sandbox": view, "suggestions": suggestions,
                                            "assessment": assessment}, block="sandbox")


@router.get("/assessments/{assessment_id}/charts/{kind}.svg")
def chart(request: Request, owned: OwnedAssessment, session: SessionDep, kind: str) -> Response:
    assessment, business = _submitted(owned)
    view = results.result_of(session=session, assessment=assessment, business=business)
    labels = _labels(view, request.state.lang)
    if kind == "radar":
        body = charts.to_svg(charts.radar(labels, view.scores))
    elif kind == "bars":
        levels = view.instrument.levels
        body = charts.to_svg(charts.bars(labels, view.scores, [lv.min_score for lv in levels],
                                         [lv.name.get(request.state.lang) for lv in levels]))
    else:
        raise HTTPException(status_code=404)
    return Response(body, media_type=SVG, headers={"Cache-Control": "private, max-age=300"})


@router.get("/assessments/{assessment_id}/report.pdf")
def report(request: Request, owned: OwnedAssessment, session: SessionDep, settings: SettingsDep) -> Response:
    assessment, business = _submitted(owned)
    view = results.result_of(session=session, assessment=assessment, business=business)
    peers, percentile = results.peer_percentile(session=session, assessment=assessment, minimum=settings.peer_min)
    body = pdf.report_pdf(view=view, business=business, assessment=assessment, lang=request.state.lang,
                          peers=peers, percentile=percentile, peer_min=settings.peer_min)
    filename = f"dxmaturity-{assessment.instrument_id}-{assessment.id}.pdf"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _history(session, business, instrument_id):  # noqa: ANN001, ANN202
    try:
        instrument = loader.latest(instrument_id)
    except KeyError:
        raise HTTPException(status_code=404) from None
    return instrument, results.history(session=session, business=business, instrument_id=instrument_id)


@router.get("/businesses/{business_id}/history/{instrument_id}")
def history(request: Request, business: OwnedBusiness, session: SessionDep, instrument_id: str) -> Response:
    instrument, points = _history(session, business, instrument_id)
    return render(request, "history.html", {"business": business, "instrument": instrument, "points": points})


@router.get("/businesses/{business_id}/history/{instrument_id}/chart.svg")
def history_chart(request: Request, business: OwnedBusiness, session: SessionDep, instrument_id: str) -> Response:
    instrument, points = _history(session, business, instrument_id)
    if not points:
        raise HTTPException(status_code=404)
    lang = request.state.lang
    series = {d.name.get(lang): [p.dimensions.get(d.id) for p in points] for d in instrument.dimensions}
    dates = [p.assessment.submitted_at.strftime("%Y-%m-%d") for p in points]
    body = charts.to_svg(charts.progress(dates, [p.overall for p in points], series,
                                         overall_label=translate(lang, "Overall")))
    return Response(body, media_type=SVG, headers={"Cache-Control": "private, max-age=60"})
