"""Taking an assessment: pages, autosave, completeness, and the frozen submission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from assessment import accounts, db
from assessment.db import upsert
from assessment.messages import N_, NotAllowed
from assessment.models import Answer, Assessment, Business, DimensionResult, User, WebSession, utcnow
from questionnaires import loader
from questionnaires.schema import Dimension, Instrument, Question
from scoring import NO_LEVEL, Scores, ScoringModel, compile_instrument, score


@cache
def model_for(instrument_id: str, version: str) -> ScoringModel:
    return compile_instrument(loader.get(instrument_id, version).export())


def instrument_of(assessment: Assessment) -> Instrument:
    return loader.get(assessment.instrument_id, assessment.instrument_version)


@dataclass(frozen=True)
class Page:
    number: int
    dimension: Dimension
    questions: list[Question]


def applicable(instrument: Instrument, business: Business) -> list[Question]:
    return [q for q in instrument.questions if q.applies_to.applies(business.vsic_section, business.size_class)]


def pages(instrument: Instrument, business: Business) -> list[Page]:
    """One page per dimension, with only the questions asked of this business."""
    asked = applicable(instrument, business)
    out = []
    for dimension in instrument.dimensions:
        questions = [q for q in asked if q.dimension == dimension.id]
        if questions:
            out.append(Page(len(out), dimension, questions))
    return out


def start(*, session: Session, business: Business, instrument_id: str) -> Assessment:
    try:
        instrument = loader.latest(instrument_id)
    except KeyError:
        raise NotAllowed(N_("Unknown questionnaire.")) from None
    assessment = Assessment(business_id=business.id, instrument_id=instrument.id,
                            instrument_version=instrument.version)
    session.add(assessment)
    session.commit()
    session.refresh(assessment)
    return assessment


def answers_of(*, session: Session, assessment: Assessment) -> dict[str, str]:
    rows = session.exec(select(Answer).where(Answer.assessment_id == assessment.id))
    return {a.question_id: a.value for a in rows}


def answer_value(question: Question, chosen: list[str]) -> str | None:
    """The stored form of an answer, checked against the question; None clears it."""
    chosen = [c.strip() for c in chosen if c.strip()]
    if not chosen:
        return None
    if chosen == ["na"]:
        if not question.allow_na:
            raise NotAllowed(N_("'Not applicable' is not an answer to this question."))
        return "na"
    if len(set(chosen)) != len(chosen) or (question.type == "single" and len(chosen) > 1):
        raise NotAllowed(N_("Choose one answer."))
    unknown = [c for c in chosen if question.option(c) is None]
    if unknown:
        raise NotAllowed(N_("Unknown answer."))
    order = [o.id for o in question.options]
    return "|".join(sorted(chosen, key=order.index))


# SQLite's save statements (PostgreSQL's are in assessment.db), built once (building one costs more
# than running it), on the tables rather than the ORM classes: nothing in the session needs these rows.
_ASSESSMENT, _ANSWER = Assessment.__table__, Answer.__table__  # type: ignore[attr-defined]
COUNT_ANSWERED = select(func.count()).select_from(_ANSWER).where(
    _ANSWER.c.assessment_id == bindparam("assessment_id"),
    _ANSWER.c.question_id.in_(bindparam("asked", expanding=True)),
)
# Count a draft's answers; no row back means it was submitted.
COUNT_IN_DRAFT = select(COUNT_ANSWERED.scalar_subquery()).select_from(_ASSESSMENT).where(
    _ASSESSMENT.c.id == bindparam("assessment_id"), _ASSESSMENT.c.status == "draft")
# Touch a draft and count its answers in one round trip; no row back means it was submitted.
TOUCH_DRAFT_AND_COUNT = update(_ASSESSMENT).where(
    _ASSESSMENT.c.id == bindparam("assessment_id"), _ASSESSMENT.c.status == "draft",
).values(updated_at=bindparam("now")).returning(COUNT_ANSWERED.scalar_subquery())


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / max(self.total, 1))


def progress(instrument: Instrument, business: Business, answers: dict[str, str]) -> Progress:
    asked = applicable(instrument, business)
    return Progress(sum(1 for q in asked if q.id in answers), len(asked))


SUBMITTED = N_("This assessment is submitted and can no longer change.")


def checked_answer(
    assessment: Assessment | DraftRef, business: Business | DraftRef, question_id: str, chosen: list[str]
) -> tuple[str | None, list[str]]:
    """The stored form of an answer (None clears it) and the ids of the questions asked of this
    business, or NotAllowed when the answer cannot be saved."""
    if assessment.status != "draft":
        raise NotAllowed(SUBMITTED)
    instrument = instrument_of(assessment)
    question = instrument.question(question_id)
    if question is None or not question.applies_to.applies(business.vsic_section, business.size_class):
        raise NotAllowed(N_("Unknown question."))
    return answer_value(question, chosen), asked_ids(instrument, business.vsic_section, business.size_class)


def save_answer(
    *, session: Session, assessment: Assessment | DraftRef, business: Business | DraftRef, question_id: str,
    chosen: list[str],
) -> Progress:
    """Save (or clear) one answer at once, and say how far the owner now is.

    Saving the same answer again writes nothing. A save that races a submit either lands before the
    submission claims the assessment (``submit`` reads the answers only after its claim) or writes
    nothing and is refused: a submitted assessment never changes. The database counts the progress
    in the same transaction, so a save loads no answers (on PostgreSQL a save that waited for another
    save of the same assessment counts as of its start; one page sends its saves one at a time).
    On PostgreSQL it is one statement (``db.save_answer_in_one_statement``); elsewhere, the answer,
    then the draft's timestamp or count guarded by ``status = 'draft'``, in one transaction.
    """
    if db.is_postgresql(session):
        try:
            with db.driver_cursor_of(session) as cursor:
                progress = _save_in_one_statement(cursor, assessment, business, question_id, chosen)
        except NotAllowed:
            session.rollback()
            raise
        session.commit()
        return progress
    value, asked = checked_answer(assessment, business, question_id, chosen)
    now = utcnow()
    if value is None:
        changed = session.exec(delete(Answer).where(  # type: ignore[call-overload]
            Answer.assessment_id == assessment.id, Answer.question_id == question_id)).rowcount > 0
    else:
        changed = upsert(session, Answer, {"assessment_id": assessment.id, "question_id": question_id,
                                           "value": value, "updated_at": now},
                         ["assessment_id", "question_id"], compare=["value"])
    params = {"assessment_id": assessment.id, "asked": asked, "now": now}
    connection = session.connection()  # Core statements: none of the ORM's execution steps
    done = connection.execute(TOUCH_DRAFT_AND_COUNT if changed else COUNT_IN_DRAFT, params).scalar()
    if done is None:  # submitted by another request a moment ago
        session.rollback()
        raise NotAllowed(SUBMITTED)
    session.commit()
    return Progress(done, len(asked))


def _save_in_one_statement(
    cursor: Any, assessment: Assessment | DraftRef, business: Business | DraftRef, question_id: str,
    chosen: list[str],
) -> Progress:
    """PostgreSQL's save, on a driver cursor (see ``db.driver_cursor``)."""
    value, asked = checked_answer(assessment, business, question_id, chosen)
    done = db.save_answer_in_one_statement(cursor, assessment_id=assessment.id, question_id=question_id,
                                           value=value, asked=asked, now=utcnow())
    if done is None:  # submitted by another request a moment ago
        raise NotAllowed(SUBMITTED)
    return Progress(done, len(asked))


