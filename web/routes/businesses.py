"""Business profiles (create, view with their rounds, edit), their people, and requests to join."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from assessment import businesses, cohorts, layout, people, reference, rounds, taxcode
from assessment.messages import FormErrors, NotAllowed
from assessment.models import Business
from questionnaires import loader
from web.deps import CurrentUser, FormDep, ManageBusiness, RowId, SessionDep, ViewBusiness, require_roles
from web.templating import render

router = APIRouter(prefix="/businesses", dependencies=[require_roles("owner")])


def _fields(form: FormDep) -> dict[str, str]:
    return {k: str(form.get(k) or "") for k in businesses.FIELDS}


def _form_page(request: Request, values: dict[str, str], errors: dict[str, str], business: Business | None = None,
               status: int = 200) -> Response:
    return render(request, "business_form.html", {
        "values": values, "errors": errors, "business": business,
        "wards": sorted(reference.wards().values(), key=lambda w: w.name_vi),
        "sections": list(reference.sections().values()),
    }, status_code=status)


@router.get("/new")
def new(request: Request, user: CurrentUser) -> Response:
    return _form_page(request, {}, {})


@router.post("")
def create(request: Request, user: CurrentUser, session: SessionDep, form: FormDep) -> Response:
    values = _fields(form)
    try:
        business = businesses.create_business(session=session, owner=user, form=values)
    except FormErrors as exc:
        return _form_page(request, values, exc.errors, status=422)
    except businesses.AlreadyRegistered as exc:
        return render(request, "already_registered.html", {"tax_code": exc.tax_code, "sent": False},
                      status_code=409)
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)


@router.post("/join-requests")
def request_to_join(request: Request, user: CurrentUser, session: SessionDep, tax_code: str = Form("")) -> Response:
    """Ask the owners of a registered tax code to let this person join. The answer is the same whether
    or not the request could be sent to anyone (an unknown code too), so codes cannot be probed."""
    try:
        code = taxcode.normalise(tax_code)
    except taxcode.TaxCodeError:
        raise HTTPException(status_code=400) from None
    try:
        people.ask_to_join(session=session, user=user, tax_code=code)
    except people.TooManyRequests as exc:
        return render(request, "already_registered.html", {"tax_code": code, "sent": False, "refusal": str(exc)},
                      status_code=429)
    return render(request, "already_registered.html", {"tax_code": code, "sent": True})


@router.get("/{business_id}")
def show(request: Request, business: ViewBusiness, user: CurrentUser, session: SessionDep,
         instrument: str = "") -> Response:
    """The business, its rounds and courses; ``instrument`` preselects a questionnaire to start (the
    home page's cards link here)."""
    return render(request, "business.html", {
        "chosen": instrument,
        "business": business,
        "ward": reference.wards().get(business.ward_code),
        "section": reference.sections(business.vsic_version).get(business.vsic_section),
        "rounds": rounds.rounds_of(session, business, user),
        "choices": [(ins, len(layout.applicable(ins, business.vsic_section, business.size_class)))
                    for ins in loader.catalogue()],
        "pending": len(people.pending_requests(session, business)),
        "memberships": cohorts.memberships_of(session, business),
    })


@router.get("/{business_id}/edit")
def edit(request: Request, business: ManageBusiness) -> Response:
    values = {k: str(getattr(business, k)) for k in businesses.FIELDS}
    return _form_page(request, values, {}, business)


@router.post("/{business_id}")
def update(request: Request, business: ManageBusiness, session: SessionDep, form: FormDep) -> Response:
    values = _fields(form)
    try:
        businesses.update_business(session=session, business=business, form=values)
    except FormErrors as exc:
        return _form_page(request, values, exc.errors, business, status=422)
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)


@router.get("/{business_id}/people")
def people_page(request: Request, business: ManageBusiness, session: SessionDep) -> Response:
    return render(request, "people.html", {
        "business": business, "members": people.members_of(session, business),
        "requests": people.pending_requests(session, business)})


@router.post("/{business_id}/join-requests/{request_id}")
def decide(business: ManageBusiness, session: SessionDep, request_id: RowId, decision: str = Form("")) -> Response:
    if decision not in ("approve", "refuse"):
        raise HTTPException(status_code=400)
    try:
        people.decide(session=session, business=business, request_id=request_id, approve=decision == "approve")
    except NotAllowed:
        raise HTTPException(status_code=404) from None
    return RedirectResponse(f"/businesses/{business.id}/people", status_code=303)
