"""Assessment rounds: opening one, inviting respondents, submitting a copy, closing the round.

A round is one instrument version; each person answers their own copy. Submitting a copy freezes its
scores; closing the round freezes the business's ward, sector and size class, the instrument's
content hash and the combined result (the mean of the submitted copies per dimension, then overall
and levels by the instrument's rules: docs/method.md section 8), and moves the business's
latest-round flags, the unit of every aggregate. A round with one copy and no open invitation
closes when that copy is submitted, so a business that answers alone sees its result at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from assessment import access, layout
from assessment.city import summary
from assessment.messages import N_, NotAllowed
from assessment.models import (
    Answer,
    Assessment,
    AssessmentRound,
    Business,
    BusinessMember,
    DimensionResult,
    Invitation,
    RoundResult,
    User,
    utcnow,
)
from assessment.scores import model_for, score_answers, stored_matrix
from questionnaires import loader
from questionnaires.schema import Instrument
from scoring import NO_LEVEL, Scores, combine_respondents

INVITATION_DAYS = 14
MAX_NAME = 80


def period_of(moment: datetime) -> tuple[int, int]:
    """(year * 10 + quarter, year) of a moment, in Asia/Ho_Chi_Minh."""
    local = moment.astimezone(access.HANOI)
    return local.year * 10 + (local.month - 1) // 3 + 1, local.year


def default_name(moment: datetime) -> str:
    quarter, year = period_of(moment)
    return f"{year} Q{quarter % 10}"


def instrument_of(copy: Assessment | AssessmentRound) -> Instrument:
    return loader.get(copy.instrument_id, copy.instrument_version)


def answers_of(session: Session, copy: Assessment) -> dict[str, str]:
    rows = session.exec(select(Answer.question_id, Answer.value).where(Answer.assessment_id == copy.id))
    return dict(rows.all())


def open_round(*, session: Session, business: Business, user: User, instrument_id: str, name: str = "",
               now: datetime | None = None) -> Assessment:
    """Open a round of the latest version of an instrument, with the opener's own copy."""
    try:
        instrument = loader.latest(instrument_id)
    except KeyError:
        raise NotAllowed(N_("Unknown questionnaire.")) from None
    now = now or utcnow()
    name = " ".join(name.split())[:MAX_NAME] or default_name(now)
    round_ = AssessmentRound(business_id=business.id, name=name, instrument_id=instrument.id,  # type: ignore[arg-type]
                             instrument_version=instrument.version, created_at=now)
    session.add(round_)
    session.flush()
    copy = _new_copy(session, round_, user, now)
    session.commit()
    return copy


def _new_copy(session: Session, round_: AssessmentRound, user: User, now: datetime) -> Assessment:
    copy = Assessment(round_id=round_.id, business_id=round_.business_id, respondent_id=user.id,  # type: ignore[arg-type]
                      instrument_id=round_.instrument_id, instrument_version=round_.instrument_version,
                      created_at=now, updated_at=now)
    session.add(copy)
    session.flush()
    return copy


def copies_of(session: Session, round_: AssessmentRound) -> list[tuple[Assessment, User | None, int]]:
    """Each copy of a round with its respondent and how many answers it holds."""
    counts = (select(Answer.assessment_id, func.count().label("n")).group_by(Answer.assessment_id)  # type: ignore[arg-type]
              .subquery())
    rows = session.exec(
        select(Assessment, User, func.coalesce(counts.c.n, 0))
        .outerjoin(User, User.id == Assessment.respondent_id)  # type: ignore[arg-type]
        .outerjoin(counts, counts.c.assessment_id == Assessment.id)
        .where(Assessment.round_id == round_.id).order_by(Assessment.id))  # type: ignore[arg-type]
    return [(a, u, int(n)) for a, u, n in rows]


@dataclass(frozen=True)
class RoundLine:
    """A round as the business page lists it."""

    round: AssessmentRound
    submitted: int  # copies submitted
    copies: int
    own_copy: Assessment | None  # the viewer's own copy, if they have one

    @property
    def instrument(self) -> Instrument:
        """The questionnaire (its version) the round uses, for its title: people see titles, not ids."""
        return instrument_of(self.round)

    @property
    def newer_version(self) -> bool:
        """A newer version of the questionnaire has been published since (the page says which one this is)."""
        return loader.latest(self.round.instrument_id).version != self.round.instrument_version


def rounds_of(session: Session, business: Business, viewer: User) -> list[RoundLine]:
    """The business's rounds, newest first, with their submitted and total copies and the viewer's copy."""
    submitted = func.count(case((col(Assessment.status) == "submitted", 1)))
    rows = session.exec(
        select(AssessmentRound, submitted, func.count(Assessment.id))  # type: ignore[arg-type]
        .outerjoin(Assessment, Assessment.round_id == AssessmentRound.id)  # type: ignore[arg-type]
        .where(AssessmentRound.business_id == business.id)
        .group_by(col(AssessmentRound.id)).order_by(col(AssessmentRound.id).desc())).all()
    own: dict[int | None, Assessment] = {c.round_id: c for c in session.exec(select(Assessment).where(
        Assessment.business_id == business.id, Assessment.respondent_id == viewer.id))}
    return [RoundLine(r, int(s or 0), int(n), own.get(r.id)) for r, s, n in rows]


