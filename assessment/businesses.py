"""Business profiles: validation, the derived size class, one business per tax code."""

from __future__ import annotations

import math
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assessment import reference, sizing, taxcode
from assessment.messages import N_, FormErrors
from assessment.models import Business, BusinessMember, User

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


class AlreadyRegistered(Exception):
    """The tax code belongs to a registered business. Who registered it is never said; the person may
    ask its owners to join (``people.ask_to_join``)."""

    def __init__(self, tax_code: str):
        super().__init__(tax_code)
        self.tax_code = tax_code


def create_business(*, session: Session, owner: User, form: Mapping[str, str]) -> Business:
    """Register a business with ``owner`` as its first owner; AlreadyRegistered for a known tax code
    (also when another request registers it at the same moment: the unique constraint decides)."""
    values = parse_form(form)
    if find_by_tax_code(session, values["tax_code"]) is not None:
        raise AlreadyRegistered(values["tax_code"])
    business = Business(**values, parent_id=_parent_id(session, values["tax_code"]))
    session.add(business)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AlreadyRegistered(values["tax_code"]) from None
    session.add(BusinessMember(business_id=business.id, user_id=owner.id, role="owner"))  # type: ignore[arg-type]
    session.commit()
    session.refresh(business)
    return business


def find_by_tax_code(session: Session, tax_code: str) -> Business | None:
    return session.exec(select(Business).where(Business.tax_code == tax_code)).first()


def _parent_id(session: Session, tax_code: str) -> int | None:
    """A branch (MST-xxx) is linked to its parent when the parent is registered."""
    if len(tax_code) != 14:
        return None
    parent = find_by_tax_code(session, tax_code[:10])
    return None if parent is None else parent.id


def update_business(*, session: Session, business: Business, form: Mapping[str, str]) -> Business:
    """Change a profile. Its closed rounds keep the ward, sector and size they were closed with."""
    values = parse_form(form)
    if values["tax_code"] != business.tax_code and find_by_tax_code(session, values["tax_code"]) is not None:
        raise FormErrors({"tax_code": N_("This tax code belongs to another registered business.")})
    for key, value in values.items():
        setattr(business, key, value)
    business.parent_id = _parent_id(session, business.tax_code)
    session.add(business)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise FormErrors({"tax_code": N_("This tax code belongs to another registered business.")}) from None
    return business
