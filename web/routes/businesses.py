"""Business profiles: create, view (with assessments and history links), edit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from assessment import assessments, businesses, reference
from assessment.messages import FormErrors
from questionnaires import loader
from web.deps import CurrentUser, FormDep, OwnedBusiness, SessionDep, require_roles
from web.templating import render

router = APIRouter(prefix="/businesses", dependencies=[require_roles("owner")])


def _fields(form: FormDep) -> dict[str, str]:
    return {k: str(form.get(k) or "") for k in businesses.FIELDS}


def _form_page(request: Request, values: dict, errors: dict, business=None, status: int = 200) -> Response:  # noqa: ANN001
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
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)


@router.get("/{business_id}")
def show(request: Request, business: OwnedBusiness, session: SessionDep) -> Response:
    return render(request, "business.html", {
        "business": business,
        "ward": reference.wards().get(business.ward_code),
        "section": reference.sections(business.vsic_version).get(business.vsic_section),
        "assessments": assessments.assessments_of(session=session, business=business),
        "instruments": loader.catalogue(),
    })


@router.get("/{business_id}/edit")
def edit(request: Request, business: OwnedBusiness) -> Response:
    values = {k: str(getattr(business, k)) for k in businesses.FIELDS}
    return _form_page(request, values, {}, business)


@router.post("/{business_id}")
def update(request: Request, business: OwnedBusiness, session: SessionDep, form: FormDep) -> Response:
    values = _fields(form)
    try:
        businesses.update_business(session=session, business=business, form=values)
    except FormErrors as exc:
        return _form_page(request, values, exc.errors, business, status=422)
    return RedirectResponse(f"/businesses/{business.id}", status_code=303)
