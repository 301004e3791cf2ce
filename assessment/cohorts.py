"""Cohorts (training courses): creating one, joining and leaving by code, where its members stand,
notes, agreed actions and reminders.

What a trainer may see of a member is the access policy's (``access.trainer_sees_round``): the
closed rounds of the cohort's instrument, closed from a year before the course starts until the
business left. A draft shows only how far it is (a percentage), never its answers.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from assessment import access, consent, layout
from assessment.messages import N_, FormErrors, NotAllowed
from assessment.models import (
    Answer,
    Assessment,
    AssessmentRound,
    Business,
    BusinessMember,
    Cohort,
    CohortAction,
    CohortMember,
    CohortNote,
    CohortTrainer,
    Consent,
    Reminder,
    RoundResult,
    User,
    utcnow,
)
from questionnaires import loader
from questionnaires.schema import Instrument

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a classroom screen
CODE_LENGTH = 8
#: what the owner agrees to when joining (shown in their language; its version is recorded)
CONSENT = consent.TEXTS["cohort"].text


# -- creating ---------------------------------------------------------------------------------
def parse_form(session: Session, form: Mapping[str, str]) -> dict:
    """Clean cohort values, or FormErrors with a message per wrong field."""
    errors: dict[str, str] = {}
    name = " ".join((form.get("name") or "").split())
    if not 1 <= len(name) <= 120:
        errors["name"] = N_("Enter the course name (at most 120 characters).")
    description = (form.get("description") or "").strip()
    if len(description) > 2000:
        errors["description"] = N_("Use at most 2000 characters.")
    instrument_id = form.get("instrument") or ""
    if instrument_id not in loader.bundled():
        errors["instrument"] = N_("Choose a questionnaire.")
    dates: dict[str, date] = {}
    for key in ("starts_on", "ends_on"):
        try:
            dates[key] = date.fromisoformat((form.get(key) or "").strip())
        except ValueError:
            errors[key] = N_("Enter a date.")
    if len(dates) == 2 and dates["ends_on"] < dates["starts_on"]:
        errors["ends_on"] = N_("The course cannot end before it starts.")
    co_trainers: list[User] = []
    for email in (form.get("co_trainers") or "").replace(",", " ").split():
        trainer = session.exec(select(User).where(User.email == email.strip().lower(), User.role == "trainer")).first()
        if trainer is None:
            errors["co_trainers"] = N_("Each co-trainer must be the e-mail of a trainer account.")
        else:
            co_trainers.append(trainer)
    if errors:
        raise FormErrors(errors)
    return {"name": name, "description": description, "instrument_id": instrument_id,
            "instrument_version": loader.latest(instrument_id).version, "co_trainers": co_trainers, **dates}


def create(*, session: Session, trainer: User, form: Mapping[str, str]) -> Cohort:
    """A new cohort run by ``trainer`` (and the co-trainers), with a fresh join code."""
    values = parse_form(session, form)
    co_trainers = values.pop("co_trainers")
    cohort = Cohort(**values, join_code=_free_code(session), created_by=trainer.id)
    session.add(cohort)
    session.flush()
    for person in {trainer.id: trainer, **{t.id: t for t in co_trainers}}.values():
        session.add(CohortTrainer(cohort_id=cohort.id, user_id=person.id))  # type: ignore[arg-type]
    session.commit()
    session.refresh(cohort)
    return cohort


def _free_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(Cohort.id).where(Cohort.join_code == code)).first() is None:
            return code


def trainers_of(session: Session, cohort: Cohort) -> list[User]:
    return list(session.exec(select(User).join(CohortTrainer, col(CohortTrainer.user_id) == User.id)
                             .where(CohortTrainer.cohort_id == cohort.id).order_by(col(User.id))))


def close(*, session: Session, cohort: Cohort) -> None:
    """No more joining (members and their figures stay)."""
    cohort.status = "closed"
    session.add(cohort)
    session.commit()


# -- joining ----------------------------------------------------------------------------------
def normalise_code(code: str) -> str:
    return "".join(code.split()).upper().replace("-", "")


def joinable(session: Session, code: str, *, now: datetime) -> Cohort:
    """The cohort a join code opens, or NotAllowed saying why not (unknown, closed, ended)."""
    code = normalise_code(code)
    cohort = session.exec(select(Cohort).where(Cohort.join_code == code)).first() if 0 < len(code) <= 16 else None
    if cohort is None:
        raise NotAllowed(N_("No course has this code: check it with your trainer."))
    if cohort.status != "open":
        raise NotAllowed(N_("This course is closed to new members."))
    if access.hanoi_date(now) > cohort.ends_on:
        raise NotAllowed(N_("This course has ended: its code no longer works."))
    return cohort


def join(*, session: Session, cohort: Cohort, business: Business, by: User, lang: str, now: datetime) -> CohortMember:
    """The owner ``by`` brings ``business`` into the cohort, having seen the consent text in ``lang``
    (recorded with its version). Joining again after leaving starts a new membership."""
    member = session.get(CohortMember, (cohort.id, business.id))
    if member is not None and member.left_at is None:
        return member
    if member is None:
        member = CohortMember(cohort_id=cohort.id, business_id=business.id)  # type: ignore[arg-type]
    member.joined_at, member.left_at, member.joined_by = now, None, by.id
    session.add(member)
    consent.give(session=session, user=by, purpose="cohort", language=lang, cohort_id=cohort.id,
                 business_id=business.id, now=now)
    session.commit()
    return member


def leave(*, session: Session, cohort_id: int, business: Business, now: datetime) -> None:
    member = session.get(CohortMember, (cohort_id, business.id))
    if member is None or member.left_at is not None:
        raise NotAllowed(N_("This business is not in that course."))
    member.left_at = now
    session.add(member)
    for row in session.exec(select(Consent).where(Consent.cohort_id == cohort_id, Consent.business_id == business.id,
                                                  col(Consent.withdrawn_at).is_(None))):
        row.withdrawn_at = now  # leaving withdraws the sharing this business's people agreed to
        session.add(row)
    session.commit()


def set_reminders(*, session: Session, cohort_id: int, business: Business, on: bool) -> None:
    member = session.get(CohortMember, (cohort_id, business.id))
    if member is None:
        raise NotAllowed(N_("This business is not in that course."))
    member.reminders_off = not on
    session.add(member)
    session.commit()


@dataclass(frozen=True)
class Membership:
    cohort: Cohort
    member: CohortMember
    actions: list[CohortAction]


def memberships_of(session: Session, business: Business) -> list[Membership]:
    """The courses a business is (or was) in, with the actions agreed there (for its owners)."""
    rows = session.exec(select(Cohort, CohortMember).join(CohortMember, col(CohortMember.cohort_id) == Cohort.id)
                        .where(CohortMember.business_id == business.id).order_by(col(Cohort.starts_on).desc())).all()
    actions = session.exec(select(CohortAction).where(CohortAction.business_id == business.id)
                           .order_by(col(CohortAction.due_on), col(CohortAction.id))).all()
    return [Membership(c, m, [a for a in actions if a.cohort_id == c.id]) for c, m in rows]


def mark_action(*, session: Session, business: Business, action_id: int, done: bool, now: datetime) -> None:
    action = session.get(CohortAction, action_id)
    if action is None or action.business_id != business.id:
        raise NotAllowed(N_("Unknown action."))
    action.done_at = now if done else None
    session.add(action)
    session.commit()


# -- where the members stand -------------------------------------------------------------------
@dataclass
class MemberStatus:
    business: Business
    member: CohortMember
    state: str  # "not started" | "in progress" | "submitted"
    percent: float = 0.0  # answered share of the current draft (the most advanced copy), rounded where shown
    latest: AssessmentRound | None = None  # the latest closed round the trainer may see
    current: AssessmentRound | None = None  # the round its status describes (the draft, else ``latest``)
    dimensions: dict[str, float | None] = field(default_factory=dict)  # its combined scores


STATES = (N_("not started"), N_("in progress"), N_("submitted"))


def instrument_of(cohort: Cohort) -> Instrument:
    return loader.get(cohort.instrument_id, cohort.instrument_version)


def member_statuses(session: Session, cohort: Cohort, *, section: str = "", size: str = "",
                    lookback_days: int = access.TRAINER_LOOKBACK_DAYS) -> list[MemberStatus]:
    """Each member business (current or past, filtered by VSIC section and size class) with its
    latest status for the cohort's instrument since ``lookback_days`` before the course start. Four
    queries in all, whatever the number of members."""
    statement = (select(Business, CohortMember).join(CohortMember, col(CohortMember.business_id) == Business.id)
                 .where(CohortMember.cohort_id == cohort.id).order_by(col(Business.name)))
    if section:
        statement = statement.where(Business.vsic_section == section)
    if size:
        statement = statement.where(Business.size_class == size)
    members = session.exec(statement).all()
    if not members:
        return []
    ids = [b.id for b, _ in members]
    since = datetime.combine(cohort.starts_on - timedelta(days=lookback_days), datetime.min.time(), access.HANOI)
    # open rounds, and those closed within the window: what a round shows depends on when it closed
    rounds = session.exec(select(AssessmentRound).where(
        col(AssessmentRound.business_id).in_(ids), AssessmentRound.instrument_id == cohort.instrument_id,
        or_(col(AssessmentRound.status) == "open", col(AssessmentRound.closed_at) >= since))
        .order_by(col(AssessmentRound.created_at).desc(), col(AssessmentRound.id).desc())).all()
    open_ids = [r.id for r in rounds if r.status == "open"]
    answered: dict[int, int] = {}
    if open_ids:
        counts = session.exec(select(Assessment.round_id, func.count(col(Answer.question_id)))
                              .join(Answer, col(Answer.assessment_id) == Assessment.id)
                              .where(col(Assessment.round_id).in_(open_ids))
                              .group_by(col(Assessment.round_id), col(Assessment.id))).all()
        for round_id, n in counts:
            answered[round_id] = max(answered.get(round_id, 0), int(n))
    out: list[MemberStatus] = []
    for business, member in members:
        own = [r for r in rounds if r.business_id == business.id]
        visible = [r for r in own if r.status == "closed" and r.respondents > 0 and access.trainer_sees_round(
            cohort.instrument_id, r.closed_at,
            [access.CohortSpan(cohort.instrument_id, cohort.starts_on, member.left_at)])]
        status = MemberStatus(business, member, "not started")
        if own and own[0].status == "open" and (member.left_at is None):
            instrument = loader.get(own[0].instrument_id, own[0].instrument_version)
            asked = len(layout.asked_ids(instrument, business.vsic_section, business.size_class))
            status.state, status.percent = "in progress", 100 * answered.get(own[0].id, 0) / max(asked, 1)  # type: ignore[arg-type]
            status.current = own[0]
        if visible:
            latest = max(visible, key=lambda r: (r.closed_at, r.id))
            status.latest = latest
            if status.state == "not started":
                status.state, status.current = "submitted", latest
        out.append(status)
    latest_ids = [s.latest.id for s in out if s.latest is not None]
    if latest_ids:
        scores = session.exec(select(RoundResult).where(col(RoundResult.round_id).in_(latest_ids))).all()
        by_round: dict[int, dict[str, float | None]] = {}
        for r in scores:
            by_round.setdefault(r.round_id, {})[r.dimension_id] = r.score
        for s in out:
            if s.latest is not None:
                s.dimensions = by_round.get(s.latest.id, {})  # type: ignore[arg-type]
    return out


def funnel(session: Session, cohort: Cohort, statuses: list[MemberStatus]) -> list[tuple[layout.Page, int]]:
    """For each page of the questionnaire, how many members saved at least one answer on it in the
    round their status describes (``MemberStatus.current``: what the trainer may see), so the trainer
    sees where people stop."""
    instrument = instrument_of(cohort)
    current = [s.current.id for s in statuses if s.current is not None
               and s.current.instrument_version == cohort.instrument_version]
    rows = session.exec(select(Assessment.business_id, Answer.question_id).distinct()
                        .join(Answer, col(Answer.assessment_id) == Assessment.id)
                        .where(col(Assessment.round_id).in_(current or [-1]))).all()
    page_of = {c.id: d for d, dimension in enumerate(instrument.dimensions)  # a table row's answer: its table's page
               for c in instrument.columns() if c.question.dimension == dimension.id}
    reached: dict[int, set[int]] = {}
    for business_id, question_id in rows:
        if question_id in page_of:
            reached.setdefault(page_of[question_id], set()).add(business_id)
    pages = [layout.Page(d, dimension, instrument.questions_of(dimension.id))
             for d, dimension in enumerate(instrument.dimensions)]
    return [(page, len(reached.get(page.number, set()))) for page in pages]


# -- notes, actions, reminders -------------------------------------------------------------------
def notes_of(session: Session, cohort: Cohort, business_id: int) -> list[CohortNote]:
    return list(session.exec(select(CohortNote).where(CohortNote.cohort_id == cohort.id,
                                                      CohortNote.business_id == business_id)
                             .order_by(col(CohortNote.id).desc())))


def add_note(*, session: Session, cohort: Cohort, business_id: int, author: User, text: str, private: bool) -> None:
    text = text.strip()
    if not 1 <= len(text) <= 2000:
        raise FormErrors({"note": N_("Write the note (at most 2000 characters).")})
    session.add(CohortNote(cohort_id=cohort.id, business_id=business_id, author_id=author.id, text=text,  # type: ignore[arg-type]
                           private=private))
    session.commit()


def actions_of(session: Session, cohort: Cohort, business_id: int) -> list[CohortAction]:
    return list(session.exec(select(CohortAction).where(CohortAction.cohort_id == cohort.id,
                                                        CohortAction.business_id == business_id)
                             .order_by(col(CohortAction.due_on), col(CohortAction.id))))


def add_action(*, session: Session, cohort: Cohort, business_id: int, author: User, form: Mapping[str, str]) -> None:
    text = " ".join((form.get("text") or "").split())
    dimension_id = form.get("dimension") or ""
    errors: dict[str, str] = {}
    if not 1 <= len(text) <= 500:
        errors["action"] = N_("Describe the action (at most 500 characters).")
    if dimension_id not in {d.id for d in instrument_of(cohort).dimensions}:
        errors["dimension"] = N_("Choose a dimension.")
    due: date | None = None
    if form.get("due_on"):
        try:
            due = date.fromisoformat(str(form.get("due_on")))
        except ValueError:
            errors["due_on"] = N_("Enter a date.")
    if errors:
        raise FormErrors(errors)
    session.add(CohortAction(cohort_id=cohort.id, business_id=business_id, dimension_id=dimension_id,  # type: ignore[arg-type]
                             text=text, due_on=due, created_by=author.id))
    session.commit()


def reminders_of(session: Session, cohort: Cohort) -> dict[int, list[Reminder]]:
    rows = session.exec(select(Reminder).where(Reminder.cohort_id == cohort.id).order_by(col(Reminder.sent_at)))
    out: dict[int, list[Reminder]] = {}
    for r in rows:
        out.setdefault(r.business_id, []).append(r)
    return out


def owners_to_remind(session: Session, cohort: Cohort, business_id: int) -> list[User]:
    """The business's owners who agreed to reminder e-mails, unless it turned them off for this cohort."""
    member = session.get(CohortMember, (cohort.id, business_id))
    if member is None or member.left_at is not None or member.reminders_off:
        return []
    return list(session.exec(select(User).join(BusinessMember, col(BusinessMember.user_id) == User.id).where(
        BusinessMember.business_id == business_id, BusinessMember.role == "owner",
        consent.has_live(User.id, "reminders"))))