def own_copy_in(session: Session, round_: AssessmentRound, user: User) -> Assessment | None:
    return session.exec(select(Assessment).where(
        Assessment.round_id == round_.id, Assessment.respondent_id == user.id)).first()


# -- invitations --------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(*, session: Session, round_: AssessmentRound, by: User, label: str = "",
           days: int = INVITATION_DAYS) -> str:
    """A single-use link token that makes its holder a respondent with a copy of this open round."""
    if round_.status != "open":
        raise NotAllowed(N_("This round is closed."))
    token = secrets.token_urlsafe(24)
    session.add(Invitation(business_id=round_.business_id, round_id=round_.id, token_hash=_token_hash(token),  # type: ignore[arg-type]
                           label=" ".join(label.split())[:80], created_by=by.id,
                           expires_at=utcnow() + timedelta(days=days)))
    session.commit()
    return token


def invitation_for(session: Session, token: str) -> tuple[Invitation, AssessmentRound, Business] | None:
    """A usable invitation (unused, unexpired, its round open) with its round and business."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(Invitation, AssessmentRound, Business)
        .join(AssessmentRound, AssessmentRound.id == Invitation.round_id)  # type: ignore[arg-type]
        .join(Business, Business.id == Invitation.business_id)  # type: ignore[arg-type]
        .where(Invitation.token_hash == _token_hash(token), col(Invitation.used_at).is_(None),
               Invitation.expires_at > utcnow(), AssessmentRound.status == "open")).first()
    return None if row is None else (row[0], row[1], row[2])


def accept(*, session: Session, token: str, user: User) -> Assessment:
    """Use an invitation: its holder becomes a respondent (an owner stays an owner) and gets their copy
    of the round (the one they have, if any). Single use: a second use, or one racing it, is refused."""
    if user.role != "owner":
        raise NotAllowed(N_("Only a business account can answer an assessment."))
    found = invitation_for(session, token)
    if found is None:
        raise NotAllowed(N_("This invitation link is not valid any more: ask for a new one."))
    invitation, round_, _business = found
    used = session.exec(update(Invitation).where(
        col(Invitation.id) == invitation.id, col(Invitation.used_at).is_(None))
        .values(used_at=utcnow(), used_by=user.id))
    if used.rowcount != 1:
        session.rollback()
        raise NotAllowed(N_("This invitation link is not valid any more: ask for a new one."))
    if access.member_role(session, user.id, round_.business_id) is None:
        session.add(BusinessMember(business_id=round_.business_id, user_id=user.id, role="respondent"))  # type: ignore[arg-type]
    copy = own_copy_in(session, round_, user) or _new_copy(session, round_, user, utcnow())
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise NotAllowed(N_("This invitation link is not valid any more: ask for a new one.")) from None
    return copy


def open_invitations(session: Session, round_: AssessmentRound) -> list[Invitation]:
    return list(session.exec(select(Invitation).where(
        Invitation.round_id == round_.id, col(Invitation.used_at).is_(None), Invitation.expires_at > utcnow())
        .order_by(col(Invitation.id))))


# -- submitting a copy and closing a round -------------------------------------------------------
def submit(*, session: Session, copy: Assessment, business: Business, now: datetime | None = None) -> list:
    """Freeze a complete copy with its scores. Returns the missing questions (nothing is changed
    then); a second submit of a submitted copy does nothing. Closes the round when this was its only
    copy and nobody else is invited.

    The draft is claimed before the answers to score are read: the claim locks the row (SQLite: the
    database), so a save racing this submit waits, then finds no draft and is refused, and the
    answers scored are the answers stored with the scores. An incomplete copy is turned away before
    the claim, by a read that takes no lock."""
    if copy.status == "submitted":
        return []
    now = now or utcnow()
    instrument = instrument_of(copy)
    section, size = business.vsic_section, business.size_class
    gaps = layout.missing(instrument, section, size, answers_of(session, copy))
    if gaps:
        return gaps
    role = access.member_role(session, copy.respondent_id, business.id) if copy.respondent_id else None  # type: ignore[arg-type]
    claimed = session.exec(update(Assessment).where(
        col(Assessment.id) == copy.id, col(Assessment.status) == "draft").values(
        status="submitted", submitted_at=now, vsic_section=section, size_class=size, respondent_role=role))
    if claimed.rowcount != 1:  # another request submitted it a moment ago
        session.rollback()
        return []
    answers = answers_of(session, copy)
    gaps = layout.missing(instrument, section, size, answers)
    if gaps:  # an answer was cleared a moment ago
        session.rollback()
        return gaps
    result = score_answers(instrument, section, size, answers)
    session.exec(update(Assessment).where(col(Assessment.id) == copy.id).values(
        overall_score=_number(result.overall[0]), overall_level=_level_id(instrument, int(result.overall_level[0]))))
    for d, dimension in enumerate(instrument.dimensions):
        session.add(DimensionResult(assessment_id=copy.id, dimension_id=dimension.id,  # type: ignore[arg-type]
                                    score=_number(result.dimension_scores[0, d]),
                                    level=_level_id(instrument, int(result.dimension_levels[0, d]))))
    round_ = session.get(AssessmentRound, copy.round_id)
    if round_ is not None and round_.status == "open" and _answered_alone(session, round_):
        _close(session, round_, business, now)
    session.commit()
    session.refresh(copy)
    return []


def _answered_alone(session: Session, round_: AssessmentRound) -> bool:
    copies = session.exec(select(func.count()).select_from(Assessment).where(
        Assessment.round_id == round_.id)).one()
    return copies == 1 and not open_invitations(session, round_)


def close(*, session: Session, round_: AssessmentRound, business: Business, now: datetime | None = None) -> None:
    """Close an open round (its unsubmitted copies stay unsubmitted and no longer count)."""
    # a write that changes nothing but locks the row: a second close waits, then finds it closed
    claimed = session.exec(update(AssessmentRound).where(
        col(AssessmentRound.id) == round_.id, col(AssessmentRound.status) == "open").values(status="open"))
    if claimed.rowcount != 1:
        session.rollback()
        raise NotAllowed(N_("This round is closed."))
    _close(session, round_, business, now or utcnow())
    session.commit()
    session.refresh(round_)


def _close(session: Session, round_: AssessmentRound, business: Business, now: datetime) -> None:
    instrument = instrument_of(round_)
    rows = session.exec(select(DimensionResult.assessment_id, DimensionResult.dimension_id, DimensionResult.score)
                        .join(Assessment, col(Assessment.id) == DimensionResult.assessment_id)
                        .where(Assessment.round_id == round_.id, Assessment.status == "submitted")).all()
    by_copy: dict[int, dict[str, float | None]] = {}
    for copy_id, dimension_id, value in rows:
        by_copy.setdefault(copy_id, {})[dimension_id] = value
    quarter, year = period_of(now)
    values = {"status": "closed", "closed_at": now, "ward_code": business.ward_code,
              "vsic_section": business.vsic_section, "size_class": business.size_class,
              "instrument_hash": loader.content_hash(instrument), "respondents": len(by_copy),
              "closed_quarter": quarter, "closed_year": year}
    if by_copy:
        matrix = stored_matrix(instrument, by_copy.values())
        result = combine_respondents(matrix, model_for(instrument.id, instrument.version))
        values |= {"overall_score": _number(result.overall[0]),
                   "overall_level": _level_id(instrument, int(result.overall_level[0]))}
        _store_round_result(session, round_, instrument, matrix, result)
    session.exec(update(AssessmentRound).where(col(AssessmentRound.id) == round_.id).values(**values))
    session.flush()
    if by_copy:
        refresh_latest(session, round_)
        # the city's summary rows of this business for the round's quarter and year, and its cache version
        summary.refresh(session.connection(), business_id=round_.business_id, instrument_id=round_.instrument_id,
                        version=round_.instrument_version, periods=(quarter, year))


def _store_round_result(session: Session, round_: AssessmentRound, instrument: Instrument, matrix: np.ndarray,
                        result: Scores) -> None:
    has = ~np.isnan(matrix)
    for d, dimension in enumerate(instrument.dimensions):
        scored = matrix[has[:, d], d]
        session.add(RoundResult(
            round_id=round_.id, dimension_id=dimension.id, score=_number(result.dimension_scores[0, d]),  # type: ignore[arg-type]
            level=_level_id(instrument, int(result.dimension_levels[0, d])), respondents=int(scored.size),
            low=float(scored.min()) if scored.size else None, high=float(scored.max()) if scored.size else None))


def refresh_latest(session: Session, round_: AssessmentRound) -> None:
    """Mark the business's latest closed round of this instrument version: overall, in each quarter
    and in each year (by closing time, then id). Rounds without a result (no submitted copy) are not
    a unit of any aggregate."""
    same = and_(col(AssessmentRound.business_id) == round_.business_id,
                col(AssessmentRound.instrument_id) == round_.instrument_id,
                col(AssessmentRound.instrument_version) == round_.instrument_version,
                col(AssessmentRound.status) == "closed", col(AssessmentRound.respondents) > 0)
    for flag, period in (("is_latest", None), ("latest_in_quarter", AssessmentRound.closed_quarter),
                         ("latest_in_year", AssessmentRound.closed_year)):
        key = period if period is not None else AssessmentRound.id
        rows = session.exec(select(AssessmentRound.id, key).where(same)
                            .order_by(col(AssessmentRound.closed_at).desc(), col(AssessmentRound.id).desc()))
        latest: dict[object, int | None] = {}
        for round_id, key in rows:
            latest.setdefault(key if period is not None else None, round_id)
        session.exec(update(AssessmentRound).where(same).values(
            {flag: col(AssessmentRound.id).in_(list(latest.values()))}))


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _level_id(instrument: Instrument, index: int) -> str | None:
    return None if index == NO_LEVEL else instrument.levels[index].id
