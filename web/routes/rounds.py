"""Rounds: the owner's page of a round (copies, invitations, closing it, the combined result), what a
respondent sees of a closed round, and invitation links."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from assessment import access, layout, results, rounds
from assessment.access import Action
from assessment.messages import NotAllowed
from assessment.models import AssessmentRound, Business
from web import mails
from web.deps import CurrentUser, ManageRound, RowId, SessionDep, SettingsDep, require_roles
from web.templating import render

router = APIRouter(dependencies=[require_roles("owner")])


@router.get("/rounds/{round_id}")
def show(request: Request, round_id: RowId, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> Response:
    """An owner sees everything of the round; a respondent with a copy sees its combined result once
    it is closed; anyone else gets 404 (the policy decides which)."""
    managed = access.round_for(session, user, round_id, Action.MANAGE_BUSINESS)
    found = managed or access.round_for(session, user, round_id, Action.VIEW_ROUND_RESULT)
    if found is None:
        raise HTTPException(status_code=404)
    round_, business = found
    return _round_page(request, session, settings, round_, business, manage=managed is not None)


def _round_page(request: Request, session: SessionDep, settings: SettingsDep, round_: AssessmentRound,
                business: Business, *, manage: bool, new_link: str | None = None) -> Response:
    """The round's page: the owner's copies, invitations and closing (``manage``), and, once closed,
    its combined result and where it stands among its peers."""
    instrument = rounds.instrument_of(round_)
    return render(request, "round.html", {
        "round": round_, "business": business, "manage": manage, "instrument": instrument,
        "copies": rounds.copies_of(session, round_) if manage else [],
        "asked": len(layout.asked_ids(instrument, business.vsic_section, business.size_class)),
        "invitations": rounds.open_invitations(session, round_) if manage else [],
        "combined": results.round_result(session=session, round_=round_),
        "peers": results.peers(session=session, round_=round_, minimum=settings.min_cell),
        "min_cell": settings.min_cell, "new_link": new_link,
    })


@router.post("/rounds/{round_id}/invitations")
def invite(request: Request, managed: ManageRound, user: CurrentUser, session: SessionDep, settings: SettingsDep,
           label: str = Form("")) -> Response:
    round_, business = managed
    try:
        token = rounds.invite(session=session, round_=round_, by=user, label=label)
    except NotAllowed:
        raise HTTPException(status_code=409) from None
    return _round_page(request, session, settings, round_, business, manage=True,
                       new_link=mails.link(request, request.app.state.settings, f"/invitations/{token}"))


@router.post("/rounds/{round_id}/close")
def close(managed: ManageRound, session: SessionDep) -> Response:
    round_, business = managed
    with contextlib.suppress(NotAllowed):  # closed a moment ago: the page shows it closed
        rounds.close(session=session, round_=round_, business=business)
    return RedirectResponse(f"/rounds/{round_.id}", status_code=303)


@router.get("/invitations/{token}")
def invitation(request: Request, user: CurrentUser, session: SessionDep, token: str) -> Response:
    found = rounds.invitation_for(session, token)
    if found is None:
        return render(request, "invitation.html", {"invitation": None}, status_code=404)
    invitation_, round_, business = found
    return render(request, "invitation.html", {"invitation": invitation_, "round": round_, "business": business,
                                               "instrument": rounds.instrument_of(round_), "token": token})


@router.post("/invitations/{token}")
def accept(request: Request, user: CurrentUser, session: SessionDep, token: str) -> Response:
    try:
        copy = rounds.accept(session=session, token=token, user=user)
    except NotAllowed:
        return render(request, "invitation.html", {"invitation": None}, status_code=404)
    return RedirectResponse(f"/assessments/{copy.id}", status_code=303)
