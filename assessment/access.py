"""The access policy: who may do what to which object. The only place that decides it.

Every route and the autosave ask here. A lookup (one query) finds how the asking person stands to
the object (``Relation``); ``allows`` decides from that alone, so the rules are one table that unit
tests walk through role by role. What is not allowed is reported as absent: somebody else's id and a
missing id look the same (404), so ids cannot be probed.

* an **owner** of a business: its profile, its people, its rounds and every copy's results;
* a **respondent**: their own copy (answered while it is a draft of an open round), and the round's
  combined result once it is closed; nothing else of the business;
* a **trainer**: the closed rounds of the businesses in their cohorts, of the cohort's instrument,
  closed from ``TRAINER_LOOKBACK_DAYS`` before the course starts until the business left;
* the **department**: aggregates only, never one business's record (the record-level export has
  neither names nor ids, and no rare combination of its keys); an **admin**: accounts and
  configuration, no business record either;
* a **background export** (``export_job``): the department account that asked for it and the admins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from assessment import accounts
from assessment.models import (
    Assessment,
    AssessmentRound,
    Business,
    BusinessMember,
    Cohort,
    CohortMember,
    CohortTrainer,
    ExportJob,
    User,
    WebSession,
)

HANOI = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7 all year
TRAINER_LOOKBACK_DAYS = 365


class Action(StrEnum):
    VIEW_BUSINESS = "view business"  # profile, rounds, history, people
    MANAGE_BUSINESS = "manage business"  # edit, open and close rounds, invite, decide join requests
    TAKE_COPY = "take copy"  # one's own copy: its pages and review, and submitting it
    VIEW_COPY = "view copy"  # a copy's results, what-if, charts, PDF
    ANSWER = "answer"  # save answers of one's own draft copy of an open round
    VIEW_ROUND_RESULT = "view round result"  # a closed round's combined result
    RUN_COHORT = "run cohort"  # a cohort's dashboard, members, notes, actions, reminders, exports


@dataclass(frozen=True)
class Relation:
    """How one person stands to one object (a business, a round or a copy)."""

    account_role: str  # the person's account: owner (a business person), trainer, department, admin
    member_role: str | None = None  # their role in the object's business, if any
    own_copy: bool = False  # the copy is theirs
    copy_in_round: bool = False  # they have a copy in the round
    trainer_sees: bool = False  # a cohort of theirs grants this round (``trainer_sees_round``), or they run
    # the cohort asked for
    copy_draft: bool = False  # the copy is a draft
    round_open: bool = False  # the round is open


def allows(relation: Relation, action: Action) -> bool:
    """The rule table. Business membership counts only for business accounts (role owner)."""
    member = relation.member_role if relation.account_role == "owner" else None
    owner = member == "owner"
    if action in (Action.VIEW_BUSINESS, Action.MANAGE_BUSINESS):
        return owner
    if action is Action.TAKE_COPY:
        return member is not None and relation.own_copy
    if action is Action.VIEW_COPY:
        return owner or (member is not None and relation.own_copy)
    if action is Action.ANSWER:
        return member is not None and relation.own_copy and relation.copy_draft and relation.round_open
    if action is Action.RUN_COHORT:
        return relation.account_role == "admin" or (relation.account_role == "trainer" and relation.trainer_sees)
    if action is Action.VIEW_ROUND_RESULT:
        if relation.round_open:
            return False
        if relation.account_role == "trainer":
            return relation.trainer_sees
        return owner or (member is not None and relation.copy_in_round)
    raise ValueError(f"unknown action {action!r}")


@dataclass(frozen=True)
class CohortSpan:
    """What a trainer's cohort says about one member business."""

    instrument_id: str
    starts_on: date
    left_at: datetime | None


def hanoi_date(moment: datetime) -> date:
    """The date of a moment in Hanoi: the calendar every window, quarter and "today" here uses."""
    return moment.astimezone(HANOI).date()


def trainer_sees_round(instrument_id: str, closed_at: datetime | None, spans: Sequence[CohortSpan]) -> bool:
    """A closed round of the cohort's instrument, closed on or after ``TRAINER_LOOKBACK_DAYS`` before
    the course start (a date in Hanoi) and before the business left the cohort."""
    if closed_at is None:
        return False
    closed_on = hanoi_date(closed_at)
    return any(
        span.instrument_id == instrument_id
        and closed_on >= span.starts_on - timedelta(days=TRAINER_LOOKBACK_DAYS)
        and (span.left_at is None or closed_at <= span.left_at)
        for span in spans)