def asked_ids(instrument: Instrument, vsic_section: str, size_class: str) -> list[str]:
    """The ids of the questions asked of a business of this sector and size (every autosave counts them)."""
    return list(_asked_ids(instrument.id, instrument.version, vsic_section, size_class))


@cache
def _asked_ids(instrument_id: str, version: str, vsic_section: str, size_class: str) -> tuple[str, ...]:
    instrument = loader.get(instrument_id, version)
    return tuple(q.id for q in instrument.questions if q.applies_to.applies(vsic_section, size_class))


# The autosave's lookup, on the tables (plain rows cost a third of ORM objects, measured): the
# login's user and, when that user owns it, the assessment and its business. Outer joins, so a live
# login asking for somebody else's id still names its user.
_USER, _BUSINESS, _WEB_SESSION = User.__table__, Business.__table__, WebSession.__table__  # type: ignore[attr-defined]
LOGIN_WITH_ASSESSMENT = (
    select(_USER.c.id.label("user_id"), _USER.c.role, _USER.c.language,
           _ASSESSMENT.c.id.label("assessment_id"), _ASSESSMENT.c.status, _ASSESSMENT.c.instrument_id,
           _ASSESSMENT.c.instrument_version, _BUSINESS.c.id.label("business_id"), _BUSINESS.c.vsic_section,
           _BUSINESS.c.size_class)
    .select_from(_WEB_SESSION.join(_USER, _USER.c.id == _WEB_SESSION.c.user_id)
                 .outerjoin(_ASSESSMENT, _ASSESSMENT.c.id == bindparam("assessment_id"))
                 .outerjoin(_BUSINESS, and_(_BUSINESS.c.id == _ASSESSMENT.c.business_id,
                                            _BUSINESS.c.owner_id == _USER.c.id)))
    .where(_WEB_SESSION.c.token_hash == bindparam("digest"), _WEB_SESSION.c.expires_at > bindparam("now"))
)


