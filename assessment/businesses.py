"""Business profiles: validation, the derived size class, and ownership."""

from __future__ import annotations

import math
from collections.abc import Mapping

from sqlmodel import Session, select

from assessment import reference, sizing, taxcode
from assessment.messages import N_, FormErrors
from assessment.models import Business, User

FIELDS = ("name", "tax_code", "ward_code", "vsic_section", "employees", "revenue_bn", "capital_bn")
TAX_MESSAGES = {
    "invalid_format": N_("A tax code has 10 digits, 10 + '-' + 3 for a branch, or 12 for a household business."),
    "invalid_check_digit": N_("This tax code's last digit does not match: please check it."),
    "invalid_sequence": N_("This tax code has no sequence number."),
    "invalid_branch": N_("A branch number runs from 001 to 999."),
}


def _number(raw: str, *, integer: bool, maximum: float) -> float | None:
    try:
        value = float((raw or "").strip().replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0 or value > maximum or (integer and value != int(value)):
        return None
    return int(value) if integer else value


def parse_form(form: Mapping[str, str]) -> dict:
    """Clean business values from a form, or FormErrors with a message per wrong field."""
    errors: dict[str, str] = {}
    values: dict = {}
    name = (form.get("name") or "").strip()
    if not 1 <= len(name) <= 200:
        errors["name"] = N_("Enter the business name (at most 200 characters).")
    values["name"] = name
    try:
        values["tax_code"] = taxcode.normalise(form.get("tax_code") or "")
    except taxcode.TaxCodeError as exc:
        errors["tax_code"] = TAX_MESSAGES[str(exc)]
    ward = (form.get("ward_code") or "").strip()
    if ward not in reference.wards():
        errors["ward_code"] = N_("Choose the ward or commune.")
    values["ward_code"] = ward
    section = (form.get("vsic_section") or "").strip().upper()
    if section not in reference.sections():
        errors["vsic_section"] = N_("Choose the main business sector.")
    values["vsic_section"] = section
    for field, integer, maximum, message in (
        ("employees", True, 1_000_000, N_("Enter a whole number of employees (0 or more).")),
        ("revenue_bn", False, 10_000_000, N_("Enter the revenue in billion VND (0 or more).")),
        ("capital_bn", False, 10_000_000, N_("Enter the capital in billion VND (0 or more).")),
    ):
        number = _number(form.get(field) or "", integer=integer, maximum=maximum)
        if number is None:
            errors[field] = message
        values[field] = number
    if errors:
        raise FormErrors(errors)
    group = reference.sections()[section].group
    values["size_class"] = sizing.size_class(group, values["employees"], values["revenue_bn"], values["capital_bn"])
    values["vsic_version"] = reference.CURRENT_VSIC
    return values


def create_business(*, session: Session, owner: User, form: Mapping[str, str]) -> Business:
    business = Business(owner_id=owner.id, **parse_form(form))
    session.add(business)
    session.commit()
    session.refresh(business)
    return business


def update_business(*, session: Session, business: Business, form: Mapping[str, str]) -> Business:
    for key, value in parse_form(form).items():
        setattr(business, key, value)
    session.add(business)
    session.commit()
    return business


def businesses_of(*, session: Session, owner: User) -> list[Business]:
    return list(session.exec(select(Business).where(Business.owner_id == owner.id).order_by(Business.id)))


def owned_business(*, session: Session, user: User, business_id: int) -> Business | None:
    """The business if this user owns it; None otherwise (callers answer 404, never 403)."""
    business = session.get(Business, business_id)
    if business is None or business.owner_id != user.id:
        return None
    return business
