"""Taking an assessment: one dimension per page, autosave per answer, submit when complete."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from assessment import assessments
from assessment.messages import NotAllowed
from assessment.models import MAX_ID
from web.deps import (
    SESSION_COOKIE,
    LoginRequired,
    OwnedAssessment,
    OwnedBusiness,
    SessionDep,
    check_csrf,
    database_slot,
    require_roles,
    use_user,
)
from web.i18n import translate
from web.templating import is_htmx, render

router = APIRouter(dependencies=[require_roles("owner")])


@router.post("/businesses/{business_id}/assessments")
def start(business: OwnedBusiness, session: SessionDep, instrument: str = Form("")) -> Response:
    try:
        assessment = assessments.start(session=session, business=business, instrument_id=instrument)
    except NotAllowed:
        raise HTTPException(status_code=404) from None
    return RedirectResponse(f"/assessments/{assessment.id}/pages/0", status_code=303)


@router.get("/assessments/{assessment_id}")
def resume(owned: OwnedAssessment, session: SessionDep) -> Response:
    assessment, business = owned
    if assessment.status == "submitted":
        return RedirectResponse(f"/assessments/{assessment.id}/results", status_code=303)
    instrument = assessments.instrument_of(assessment)
    answers = assessments.answers_of(session=session, assessment=assessment)
    for page in assessments.pages(instrument, business):
        if any(q.id not in answers for q in page.questions):
            return RedirectResponse(f"/assessments/{assessment.id}/pages/{page.number}", status_code=303)
    return RedirectResponse(f"/assessments/{assessment.id}/review", status_code=303)


@router.get("/assessments/{assessment_id}/pages/{number}")
def page(request: Request, owned: OwnedAssessment, session: SessionDep, number: int) -> Response:
    assessment, business = owned
    if assessment.status == "submitted":
        return RedirectResponse(f"/assessments/{assessment.id}/results", status_code=303)
    instrument = assessments.instrument_of(assessment)
    all_pages = assessments.pages(instrument, business)
    if not 0 <= number < len(all_pages):
        raise HTTPException(status_code=404)
    answers = assessments.answers_of(session=session, assessment=assessment)
    return render(request, "assessment_page.html", {
        "assessment": assessment, "business": business, "instrument": instrument, "pages": all_pages,
        "page": all_pages[number], "answers": answers, "progress": assessments.progress(instrument, business, answers),
    })


async def autosave(request: Request) -> Response:
    """Save one answer. Every owner in a workshop sends one every few seconds, so this is a plain
    Starlette route (FastAPI's solving of parameters and dependencies cost a tenth of the request).
    It checks the CSRF token itself (FastAPI's app-wide dependency does not reach it), and the login
    and the ownership in the service's one call in the thread pool (one hop)."""
    await check_csrf(request)  # reads the form
    form = await request.form()
    assessment_id, question_id = request.path_params["assessment_id"], request.path_params["question_id"]
    if not 0 < assessment_id <= MAX_ID:
        raise HTTPException(status_code=404)
    async with database_slot(request) as engine:
        saved = await run_in_threadpool(
            assessments.autosave, engine=engine, token=request.cookies.get(SESSION_COOKIE),
            assessment_id=assessment_id, question_id=question_id,
            chosen=[str(v) for v in form.getlist("answer")])
    use_user(request, saved.user, request.app.state.settings)
    if saved.user is None:
        raise LoginRequired
    if not saved.found:
        raise HTTPException(status_code=404)
    if saved.refusal is not None:
        return render(request, "_partials/save_status.html", {
            "ok": False, "message": translate(request.state.lang, saved.refusal), "question_id": question_id,
        }, status_code=422)
    return render(request, "_partials/save_status.html", {  # htmx swaps the progress bar out of band
        "ok": True, "question_id": question_id, "progress": saved.progress, "oob_progress": is_htmx(request)})


autosave_route = Route("/assessments/{assessment_id:int}/answers/{question_id}", autosave, methods=["POST"])


@router.get("/assessments/{assessment_id}/review")
def review(request: Request, owned: OwnedAssessment, session: SessionDep) -> Response:
    assessment, business = owned
    if assessment.status == "submitted":
        return RedirectResponse(f"/assessments/{assessment.id}/results", status_code=303)
    instrument = assessments.instrument_of(assessment)
    answers = assessments.answers_of(session=session, assessment=assessment)
    return _review(request, assessment, business, instrument, answers, 200)


def _review(request, assessment, business, instrument, answers, status) -> Response:  # noqa: ANN001
    all_pages = assessments.pages(instrument, business)
    missing = assessments.missing(instrument, business, answers)
    page_of = {q.id: p.number for p in all_pages for q in p.questions}
    return render(request, "review.html", {
        "assessment": assessment, "business": business, "instrument": instrument, "pages": all_pages,
        "missing": [(q, page_of[q.id]) for q in missing],
        "progress": assessments.progress(instrument, business, answers),
    }, status_code=status)


@router.post("/assessments/{assessment_id}/submit")
def submit(request: Request, owned: OwnedAssessment, session: SessionDep) -> Response:
    assessment, business = owned
    missing = assessments.submit(session=session, assessment=assessment, business=business)
    if missing:
        instrument = assessments.instrument_of(assessment)
        answers = assessments.answers_of(session=session, assessment=assessment)
        return _review(request, assessment, business, instrument, answers, 422)
    return RedirectResponse(f"/assessments/{assessment.id}/results", status_code=303)
