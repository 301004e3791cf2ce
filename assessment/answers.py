"""Saving answers: the only code that writes the ``answer`` table (a restore of a backup aside).

An answer is checked against its question, then written (or cleared) with the draft touched and the
progress counted, in as few round trips as each database allows. The two dialects' statements sit
side by side here, built from the same table objects:

* **PostgreSQL**: one data-modifying ``WITH`` statement (``PG_SAVE``, ``PG_CLEAR``) that locks the draft
  row, writes the answer only when it differs, touches the draft only then and counts the answers,
  run on psycopg itself (``db.driver_cursor``) in autocommit mode for the autosave;
* **SQLite** (no data-modifying ``WITH``): the upsert or delete, then touch-and-count, in one
  transaction (no network round trips there).

A save racing a submit either lands before the submission claims the copy (``submission.submit``
reads the answers only after its claim) or writes nothing and is refused: a submitted copy never
changes. Saving the same answer again writes nothing, not even a timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, any_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assessment import access, accounts, db, layout
from assessment.messages import N_, Message, NotAllowed
from assessment.models import Answer, Assessment, utcnow
from assessment.scores import NOTHING_TICKED
from assessment.settings import Settings
from questionnaires import loader
from questionnaires.schema import Question

SUBMITTED = N_("This assessment is submitted and can no longer change.")
ROUND_CLOSED = N_("This round is closed: its answers can no longer change.")
_ANSWER, _COPY = Answer.__table__, Assessment.__table__  # type: ignore[attr-defined]


EXCLUSIVE = N_("“None of these” (or another answer that excludes the rest) cannot be ticked together with "
               "other answers.")
TOO_FEW = N_("Tick at least %(n)d of the answers.")


def answer_value(question: Question, chosen: list[str]) -> str | None:
    """The stored form of an answer, checked against the question (or, for a table row, its table);
    None clears it. A checklist sends ``NOTHING_TICKED`` ("-") along with its ticks, so unticking every
    box saves "nothing ticked" (an answer, unless ``min_select``) rather than clearing the answer."""
    chosen = [c.strip() for c in chosen if c.strip()]
    if not chosen:
        return None
    if NOTHING_TICKED in chosen and question.type != "multi":
        raise NotAllowed(N_("Unknown answer."))
    ticked = [c for c in chosen if c != NOTHING_TICKED]
    if ticked == ["na"]:
        if not question.allow_na:
            raise NotAllowed(N_("'Not applicable' is not an answer to this question."))
        return "na"
    if len(set(ticked)) != len(ticked) or (question.type != "multi" and len(ticked) > 1):
        raise NotAllowed(N_("Choose one answer."))
    options = [question.option(c) for c in ticked]
    if any(o is None for o in options):
        raise NotAllowed(N_("Unknown answer."))
    if len(ticked) > 1 and any(o is not None and o.exclusive for o in options):
        raise NotAllowed(EXCLUSIVE)
    if len(ticked) < question.min_select:
        raise NotAllowed(Message(TOO_FEW, n=question.min_select))
    if not ticked:
        return NOTHING_TICKED
    order = [o.id for o in question.options]
    return "|".join(sorted(ticked, key=order.index))


@dataclass(frozen=True)
class Draft:
    """What saving an answer reads of a copy and its business."""

    id: int
    status: str
    instrument_id: str
    instrument_version: str
    vsic_section: str
    size_class: str


def checked(draft: Draft, question_id: str, chosen: list[str]) -> tuple[str | None, list[str]]:
    """The stored form of an answer (None clears it) and the ids of the columns asked of this
    business, or NotAllowed when the answer cannot be saved. ``question_id`` names a column: a
    question, or a table's row as ``<table>.<row>`` (the table's own id is not an answer)."""
    if draft.status != "draft":
        raise NotAllowed(SUBMITTED)
    instrument = loader.get(draft.instrument_id, draft.instrument_version)
    asked = layout.asked_ids(instrument, draft.vsic_section, draft.size_class)
    column = instrument.column(question_id) if question_id in asked else None
    if column is None:  # not a question, nor a row of a table, asked of this business
        raise NotAllowed(N_("Unknown question."))
    return answer_value(column.question, chosen), asked


# -- the statements ---------------------------------------------------------------------------


def _count_asked(*, array: bool) -> Any:
    """Count a copy's answers to the asked questions (``asked``: one array parameter on PostgreSQL's
    driver, an expanding list elsewhere)."""
    asked = (_ANSWER.c.question_id == any_(bindparam("asked", type_=ARRAY(String))) if array
             else _ANSWER.c.question_id.in_(bindparam("asked", expanding=True)))
    return select(func.count()).select_from(_ANSWER).where(_ANSWER.c.assessment_id == bindparam("copy_id"), asked)


_COUNT_ASKED = _count_asked(array=False)


def _upsert(dialect: Any, source: Any = None) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE the value differs (from ``source`` rows, or values)."""
    statement = dialect.insert(_ANSWER)
    if source is not None:
        statement = statement.from_select(["assessment_id", "question_id", "value", "updated_at"], source)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["assessment_id", "question_id"],
        set_={"value": excluded.value, "updated_at": excluded.updated_at},
        where=_ANSWER.c.value.is_distinct_from(excluded.value))