@dataclass(frozen=True)
class Login:
    """Who sent an autosave: what the web layer reads of a user (its role and language)."""

    id: int
    role: str
    language: str


@dataclass(frozen=True)
class DraftRef:
    """The columns of an assessment and its business that saving an answer reads (it stands in for
    both where ``save_answer``, ``checked_answer`` and ``instrument_of`` take them)."""

    id: int
    status: str
    instrument_id: str
    instrument_version: str
    vsic_section: str
    size_class: str


@dataclass(frozen=True)
class Autosave:
    """What an autosave request came to; the web layer turns it into a response."""

    user: Login | None  # None: no live login
    progress: Progress | None = None  # the answer is saved
    refusal: str | None = None  # a message id: the request makes sense but cannot be done

    @property
    def found(self) -> bool:
        """The user is an owner and owns the assessment (it was saved or refused, not unseen)."""
        return self.progress is not None or self.refusal is not None


def autosave(
    *, engine: Engine, token: str | None, assessment_id: int, question_id: str, chosen: list[str]
) -> Autosave:
    """One autosave, login and ownership checks included, on one connection of ``engine``'s pool.

    This is the request a workshop sends every few seconds per owner, so the web layer makes one
    call here (one thread hop) and the database sees as little as can be. On PostgreSQL: two
    statements on the driver itself (``db.driver_cursor``), each its own transaction: the lookup, then
    the save (a draft found by the lookup but submitted before the save is refused by the save's own
    guard). Elsewhere, in one session: the lookup, the save's one or two statements, and the commit.
    """
    digest = accounts.login_digest(token)
    if digest is None:
        return Autosave(user=None)
    lookup = {"digest": digest, "now": utcnow(), "assessment_id": assessment_id}
    if db.is_postgresql(engine):
        with db.driver_cursor(engine) as cursor:
            row = cursor.execute(db.driver_sql(LOGIN_WITH_ASSESSMENT), lookup).fetchone()
            return _autosave(row, lambda draft: _save_in_one_statement(cursor, draft, draft, question_id, chosen))
    with Session(engine, expire_on_commit=False) as session:
        row = session.connection().execute(LOGIN_WITH_ASSESSMENT, lookup).first()
        return _autosave(row, lambda draft: save_answer(session=session, assessment=draft, business=draft,
                                                        question_id=question_id, chosen=chosen))


def _autosave(row: Any, save: Callable[[DraftRef], Progress]) -> Autosave:
    """What the lookup's row (or None) and, for an owner's own assessment, the save come to."""
    if row is None:
        return Autosave(user=None)
    user = Login(row.user_id, row.role, row.language)
    if user.role != "owner" or row.business_id is None:
        return Autosave(user=user)
    draft = DraftRef(row.assessment_id, row.status, row.instrument_id, row.instrument_version,
                     row.vsic_section, row.size_class)
    try:
        return Autosave(user=user, progress=save(draft))
    except NotAllowed as exc:
        return Autosave(user=user, refusal=str(exc))


