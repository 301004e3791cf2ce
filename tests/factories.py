"""Small builders for tests: people, businesses, complete assessments."""

from __future__ import annotations

from assessment import accounts, assessments, businesses
from assessment.models import Assessment, Business, User

PASSWORD = "correct-horse-battery"
BUSINESS_FORM = {
    "name": "Công ty TNHH Đồng Xuân", "tax_code": "0100233488", "ward_code": "00070", "vsic_section": "G",
    "employees": "8", "revenue_bn": "5", "capital_bn": "2",
}


def make_owner(session, email: str = "owner@example.vn", role: str = "owner") -> User:
    return accounts.create_user(session=session, email=email, password=PASSWORD, role=role, language="en")


def make_business(session, owner: User, **overrides) -> Business:
    return businesses.create_business(session=session, owner=owner, form={**BUSINESS_FORM, **overrides})


def answer_all(session, assessment: Assessment, business: Business, pick: int | None = 0) -> dict[str, str]:
    """Answer every asked question with option index ``pick`` (clamped), or the best option (None)."""
    instrument = assessments.instrument_of(assessment)
    chosen = {}
    for q in assessments.applicable(instrument, business):
        options = sorted(q.options, key=lambda o: o.score)
        option = options[-1] if pick is None else options[min(pick, len(options) - 1)]
        chosen[q.id] = option.id
        assessments.save_answer(session=session, assessment=assessment, business=business, question_id=q.id,
                                chosen=[option.id])
    return chosen


def submitted(session, business: Business, instrument_id: str = "quick-check", pick: int | None = 0) -> Assessment:
    assessment = assessments.start(session=session, business=business, instrument_id=instrument_id)
    answer_all(session, assessment, business, pick)
    assert assessments.submit(session=session, assessment=assessment, business=business) == []
    session.refresh(assessment)
    return assessment


def login(client, email: str = "owner@example.vn", password: str = PASSWORD):
    return client.submit("/login", {"email": email, "password": password})