def log_reminder(*, session: Session, cohort: Cohort, business_id: int, channel: str, by: User) -> None:
    session.add(Reminder(cohort_id=cohort.id, business_id=business_id, channel=channel, sent_by=by.id,  # type: ignore[arg-type]
                         sent_at=utcnow()))
    session.commit()


@dataclass(frozen=True)
class GroupFigures:
    """The city's figures for one instrument version (and filters): businesses counted, mean per
    dimension and overall; None means suppressed (fewer than the minimum)."""

    businesses: int
    overall: float | None
    dimensions: dict[str, float | None]


def city_figures(session: Session, cohort: Cohort, *, section: str = "", size: str = "", minimum: int) -> GroupFigures:
    """Every business's latest closed round of the cohort's instrument version in the city (one
    GROUP BY over the rounds flagged latest), suppressed below ``minimum`` businesses."""
    where: list[Any] = [col(AssessmentRound.is_latest), AssessmentRound.instrument_id == cohort.instrument_id,
             AssessmentRound.instrument_version == cohort.instrument_version]
    if section:
        where.append(AssessmentRound.vsic_section == section)
    if size:
        where.append(AssessmentRound.size_class == size)
    n, overall = session.exec(select(func.count(), func.avg(AssessmentRound.overall_score)).where(*where)).one()
    if n < minimum:
        return GroupFigures(int(n), None, {})
    scores = col(RoundResult.score)
    rows = session.exec(select(RoundResult.dimension_id, func.avg(scores), func.count(scores))
                        .join(AssessmentRound, col(AssessmentRound.id) == RoundResult.round_id).where(*where)
                        .group_by(col(RoundResult.dimension_id))).all()
    return GroupFigures(int(n), float(overall), {d: float(m) if m is not None and c >= minimum else None
                                                 for d, m, c in rows})