# -- lookups: one query each -------------------------------------------------------------------
_USER, _SESSION = User.__table__, WebSession.__table__  # type: ignore[attr-defined]
_COPY, _ROUND = Assessment.__table__, AssessmentRound.__table__  # type: ignore[attr-defined]
_BUSINESS, _MEMBER = Business.__table__, BusinessMember.__table__  # type: ignore[attr-defined]



def _copy_lookup(*, by_login: bool) -> Any:
    """A person and, when the id names a copy, that copy with what the policy and a save need: the
    person's role in its business and the round's state. Outer joins, so a person asking for an id that
    is not theirs is still found. ``by_login``: the person is found by a live login's token digest
    (the autosave, which has looked nobody up yet); otherwise by user id (the copy routes)."""
    people = (_SESSION.join(_USER, _USER.c.id == _SESSION.c.user_id) if by_login else _USER)
    statement = (
        select(_USER.c.id.label("user_id"), _USER.c.role, _USER.c.language,  # type: ignore[call-overload]
               _COPY.c.id.label("copy_id"), _COPY.c.status, _COPY.c.respondent_id, _COPY.c.instrument_id,
               _COPY.c.instrument_version, _COPY.c.business_id, _BUSINESS.c.vsic_section, _BUSINESS.c.size_class,
               _MEMBER.c.role.label("member_role"), _ROUND.c.status.label("round_status"))
        .select_from(
            people.outerjoin(_COPY, _COPY.c.id == bindparam("copy_id"))
            .outerjoin(_BUSINESS, _BUSINESS.c.id == _COPY.c.business_id)
            .outerjoin(_ROUND, _ROUND.c.id == _COPY.c.round_id)
            .outerjoin(_MEMBER, and_(_MEMBER.c.business_id == _COPY.c.business_id,
                                     _MEMBER.c.user_id == _USER.c.id))))
    if by_login:
        return statement.where(_SESSION.c.token_hash == bindparam("digest"), accounts.LIVE_LOGIN)
    return statement.where(_USER.c.id == bindparam("user_id"))


LOGIN_AND_COPY = _copy_lookup(by_login=True)
USER_AND_COPY = _copy_lookup(by_login=False)


def copy_relation(row: Any) -> Relation | None:
    """The relation a ``LOGIN_AND_COPY`` row describes; None when the id named no copy."""
    if row.copy_id is None:
        return None
    return Relation(account_role=row.role, member_role=row.member_role, own_copy=row.respondent_id == row.user_id,
                    copy_draft=row.status == "draft", round_open=row.round_status == "open")


def member_role(session: Session, user_id: int | None, business_id: int) -> str | None:
    """The person's role in the business (owner or respondent), None for a non-member."""
    return session.exec(select(_MEMBER.c.role).where(
        _MEMBER.c.business_id == business_id, _MEMBER.c.user_id == user_id)).first()


def business_for(session: Session, user: User, business_id: int, action: Action) -> Business | None:
    """The business when ``user`` may do ``action`` to it; None otherwise."""
    business = session.get(Business, business_id)
    if business is None:
        return None
    relation = Relation(account_role=user.role, member_role=member_role(session, user.id, business_id))
    return business if allows(relation, action) else None


def copy_for(session: Session, user: User, copy_id: int, action: Action) -> tuple[Assessment, Business] | None:
    """The copy and its business when ``user`` may do ``action`` to it; None otherwise."""
    row = session.connection().execute(USER_AND_COPY, {"user_id": user.id, "copy_id": copy_id}).first()
    relation = None if row is None else copy_relation(row)
    if row is None or relation is None or not allows(relation, action):
        return None
    copy, business = session.get(Assessment, copy_id), session.get(Business, row.business_id)
    return None if copy is None or business is None else (copy, business)


def round_for(
    session: Session, user: User, round_id: int, action: Action
) -> tuple[AssessmentRound, Business] | None:
    """The round and its business when ``user`` may do ``action`` to it; None otherwise."""
    round_ = session.get(AssessmentRound, round_id)
    if round_ is None:
        return None
    role = member_role(session, user.id, round_.business_id)
    has_copy = role is not None and session.exec(select(_COPY.c.id).where(
        _COPY.c.round_id == round_id, _COPY.c.respondent_id == user.id)).first() is not None
    sees = user.role == "trainer" and trainer_sees_round(
        round_.instrument_id, round_.closed_at, cohort_spans(session, user, round_.business_id))
    relation = Relation(account_role=user.role, member_role=role, copy_in_round=has_copy, trainer_sees=sees,
                        round_open=round_.status == "open")
    if not allows(relation, action):
        return None
    business = session.get(Business, round_.business_id)
    return None if business is None else (round_, business)


