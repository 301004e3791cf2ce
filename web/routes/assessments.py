"""Taking one's own copy of a round: one dimension per page, autosave per answer, submit when complete.

Which view a copy shows in its state is decided once, by ``assessment.layout.view_for``."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from assessment import answers, layout, rounds
from assessment.messages import Message, NotAllowed
from assessment.models import MAX_ID, Assessment, AssessmentRound, Business
from questionnaires.schema import Instrument
from web.deps import (
    SESSION_COOKIE,
    CurrentUser,
    LoginRequired,
    ManageBusiness,
    OwnCopy,
    SessionDep,
    check_csrf,
    database_slot,
    require_roles,
    use_user,
)
from web.i18n import translate
from web.templating import is_htmx, render

router = APIRouter(dependencies=[require_roles("owner")])


def _elsewhere(copy: Assessment, wanted: layout.View) -> Response | None:
    """A redirect when the copy's state shows another view than the one asked for."""
    view = layout.view_for(copy.status, wanted)
    if view == wanted:
        return None
    target = {"results": "results", "review": "review", "page": ""}[view]
    return RedirectResponse(f"/assessments/{copy.id}/{target}".rstrip("/"), status_code=303)


@router.post("/businesses/{business_id}/assessments")
def start(business: ManageBusiness, user: CurrentUser, session: SessionDep, instrument: str = Form(""),
          name: str = Form("")) -> Response:
    """Open a round with the owner's own copy, and go to its first page."""
    try:
        copy = rounds.open_round(session=session, business=business, user=user, instrument_id=instrument, name=name)
    except NotAllowed:
        raise HTTPException(status_code=404) from None
    return RedirectResponse(f"/assessments/{copy.id}/pages/0", status_code=303)


@router.get("/assessments/{assessment_id}")
def resume(owned: OwnCopy, session: SessionDep) -> Response:
    copy, business = owned
    if (elsewhere := _elsewhere(copy, "page")) is not None:
        return elsewhere
    instrument = rounds.instrument_of(copy)
    number = layout.first_unanswered_page(instrument, business.vsic_section, business.size_class,
                                          rounds.answers_of(session, copy))
    target = "review" if number is None else f"pages/{number}"
    return RedirectResponse(f"/assessments/{copy.id}/{target}", status_code=303)


@router.get("/assessments/{assessment_id}/pages/{number}")
def page(request: Request, owned: OwnCopy, session: SessionDep, number: int) -> Response:
    copy, business = owned
    if (elsewhere := _elsewhere(copy, "page")) is not None:
        return elsewhere
    instrument = rounds.instrument_of(copy)
    all_pages = layout.pages(instrument, business.vsic_section, business.size_class)
    if not 0 <= number < len(all_pages):
        raise HTTPException(status_code=404)
    saved = rounds.answers_of(session, copy)
    return render(request, "assessment_page.html", {
        "assessment": copy, "business": business, "instrument": instrument, "pages": all_pages,
        "page": all_pages[number], "answers": saved, "progress": _progress(instrument, business, saved),
    })


def _progress(instrument: Instrument, business: Business, saved: dict[str, str]) -> answers.Progress:
    """Answered of asked, counted in columns (each table row is one)."""
    asked = layout.asked_ids(instrument, business.vsic_section, business.size_class)
    return answers.Progress(sum(1 for q in asked if q in saved), len(asked))


async def autosave(request: Request) -> Response:
    """Save one answer. Every person in a workshop sends one every few seconds, so this is a plain
    Starlette route (FastAPI's solving of parameters and dependencies cost a tenth of the request).
    It checks the CSRF token itself (FastAPI's app-wide dependency does not reach it), and the login
    and the access policy in the service's one call in the thread pool (one hop)."""
    await check_csrf(request)  # reads the form
    form = await request.form()
    copy_id, question_id = request.path_params["assessment_id"], request.path_params["question_id"]
    copy_id = copy_id if 0 < copy_id <= MAX_ID else 0  # out of range names no copy: 404, after the login check
    async with database_slot(request) as engine:
        saved = await run_in_threadpool(
            answers.autosave, engine=engine, settings=request.app.state.settings,
            token=request.cookies.get(SESSION_COOKIE), copy_id=copy_id,
            question_id=question_id, chosen=[str(v) for v in form.getlist("answer")])
    use_user(request, saved.user, request.app.state.settings)
    if saved.user is None:
        raise LoginRequired
    if not saved.found:
        raise HTTPException(status_code=404)
    if saved.refusal is not None:
        return render(request, "_partials/save_status.html", {
            "ok": False, "message": _translated(request.state.lang, saved.refusal), "question_id": question_id,
        }, status_code=422)
    return render(request, "_partials/save_status.html", {  # htmx swaps the progress bar out of band
        "ok": True, "question_id": question_id, "progress": saved.progress, "oob_progress": is_htmx(request)})


def _translated(lang: str, message: str) -> str:
    """A refusal in ``lang``, its placeholders filled in when it carries values ("at least %(n)d")."""
    text = translate(lang, message)
    return text % message.params if isinstance(message, Message) and message.params else text


autosave_route = Route("/assessments/{assessment_id:int}/answers/{question_id}", autosave, methods=["POST"])


@router.get("/assessments/{assessment_id}/review")
def review(request: Request, owned: OwnCopy, session: SessionDep) -> Response:
    copy, business = owned
    if (elsewhere := _elsewhere(copy, "review")) is not None:
        return elsewhere
    return _review(request, session, copy, business, [], 200)


def _review(request: Request, session: SessionDep, copy: Assessment, business: Business, missing: list,
            status: int, refusal: str | None = None) -> Response:
    instrument = rounds.instrument_of(copy)
    saved = rounds.answers_of(session, copy)
    all_pages = layout.pages(instrument, business.vsic_section, business.size_class)
    missing = missing or layout.missing(instrument, business.vsic_section, business.size_class, saved)
    page_of = {c.id: p.number for p in all_pages for c in p.columns}
    return render(request, "review.html", {
        "assessment": copy, "business": business, "instrument": instrument, "pages": all_pages,
        "missing": [(q, page_of[q.id]) for q in missing], "progress": _progress(instrument, business, saved),
        "refusal": refusal,
    }, status_code=status)


@router.post("/assessments/{assessment_id}/submit")
def submit(request: Request, owned: OwnCopy, session: SessionDep) -> Response:
    copy, business = owned
    round_ = session.get(AssessmentRound, copy.round_id)
    if copy.status == "draft" and (round_ is None or round_.status != "open"):
        return _review(request, session, copy, business, [], 422, refusal=answers.ROUND_CLOSED)
    missing = rounds.submit(session=session, copy=copy, business=business)
    if missing:
        return _review(request, session, copy, business, missing, 422)
    return RedirectResponse(f"/assessments/{copy.id}/results", status_code=303)
