"""Small builders for tests: people, businesses, complete assessments."""

from __future__ import annotations

from assessment import accounts, answers, businesses, consent, layout, people, rounds
from assessment.models import Assessment, Business, User

PASSWORD = "correct-horse-battery"
BUSINESS_FORM = {
    "name": "Công ty TNHH Đồng Xuân", "tax_code": "0100233488", "ward_code": "00070", "vsic_section": "G",
    "employees": "8", "revenue_bn": "5", "capital_bn": "2",
}
# valid 10-digit tax codes for further businesses (check digits computed)
TAX_CODES = ("0100109106", "0101243150", "0102721191", "0104128565", "0105987432", "0106869738", "0107001729")


def make_owner(session, email: str = "owner@example.vn", role: str = "owner",
               consents: tuple[str, ...] = ("service", "statistics")) -> User:
    """An account; an owner agreed, as at sign-up, to the service and to the city statistics."""
    user = accounts.create_user(session=session, email=email, password=PASSWORD, role=role, language="en")
    if role == "owner" and consents:
        for purpose in consents:
            consent.give(session=session, user=user, purpose=purpose, language="en")
        session.commit()
    return user


def make_business(session, owner: User, **overrides) -> Business:
    """A business of ``owner`` (a tax code not registered yet unless one is given)."""
    if "tax_code" not in overrides:
        free = (c for c in (BUSINESS_FORM["tax_code"], *TAX_CODES) if businesses.find_by_tax_code(session, c) is None)
        overrides["tax_code"] = next(free)
    return businesses.create_business(session=session, owner=owner, form={**BUSINESS_FORM, **overrides})


def start(session, business: Business, owner: User, instrument_id: str = "quick-check", **kwargs) -> Assessment:
    """A new round of ``business`` with ``owner``'s own copy (returned)."""
    return rounds.open_round(session=session, business=business, user=owner, instrument_id=instrument_id, **kwargs)


def answer_all(session, assessment: Assessment, business: Business, pick: int | None = 0) -> dict[str, str]:
    """Answer every asked column (a question, or a table's row) with option index ``pick`` (clamped), or
    the best option (None)."""
    instrument = rounds.instrument_of(assessment)
    chosen = {}
    for column in layout.asked_columns(instrument, business.vsic_section, business.size_class):
        options = sorted(column.question.options, key=lambda o: o.score)
        option = options[-1] if pick is None else options[min(pick, len(options) - 1)]
        chosen[column.id] = option.id
        answers.save(session=session, draft=assessment, business=business, question_id=column.id,
                     chosen=[option.id])
    return chosen


def submitted(session, business: Business, owner: User | None = None, instrument_id: str = "quick-check",
              pick: int | None = 0, **kwargs) -> Assessment:
    """A round answered by one person (the business's first owner by default), submitted and so closed."""
    if owner is None:
        owner = owner_of(session, business)
    assessment = start(session, business, owner, instrument_id)
    answer_all(session, assessment, business, pick)
    assert rounds.submit(session=session, copy=assessment, business=business, **kwargs) == []
    session.refresh(assessment)
    return assessment


def login(client, email: str = "owner@example.vn", password: str = PASSWORD):
    return client.submit("/login", {"email": email, "password": password})


def owner_of(session, business: Business) -> User:
    return next(u for m, u in people.members_of(session, business) if m.role == "owner")


def answered(session, business: Business, chosen: dict[str, list[str]], owner: User | None = None,
             instrument_id: str = "quick-check", now=None, submit: bool = True) -> Assessment:
    """A round of ``business`` opened at ``now`` with the ``chosen`` options saved in its owner's copy,
    then (``submit``) submitted and so closed at ``now``."""
    if owner is None:
        owner = owner_of(session, business)
    assessment = start(session, business, owner, instrument_id, now=now)
    for question_id, options in chosen.items():
        answers.save(session=session, draft=assessment, business=business, question_id=question_id, chosen=options)
    if submit:
        assert rounds.submit(session=session, copy=assessment, business=business, now=now) == []
    session.refresh(assessment)
    return assessment