def cohort_spans(session: Session, trainer: User, business_id: int) -> list[CohortSpan]:
    """The cohorts ``trainer`` runs that ``business_id`` is (or was) a member of."""
    rows = session.exec(
        select(col(Cohort.instrument_id), col(Cohort.starts_on), col(CohortMember.left_at))
        .join(CohortMember, col(CohortMember.cohort_id) == Cohort.id)
        .join(CohortTrainer, col(CohortTrainer.cohort_id) == Cohort.id)
        .where(CohortMember.business_id == business_id, CohortTrainer.user_id == trainer.id)).all()
    return [CohortSpan(*row) for row in rows]


def cohort_for(session: Session, user: User, cohort_id: int) -> Cohort | None:
    """The cohort when ``user`` runs it (a trainer of it) or is an admin; None otherwise."""
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        return None
    runs = user.role == "trainer" and session.get(CohortTrainer, (cohort_id, user.id)) is not None
    return cohort if allows(Relation(account_role=user.role, trainer_sees=runs), Action.RUN_COHORT) else None


def cohorts_for(session: Session, user: User) -> list[Cohort]:
    """The cohorts ``user`` runs; every cohort for an admin; none for anybody else."""
    statement = select(Cohort).order_by(col(Cohort.starts_on).desc(), col(Cohort.id).desc())
    if user.role == "trainer":
        statement = statement.join(CohortTrainer, col(CohortTrainer.cohort_id) == Cohort.id).where(
            CohortTrainer.user_id == user.id)
    elif user.role != "admin":
        return []
    return list(session.exec(statement))


def member_of_cohort(session: Session, cohort: Cohort, business_id: int) -> CohortMember | None:
    """A business's membership of a cohort (also after it left: its earlier rounds stay visible)."""
    return session.get(CohortMember, (cohort.id, business_id))


# -- lists: what a person's pages list -----------------------------------------------------------
def businesses_of(session: Session, user: User) -> list[Business]:
    """The businesses ``user`` owns."""
    if user.role != "owner":
        return []
    return list(session.exec(select(Business).join(BusinessMember, BusinessMember.business_id == Business.id)  # type: ignore[arg-type]
                             .where(BusinessMember.user_id == user.id, BusinessMember.role == "owner")
                             .order_by(col(Business.id))))


def own_copies(session: Session, user: User) -> list[tuple[Assessment, AssessmentRound, Business]]:
    """The copies ``user`` answers as a respondent (not those of businesses they own: those are listed
    on the business page), newest first."""
    if user.role != "owner":
        return []
    rows = session.exec(
        select(Assessment, AssessmentRound, Business)
        .join(AssessmentRound, col(AssessmentRound.id) == Assessment.round_id)
        .join(Business, col(Business.id) == Assessment.business_id)
        .join(BusinessMember, and_(col(BusinessMember.business_id) == Business.id,
                                   col(BusinessMember.user_id) == user.id))
        .where(Assessment.respondent_id == user.id, BusinessMember.role == "respondent")
        .order_by(Assessment.id.desc()))  # type: ignore[union-attr]
    return [(a, r, b) for a, r, b in rows]


STAFF_EXPORT_ROLES = ("department", "admin")


def export_jobs_for(session: Session, user: User) -> list[ExportJob]:
    """The background exports ``user`` may see, newest first: an admin all, a department account its own."""
    if user.role not in STAFF_EXPORT_ROLES:
        return []
    query = select(ExportJob).order_by(col(ExportJob.created_at).desc(), col(ExportJob.id).desc())
    if user.role != "admin":
        query = query.where(col(ExportJob.requested_by) == user.id)
    return list(session.exec(query).all())


def export_job_for(session: Session, user: User, job_id: int) -> ExportJob | None:
    """One background export, if ``user`` may see it (``export_jobs_for``'s rule)."""
    if user.role not in STAFF_EXPORT_ROLES:
        return None
    job = session.get(ExportJob, job_id)
    if job is None or (user.role != "admin" and job.requested_by != user.id):
        return None
    return job
