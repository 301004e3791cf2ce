"""Consent per purpose (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): what a person agreed to, in which
text version and language, and when; withdrawn from the account page. Never pre-ticked.

Purposes:

* ``service``: taking the assessment and keeping its results for the business. The service cannot run
  without it: it is asked at sign-up, and withdrawing it means deleting the account (assessment/privacy.py).
* ``cohort``: sharing a business's progress with one course's trainers; asked at joining, per course,
  withdrawn by leaving the course.
* ``statistics``: counting the person's businesses in the department's anonymous city statistics
  (``STATISTICS_BUSINESSES`` is the one definition the city aggregates filter on).
* ``reminders``: reminder e-mails from the trainers of the person's courses.

A consent is a row; withdrawing stamps it, and consenting again adds a new row, so the history stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlmodel import Session, col

from assessment.city import summary
from assessment.messages import N_
from assessment.models import CONSENT_PURPOSES, BusinessMember, Consent, User, utcnow


@dataclass(frozen=True)
class Text:
    version: str
    text: str  # a message id: shown in the reader's language
    required: bool = False


TEXTS: dict[str, Text] = {
    "service": Text("service-1", N_(
        "I agree that the service keeps my account and the answers and results of my business's "
        "assessments, to show them to me and to the people of my business. (Needed for the service.)"),
        required=True),
    "cohort": Text("cohort-consent-1", N_(
        "The course's trainers will see this business's name, ward, sector and size class, how far "
        "its current assessment is, and the results of the rounds of this questionnaire it closed "
        "from one year before the course starts until it leaves the course; never its answers. They "
        "can send reminders, which you can turn off. You can leave at any time.")),
    "statistics": Text("statistics-1", N_(
        "My business's results may be counted, without its name, tax code or answers, in the "
        "department's anonymous statistics of the city (only in groups of at least 5 businesses).")),
    "reminders": Text("reminders-1", N_(
        "The trainers of my courses may send me reminder e-mails.")),
}
assert set(TEXTS) == set(CONSENT_PURPOSES)
OPTIONAL_AT_SIGNUP = ("statistics", "reminders")


def give(*, session: Session, user: User, purpose: str, language: str, cohort_id: int | None = None,
         business_id: int | None = None, now: datetime | None = None) -> Consent:
    """Record a consent (the caller commits, with whatever it allows); a live one is not repeated."""
    if purpose not in TEXTS:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    live = _live(session, user.id, purpose, cohort_id)  # type: ignore[arg-type]
    if live:
        return live[0]
    row = Consent(user_id=user.id, purpose=purpose, cohort_id=cohort_id, business_id=business_id,  # type: ignore[arg-type]
                  text_version=TEXTS[purpose].version, language=language if language in ("vi", "en") else "vi",
                  given_at=now or utcnow())
    session.add(row)
    _counted_changed(session, purpose)
    return row


def withdraw(*, session: Session, user_id: int, purpose: str, cohort_id: int | None = None,
             now: datetime | None = None) -> int:
    """Stamp the live consents of a purpose (of one course for "cohort") withdrawn; the caller commits."""
    rows = _live(session, user_id, purpose, cohort_id)
    for row in rows:
        row.withdrawn_at = now or utcnow()
        session.add(row)
    if rows:
        _counted_changed(session, purpose)
    return len(rows)


def _counted_changed(session: Session, purpose: str) -> None:
    """A statistics consent changes who the city's figures count: their cache no longer holds."""
    if purpose == "statistics":
        summary.bump_all(session.connection())


def _live(session: Session, user_id: int, purpose: str, cohort_id: int | None) -> list[Consent]:
    statement = select(Consent).where(col(Consent.user_id) == user_id, col(Consent.purpose) == purpose,
                                      col(Consent.withdrawn_at).is_(None))
    if cohort_id is not None:
        statement = statement.where(col(Consent.cohort_id) == cohort_id)
    return list(session.exec(statement).scalars())  # type: ignore[call-overload]


def of(session: Session, user_id: int) -> list[Consent]:
    """Every consent of a person, the live and the withdrawn, newest first."""
    return list(session.exec(select(Consent).where(col(Consent.user_id) == user_id)  # type: ignore[call-overload]
                             .order_by(col(Consent.given_at).desc(), col(Consent.id).desc())).scalars())


def has(session: Session, user_id: int, purpose: str) -> bool:
    return bool(_live(session, user_id, purpose, None))


def has_live(user_column: Any, purpose: str) -> Any:
    """A condition for a query: the person in ``user_column`` has a live consent of ``purpose`` (a
    correlated EXISTS, so one query lists those who agreed)."""
    return exists().where(Consent.user_id == user_column, Consent.purpose == purpose,  # type: ignore[arg-type]
                          col(Consent.withdrawn_at).is_(None))


#: The businesses the city statistics may count: one of its owners consents (the one definition).
STATISTICS_BUSINESSES = select(BusinessMember.business_id).where(  # type: ignore[call-overload]
    BusinessMember.role == "owner", has_live(BusinessMember.user_id, "statistics"))