# SQLite: three statements in one transaction
SQLITE_UPSERT = _upsert(sqlite).values(
    assessment_id=bindparam("copy_id"), question_id=bindparam("question_id"), value=bindparam("value"),
    updated_at=bindparam("now")).execution_options(preserve_rowcount=True)
SQLITE_CLEAR = delete(_ANSWER).where(_ANSWER.c.assessment_id == bindparam("copy_id"),
                                     _ANSWER.c.question_id == bindparam("question_id"))
# count a draft's answers (no row: it was submitted); touch a draft and count, in one round trip
SQLITE_COUNT_IN_DRAFT = select(_COUNT_ASKED.scalar_subquery()).where(
    _COPY.c.id == bindparam("copy_id"), _COPY.c.status == "draft")
SQLITE_TOUCH_AND_COUNT = update(_COPY).where(_COPY.c.id == bindparam("copy_id"), _COPY.c.status == "draft").values(
    updated_at=bindparam("now")).returning(_COUNT_ASKED.scalar_subquery())


def _pg_save(write: str) -> Any:
    """One statement, so one transaction even in autocommit mode. ``draft`` locks the copy's row only
    while it is a draft, as strongly as the touch will (FOR NO KEY UPDATE: a share lock taken first
    and raised later deadlocks two saves of one copy). A submit (which updates the row) waits for this
    statement, and this statement, waiting for a submit, then finds no draft and writes nothing; two
    saves of one copy take turns on the lock (one that waited counts the answers as of its start).
    The answer is written only when it differs, and only then is the draft touched (PostgreSQL runs
    every data-modifying WITH, referenced or not). The count leaves out this question; the caller adds
    it back when it was answered."""
    draft = (select(_COPY.c.id).where(_COPY.c.id == bindparam("copy_id"), _COPY.c.status == "draft")
             .with_for_update(key_share=True).cte("draft"))
    if write == "upsert":
        source = select(draft.c.id, bindparam("question_id"), bindparam("value"), bindparam("now"))
        written = _upsert(postgresql, source).returning(_ANSWER.c.assessment_id).cte("written")
    else:
        written = delete(_ANSWER).where(_ANSWER.c.assessment_id.in_(select(draft.c.id)),
                                        _ANSWER.c.question_id == bindparam("question_id")
                                        ).returning(_ANSWER.c.assessment_id).cte("written")
    touched = (update(_COPY).where(_COPY.c.id.in_(select(written.c.assessment_id)))
               .values(updated_at=bindparam("now")).returning(_COPY.c.id).cte("touched"))
    others = _count_asked(array=True).where(_ANSWER.c.question_id != bindparam("question_id")).scalar_subquery()
    return select(exists(select(draft.c.id)).label("is_draft"), others.label("others"),
                  select(func.count()).select_from(touched).scalar_subquery().label("touched"))


PG_SAVE = _pg_save("upsert")
PG_CLEAR = _pg_save("delete")
# a clear that waited for a save of the same answer must see that save's row, which a statement whose
# snapshot predates its wait does not: so (clears are rare) lock first, then delete in the same
# transaction with a snapshot taken after the lock
PG_LOCK = select(_COPY.c.id).where(_COPY.c.id == bindparam("copy_id")).with_for_update(key_share=True)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> float:
        """The share answered, 0-100, unrounded: a page rounds it with the one rule (``|percent``)."""
        return 100 * self.done / max(self.total, 1)


def _pg_write(cursor: Any, draft: Draft, question_id: str, value: str | None, asked: list[str]) -> int | None:
    """PostgreSQL's save on a driver cursor: the answers now counted, or None when not a draft."""
    params = {"copy_id": draft.id, "question_id": question_id, "asked": asked, "now": utcnow(), "value": value}
    if value is not None:
        row = db.run_on_driver(cursor, PG_SAVE, params).fetchone()
        return row.others + 1 if row.is_draft else None
    with cursor.connection.transaction():
        db.run_on_driver(cursor, PG_LOCK, params)
        row = db.run_on_driver(cursor, PG_CLEAR, params).fetchone()
    return row.others if row.is_draft else None