def missing(instrument: Instrument, business: Business, answers: dict[str, str]) -> list[Question]:
    return [q for q in applicable(instrument, business) if q.id not in answers]


def encode(
    instrument: Instrument, business: Business | None, answers: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (1, Q) and the applicability mask (1, Q) for one set of answers.

    Unanswered questions are coded "not applicable" with the mask off, so a partial set of answers
    (the what-if sandbox) scores what has been answered.
    """
    model = model_for(instrument.id, instrument.version)
    codes = np.array(model.na_codes, dtype=np.int64).reshape(1, -1)
    mask = np.zeros((1, model.n_questions), dtype=bool)
    for q, question in enumerate(instrument.questions):
        value = answers.get(question.id)
        asked = business is None or question.applies_to.applies(business.vsic_section, business.size_class)
        if value is None or not asked:
            continue
        codes[0, q] = model.code_of(q, value if value == "na" else value.split("|"))
        mask[0, q] = True
    return codes, mask


def score_answers(instrument: Instrument, business: Business | None, answers: dict[str, str]) -> Scores:
    codes, mask = encode(instrument, business, answers)
    return score(codes, model_for(instrument.id, instrument.version), applicable=mask, validate=False)


def submit(*, session: Session, assessment: Assessment, business: Business) -> list[Question]:
    """Freeze a complete assessment with its scores. Returns the missing questions (nothing is
    changed then); a second submit of a submitted assessment does nothing.

    The draft is claimed before the answers to score are read: the claim locks the row (SQLite: the
    database), so a save racing this submit waits, then finds no draft and is refused (on SQLite
    rolled back), and the answers scored are the answers stored with the scores. An incomplete one
    is turned away before the claim, by a read that takes no lock."""
    if assessment.status == "submitted":
        return []
    instrument = instrument_of(assessment)
    gaps = missing(instrument, business, answers_of(session=session, assessment=assessment))
    if gaps:
        return gaps
    claimed = session.exec(  # type: ignore[call-overload]
        update(Assessment)
        .where(Assessment.id == assessment.id, Assessment.status == "draft")
        .values(status="submitted", submitted_at=utcnow(), vsic_section=business.vsic_section,
                size_class=business.size_class)
    )
    if claimed.rowcount != 1:  # another request submitted it a moment ago
        session.rollback()
        return []
    answers = answers_of(session=session, assessment=assessment)
    gaps = missing(instrument, business, answers)
    if gaps:  # an answer was cleared a moment ago
        session.rollback()
        return gaps
    result = score_answers(instrument, business, answers)
    levels = instrument.levels
    session.exec(update(Assessment).where(Assessment.id == assessment.id).values(  # type: ignore[call-overload]
        overall_score=float(result.overall[0]), overall_level=levels[int(result.overall_level[0])].id))
    for d, dimension in enumerate(instrument.dimensions):
        value = float(result.dimension_scores[0, d])
        level = int(result.dimension_levels[0, d])
        session.add(DimensionResult(
            assessment_id=assessment.id, dimension_id=dimension.id,
            score=None if np.isnan(value) else value, level=None if level == NO_LEVEL else levels[level].id))
    session.commit()
    session.refresh(assessment)
    return []


def assessments_of(*, session: Session, business: Business) -> list[Assessment]:
    return list(session.exec(
        select(Assessment).where(Assessment.business_id == business.id).order_by(Assessment.id.desc())))  # type: ignore[union-attr]


OWNED_ASSESSMENT = select(Assessment, Business).join(Business, Business.id == Assessment.business_id).where(  # type: ignore[arg-type]
    Assessment.id == bindparam("assessment_id"), Business.owner_id == bindparam("owner_id"))


def owned_assessment(*, session: Session, user: User, assessment_id: int) -> tuple[Assessment, Business] | None:
    """The assessment and its business when ``user`` owns them (one query), else None."""
    row = session.exec(OWNED_ASSESSMENT, params={"assessment_id": assessment_id, "owner_id": user.id}).first()
    return None if row is None else (row[0], row[1])