def _sqlite_write(session: Session, draft: Draft, question_id: str, value: str | None, asked: list[str]) -> int | None:
    """SQLite's save in the session's transaction: the answers now counted, or None when not a draft."""
    connection = session.connection()  # Core statements: none of the ORM's execution steps
    params = {"copy_id": draft.id, "question_id": question_id, "value": value, "now": utcnow(), "asked": asked}
    changed = connection.execute(SQLITE_CLEAR if value is None else SQLITE_UPSERT, params).rowcount > 0
    return connection.execute(SQLITE_TOUCH_AND_COUNT if changed else SQLITE_COUNT_IN_DRAFT, params).scalar()


def save(*, session: Session, draft: Draft | Assessment, business: Any = None, question_id: str,
         chosen: list[str]) -> Progress:
    """Save (or, with nothing chosen, clear) one answer of a draft copy, commit, and say how far its
    respondent now is. The caller has checked access (``access.Action.ANSWER``)."""
    if isinstance(draft, Assessment):
        draft = Draft(draft.id, draft.status, draft.instrument_id, draft.instrument_version,  # type: ignore[arg-type]
                      business.vsic_section, business.size_class)
    value, asked = checked(draft, question_id, chosen)
    if db.is_postgresql(session):
        with db.driver_cursor_of(session) as cursor:
            done = _pg_write(cursor, draft, question_id, value, asked)
    else:
        done = _sqlite_write(session, draft, question_id, value, asked)
    if done is None:  # submitted by another request a moment ago
        session.rollback()
        raise NotAllowed(SUBMITTED)
    session.commit()
    return Progress(done, len(asked))


# -- the autosave ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Login:
    """Who sent an autosave: what the web layer reads of a user (its role and language)."""

    id: int
    role: str
    language: str


@dataclass(frozen=True)
class Autosave:
    """What an autosave request came to; the web layer turns it into a response."""

    user: Login | None  # None: no live login
    progress: Progress | None = None  # the answer is saved
    refusal: str | None = None  # a message id (a ``Message`` with its values): the request cannot be done

    @property
    def found(self) -> bool:
        """The copy is one the user may answer (it was saved or refused, not unseen)."""
        return self.progress is not None or self.refusal is not None


def autosave(*, engine: Engine, settings: Settings, token: str | None, copy_id: int, question_id: str,
             chosen: list[str]) -> Autosave:
    """One autosave, the login and the access policy included, on one connection of ``engine``'s pool.

    This is the request a workshop sends every few seconds per person, so the web layer makes one call
    here (one thread hop) and the database sees as little as can be: the login-and-copy lookup the
    copy routes use too (``access.LOGIN_AND_COPY``), then the save. On PostgreSQL both run on the driver
    itself, each its own transaction (a draft found by the lookup but submitted before the save is
    refused by the save's own guard); on SQLite in one session.
    """
    digest = accounts.login_digest(token)
    if digest is None:
        return Autosave(user=None)
    lookup = {"digest": digest, "copy_id": copy_id, **accounts.live_params(settings)}
    if db.is_postgresql(engine):
        with db.driver_cursor(engine) as cursor:
            row = db.run_on_driver(cursor, access.LOGIN_AND_COPY, lookup).fetchone()
            return _decide(row, question_id, chosen, lambda draft, value, asked: _pg_write(
                cursor, draft, question_id, value, asked), commit=lambda: None, rollback=lambda: None)
    with Session(engine, expire_on_commit=False) as session:
        row = session.connection().execute(access.LOGIN_AND_COPY, lookup).first()
        return _decide(row, question_id, chosen, lambda draft, value, asked: _sqlite_write(
            session, draft, question_id, value, asked), commit=session.commit, rollback=session.rollback)


def _decide(row: Any, question_id: str, chosen: list[str], write: Any, *, commit: Any, rollback: Any) -> Autosave:
    if row is None:
        return Autosave(user=None)
    user = Login(row.user_id, row.role, row.language)
    relation = access.copy_relation(row)
    if relation is None or not access.allows(relation, access.Action.TAKE_COPY):
        return Autosave(user=user)
    if not access.allows(relation, access.Action.ANSWER):
        return Autosave(user=user, refusal=SUBMITTED if not relation.copy_draft else ROUND_CLOSED)
    draft = Draft(row.copy_id, row.status, row.instrument_id, row.instrument_version, row.vsic_section,
                  row.size_class)
    try:
        value, asked = checked(draft, question_id, chosen)
        done = write(draft, value, asked)
        if done is None:
            raise NotAllowed(SUBMITTED)
    except NotAllowed as exc:
        rollback()
        return Autosave(user=user, refusal=exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc))
    commit()
    return Autosave(user=user, progress=Progress(done, len(asked)))
