"""The tables. Kept small and normalised; scores are stored (frozen) when a copy is submitted and
when a round closes, so reports, peers, cohorts and the city read them with SQL instead of
re-scoring answers.

The shapes (docs/method.md section 8 says how results combine):

* a **business** has **members** (``business_member``): owners, who manage it, and respondents, who
  answer their own copy of a round they were invited to;
* a **round** (``assessment_round``) is one instrument version answered by one or more members, each
  in their own **copy** (``assessment``); closing the round freezes the business's ward, sector and
  size class and the combined scores, and marks which round is the business's latest (overall, in its
  quarter and in its year) for that instrument version: the unit of every aggregate;
* **cohorts** (training courses) list member businesses and their trainers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

ROLES = ("owner", "trainer", "department", "admin")  # an account's role
MEMBER_ROLES = ("owner", "respondent")  # a person's role in one business
COPY_STATUSES = ("draft", "submitted")
ROUND_STATUSES = ("open", "closed")
JOIN_STATUSES = ("pending", "approved", "refused")
MAX_COLUMN_ID = 129  # "<table>.<row>": two 64-character ids and a dot
MAX_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL: a larger one in a URL names nothing


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, always read back time-zone aware (UTC). PostgreSQL keeps the zone; SQLite stores
    none: it would keep a bound's wall time and drop its offset, and hand back naive datetimes, which
    ``astimezone`` would read as the server's local time. So every value written (a row or a bound
    of a query) is converted to UTC, a naive one is refused, and a naive value read is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a naive datetime: give it a time zone")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def ts_column(*args: object, **kwargs: object) -> Column:
    return Column(UTCDateTime(), *args, **kwargs)  # type: ignore[arg-type]


def one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class User(SQLModel, table=True):
    __table_args__ = (one_of("role", ROLES, "ck_user_role"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="owner", max_length=16)
    display_name: str = Field(default="", max_length=120)
    language: str = Field(default="vi", max_length=2)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    disabled_at: datetime | None = Field(
        default=None, sa_column=ts_column(nullable=True),
        description="set by an admin: the account cannot log in and its sessions are refused")


class WebSession(SQLModel, table=True):
    """A login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    last_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=ts_column(nullable=False),
        description="for the idle timeout; touched at most every 5 minutes (assessment.accounts.TOUCH_EVERY)")


class PendingSignup(SQLModel, table=True):
    """A sign-up waiting for the 6-digit code mailed to its address (assessment/signup.py). The page's
    URL holds a random token (only its SHA-256 is kept); the code is kept as an HMAC. ``existing``:
    the address already had an account, so no code works and the mail said so."""

    __tablename__ = "pending_signup"
    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=254)
    password_hash: str = Field(max_length=255)
    display_name: str = Field(default="", max_length=120)
    language: str = Field(default="vi", max_length=2)
    code_hash: str = Field(max_length=64)
    tries: int = Field(default=0)
    existing: bool = Field(default=False)
    next_url: str = Field(default="/", max_length=500)
    consents: str = Field(default="", max_length=500, description="purpose names posted at sign-up, comma-separated")
    client_hash: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=ts_column(nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class PasswordReset(SQLModel, table=True):
    """A password-reset link (assessment/resets.py): single use, 1 hour; only its SHA-256 is kept."""

    __tablename__ = "password_reset"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    issued_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"), nullable=True))
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class LoginFailure(SQLModel, table=True):
    """Attempts counted for rate limits: failed logins (per e-mail and per client address) and
    requests to join a business (per person)."""

    __tablename__ = "login_failure"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))


class Business(SQLModel, table=True):
    """A business, identified by its tax code (MST): 10 digits, 12 for a household business (the
    owner's personal number), or 10 + "-" + 3 for a branch, which is a business of its own linked to
    its parent (``parent_id``) when the parent is registered."""

    __table_args__ = (UniqueConstraint("tax_code", name="uq_business_tax_code"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    tax_code: str = Field(max_length=14)
    parent_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("business.id", ondelete="SET NULL"), index=True))
    ward_code: str = Field(max_length=5, index=True)
    vsic_version: str = Field(default="2018", max_length=8)
    vsic_section: str = Field(max_length=1, index=True)
    employees: int = Field(ge=0)
    revenue_bn: float = Field(ge=0, description="Annual revenue, billion VND")
    capital_bn: float = Field(ge=0, description="Total capital, billion VND")
    size_class: str = Field(max_length=8, index=True, description="micro/small/medium/large (derived)")
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    erased_at: datetime | None = Field(
        default=None, sa_column=ts_column(nullable=True),
        description="its last owner's account was erased: name and tax code are gone (assessment/privacy.py); its "
        "closed rounds count in aggregates only, never listed")


class BusinessMember(SQLModel, table=True):
    """A person's place in a business: an owner (manages it) or a respondent (answers their copy)."""

    __tablename__ = "business_member"
    __table_args__ = (one_of("role", MEMBER_ROLES, "ck_business_member_role"),)
    business_id: int = Field(foreign_key="business.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class JoinRequest(SQLModel, table=True):
    """Somebody who registered a known tax code asks its owners to let them join."""

    __tablename__ = "join_request"
    __table_args__ = (one_of("status", JOIN_STATUSES, "ck_join_request_status"),)
    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    status: str = Field(default="pending", max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))


class AssessmentRound(SQLModel, table=True):
    """One instrument version answered by a business's people, each in their own copy; its result,
    frozen at close, is the mean of the submitted copies (docs/method.md section 8)."""

    __tablename__ = "assessment_round"
    __table_args__ = (
        one_of("status", ROUND_STATUSES, "ck_assessment_round_status"),
        # the owner's history and the latest-round flags of one business
        Index("ix_round_business", "business_id", "instrument_id", "instrument_version", "closed_at"),
        # peers: the latest closed round of each business of one sector and size class. It holds every
        # column the peer query reads (business_id too), so neither database reads the table's rows:
        # an index-only scan on PostgreSQL. The partial indexes' SQLite condition is written "= 1"
        # because SQLAlchemy renders a boolean test so there, and SQLite uses a partial index only
        # when its condition appears verbatim in the query's (benchmarks/bench_results.py).
        Index("ix_round_peers", "instrument_id", "instrument_version", "vsic_section", "size_class",
              "overall_score", "business_id", sqlite_where=text("is_latest = 1"), postgresql_where=text("is_latest")),
        # the city and the cohorts: each business's latest closed round in a quarter or a year
        Index("ix_round_quarter", "instrument_id", "instrument_version", "closed_quarter",
              sqlite_where=text("latest_in_quarter = 1"), postgresql_where=text("latest_in_quarter")),
        Index("ix_round_year", "instrument_id", "instrument_version", "closed_year",
              sqlite_where=text("latest_in_year = 1"), postgresql_where=text("latest_in_year")),
    )
    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", ondelete="CASCADE")
    name: str = Field(max_length=80)
    instrument_id: str = Field(max_length=64)
    instrument_version: str = Field(max_length=16)
    status: str = Field(default="open", max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    # frozen at close
    instrument_hash: str | None = Field(default=None, max_length=64)
    ward_code: str | None = Field(default=None, max_length=5)
    vsic_section: str | None = Field(default=None, max_length=1)
    size_class: str | None = Field(default=None, max_length=8)
    respondents: int = Field(default=0, description="submitted copies combined into the result")
    overall_score: float | None = None
    overall_level: str | None = Field(default=None, max_length=64)
    closed_quarter: int | None = Field(default=None, description="year * 10 + quarter, in Asia/Ho_Chi_Minh")
    closed_year: int | None = None
    # the business's latest closed round of this instrument version: overall, in its quarter, its year
    is_latest: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    latest_in_quarter: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    latest_in_year: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class RoundResult(SQLModel, table=True):
    """A closed round's combined score per dimension (NULL: no copy scored it), with the spread
    between its respondents."""

    __tablename__ = "round_result"
    round_id: int = Field(foreign_key="assessment_round.id", primary_key=True, ondelete="CASCADE")
    dimension_id: str = Field(primary_key=True, max_length=64)
    score: float | None = None
    level: str | None = Field(default=None, max_length=64)
    respondents: int = Field(default=0, description="copies with a score for this dimension")
    low: float | None = None
    high: float | None = None


class Assessment(SQLModel, table=True):
    """One person's copy of a round: their answers, and their scores once submitted."""

    __table_args__ = (one_of("status", COPY_STATUSES, "ck_assessment_status"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="assessment_round.id", index=True, ondelete="CASCADE")
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    respondent_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"), index=True))
    instrument_id: str = Field(max_length=64, index=True)
    instrument_version: str = Field(max_length=16)
    status: str = Field(default="draft", max_length=12, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True, index=True))
    # frozen at submission: the business's section and size then, the respondent's role, the scores
    vsic_section: str | None = Field(default=None, max_length=1)
    size_class: str | None = Field(default=None, max_length=8)
    respondent_role: str | None = Field(default=None, max_length=16)
    overall_score: float | None = None
    overall_level: str | None = Field(default=None, max_length=64)


class Answer(SQLModel, table=True):
    """One saved answer: an option id, option ids joined by "|", "-" (a checklist with nothing ticked)
    or "na". ``question_id`` is a question's id or a table row's ``<table>.<row>`` (two ids and a
    dot); ``value`` is unbounded, as a checklist of 40 tools with long ids may be."""

    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True, ondelete="CASCADE")
    question_id: str = Field(primary_key=True, max_length=MAX_COLUMN_ID)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class DimensionResult(SQLModel, table=True):
    """A submitted copy's score per dimension (NULL: no score)."""

    __tablename__ = "dimension_result"
    __table_args__ = (UniqueConstraint("assessment_id", "dimension_id"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    dimension_id: str = Field(max_length=64)
    score: float | None = None
    level: str | None = Field(default=None, max_length=64)


class Invitation(SQLModel, table=True):
    """A single-use, expiring link that makes its holder a respondent of a business, with a copy of
    one round. Only the SHA-256 of the link's token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    round_id: int = Field(foreign_key="assessment_round.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=80, description="who it is for, e.g. 'IT lead'")
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    used_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))


class Cohort(SQLModel, table=True):
    """A training course: businesses join it by code; its trainers see what the access policy grants."""

    __table_args__ = (one_of("status", ("open", "closed"), "ck_cohort_status"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    instrument_id: str = Field(max_length=64)
    instrument_version: str = Field(default="", max_length=16, description="the version its before/after compares")
    starts_on: date = Field(sa_column=Column(Date, nullable=False))
    ends_on: date = Field(sa_column=Column(Date, nullable=False))
    join_code: str = Field(max_length=16, unique=True)
    status: str = Field(default="open", max_length=12)
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CohortTrainer(SQLModel, table=True):
    __tablename__ = "cohort_trainer"
    cohort_id: int = Field(foreign_key="cohort.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")


class CohortMember(SQLModel, table=True):
    """A business in a cohort, from joining (with the owner's consent, a ``Consent`` of purpose "cohort")
    until it leaves."""

    __tablename__ = "cohort_member"
    cohort_id: int = Field(foreign_key="cohort.id", primary_key=True, ondelete="CASCADE")
    business_id: int = Field(foreign_key="business.id", primary_key=True, index=True, ondelete="CASCADE")
    joined_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    left_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    joined_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))
    reminders_off: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class CohortNote(SQLModel, table=True):
    """A trainer's note on a member business; a private one is read by the cohort's trainers only."""

    __tablename__ = "cohort_note"
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True, ondelete="CASCADE")
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))
    text: str = Field(max_length=2000)
    private: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CohortAction(SQLModel, table=True):
    """An action agreed with a member business, tied to a dimension, with a due date; the owner marks
    it done."""

    __tablename__ = "cohort_action"
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True, ondelete="CASCADE")
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    dimension_id: str = Field(max_length=64)
    text: str = Field(max_length=500)
    due_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    done_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class Reminder(SQLModel, table=True):
    """A reminder a trainer sent (by e-mail) or copied (for Zalo) to a member business."""

    __table_args__ = (one_of("channel", ("email", "zalo"), "ck_reminder_channel"),)
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True, ondelete="CASCADE")
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=8)
    sent_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL")))
    sent_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class MailMessage(SQLModel, table=True):
    """Every mail the app sends, kept as the outbox: sent by SMTP when it is configured, else only
    printed on the console and readable by admins (the demo)."""

    __tablename__ = "mail_message"
    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=254, index=True)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    sent_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    error: str | None = Field(default=None, max_length=300)


class RenderedChart(SQLModel, table=True):
    """A chart of frozen scores, rendered once (its scores never change) and served with its ETag;
    shared by every worker. Goes with its copy."""

    __tablename__ = "rendered_chart"
    key: str = Field(primary_key=True, max_length=120)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    etag: str = Field(max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class AuditEvent(SQLModel, table=True):
    """One access to somebody else's data (assessment/audit.py writes it; nothing changes or deletes it,
    bar the erasure tombstone). ``actor`` and ``object_id`` are text so that an erased person's id can
    be replaced by their tombstone (``erased-<hex>``)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_actor", "actor", "at"),
        Index("ix_audit_event_object", "object_type", "object_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    actor: str = Field(max_length=40, description="the user id, or an erased person's tombstone")
    actor_role: str = Field(max_length=16, description="the actor's account role then")
    action: str = Field(max_length=40, description="one of assessment.audit.ACTIONS")
    object_type: str = Field(max_length=20)
    object_id: str = Field(max_length=40)
    client: str = Field(default="", max_length=45, description="the client address ('' once erased)")


# -- personal data (Law 91/2025/QH15, Decree 356/2025/NĐ-CP; docs/privacy.md) --------------------------
CONSENT_PURPOSES = ("service", "cohort", "statistics", "reminders")  # assessment/consent.py says what each means
DATA_REQUEST_KINDS = ("export", "erasure")
ERASURE_KINDS = ("user", "business")


class Consent(SQLModel, table=True):
    """One consent a person gave for one purpose, with the text's version and language they saw and when;
    withdrawing it stamps ``withdrawn_at`` (a later consent is a new row, so the history stays). A
    "cohort" consent names the course and the business it shares (assessment/consent.py)."""

    __tablename__ = "consent"
    __table_args__ = (one_of("purpose", CONSENT_PURPOSES, "ck_consent_purpose"),
                      Index("ix_consent_person", "user_id", "purpose"))
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    purpose: str = Field(max_length=16)
    cohort_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("cohort.id", ondelete="CASCADE"), nullable=True, index=True))
    business_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("business.id", ondelete="CASCADE"), nullable=True))
    text_version: str = Field(max_length=40)
    language: str = Field(max_length=2)
    given_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    withdrawn_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))


class DataRequest(SQLModel, table=True):
    """A data subject's request (a download of their data, an erasure) with its legal deadline and when it
    was done. ``subject`` is the user id as text, replaced by the audit tombstone when they are erased, so
    the log of requests outlives the person without naming them."""

    __tablename__ = "data_request"
    __table_args__ = (one_of("kind", DATA_REQUEST_KINDS, "ck_data_request_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    subject: str = Field(max_length=40, index=True)
    detail: str = Field(default="", max_length=40, description="e.g. the download's format")
    received_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))
    due_at: datetime = Field(sa_column=ts_column(nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))


class Erasure(SQLModel, table=True):
    """The erasure ledger: what a restore of an older backup needs to erase again, and nothing more: the
    kind and id of what was erased and a digest of the row as it was (so that only that very row, never a
    later one that got the same id, is erased again). No name, e-mail or tax code."""

    __tablename__ = "erasure"
    __table_args__ = (one_of("kind", ERASURE_KINDS, "ck_erasure_kind"),
                      UniqueConstraint("kind", "subject_id", "digest", name="uq_erasure_subject"))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    subject_id: int
    digest: str = Field(max_length=64, description="SHA-256 of the erased row's id, e-mail or tax code and "
                        "creation time")
    erased_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


# -- the city's view (assessment/city; docs/method.md section 11) ---------------------------------------
CITY_DIMENSIONS = 12  # dimension score columns d0 … d11 of city_unit, in each instrument's order


class CityUnit(SQLModel, table=True):
    """The unit of the city's figures, one row per business, instrument version and period: the
    business's latest closed round in that quarter (``period`` = year * 10 + quarter) or year
    (``period`` = year), with its frozen keys and scores, the dimension scores as columns in the
    instrument's order. Written when a round closes (assessment/city/summary.py), so a dashboard's
    GROUP BY reads one narrow table instead of joining rounds with their dimension results."""

    __tablename__ = "city_unit"
    __table_args__ = (
        Index("ix_city_unit_sector", "instrument_id", "instrument_version", "period", "vsic_section", "size_class"),
        Index("ix_city_unit_ward", "instrument_id", "instrument_version", "period", "ward_code"),
        # SQLite keeps the rows in primary-key order, so one period's rows are read in one stretch
        {"sqlite_with_rowid": False},
    )
    instrument_id: str = Field(primary_key=True, max_length=64)
    instrument_version: str = Field(primary_key=True, max_length=16)
    period: int = Field(primary_key=True, description="year * 10 + quarter, or the year")
    business_id: int = Field(primary_key=True, foreign_key="business.id", ondelete="CASCADE")
    round_id: int = Field(foreign_key="assessment_round.id", index=True, ondelete="CASCADE")
    ward_code: str | None = Field(default=None, max_length=5)
    vsic_section: str | None = Field(default=None, max_length=1)
    size_class: str | None = Field(default=None, max_length=8)
    overall_score: float | None = None
    overall_level: str | None = Field(default=None, max_length=64)
    d0: float | None = None
    d1: float | None = None
    d2: float | None = None
    d3: float | None = None
    d4: float | None = None
    d5: float | None = None
    d6: float | None = None
    d7: float | None = None
    d8: float | None = None
    d9: float | None = None
    d10: float | None = None
    d11: float | None = None


class CityVersion(SQLModel, table=True):
    """A counter per instrument version, raised whenever one of its rounds closes: part of every city
    cache key, so a cached figure is never older than the last close, in any worker."""

    __tablename__ = "city_version"
    instrument_id: str = Field(primary_key=True, max_length=64)
    instrument_version: str = Field(primary_key=True, max_length=16)
    version: int = Field(default=0)


class CityCache(SQLModel, table=True):
    """A computed city table (JSON), keyed by the SHA-256 of what was asked and the version counter."""

    __tablename__ = "city_cache"
    key: str = Field(primary_key=True, max_length=64)
    instrument_id: str = Field(max_length=64)
    instrument_version: str = Field(max_length=16)
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


# -- the department's city view on the web (web/routes/city.py, web/routes/api.py) ------------------------------
class CityTarget(SQLModel, table=True):
    """The department's target for one instrument: the level it follows (the dashboard's share at or
    above it) and the share (0-100) of participating businesses it aims to have there. Who set it is
    in the audit log (``city.target``)."""

    __tablename__ = "city_target"
    __table_args__ = (CheckConstraint("target_share >= 0 AND target_share <= 100", name="ck_city_target_share"),)
    instrument_id: str = Field(primary_key=True, max_length=64)
    level: str = Field(max_length=64)
    target_share: float
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CitySnapshot(SQLModel, table=True):
    """A period's city figures as the department published them: the dashboard's tables with no
    filter, frozen (``body``, JSON). Late rounds change the live view, never a snapshot; a period is
    published once per questionnaire version, after it has ended."""

    __tablename__ = "city_snapshot"
    __table_args__ = (UniqueConstraint("instrument_id", "instrument_version", "period", name="uq_city_snapshot"),)
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: str = Field(max_length=64)
    instrument_version: str = Field(max_length=16)
    period: str = Field(max_length=7)
    k: int
    businesses: int | None = None
    body: str = Field(sa_column=Column(Text, nullable=False))
    published_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"), nullable=True))
    published_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CityPopulation(SQLModel, table=True):
    """The registered enterprises per ward, VSIC section and size class, as the department uploads
    them (a CSV from the business register): the denominators of the city view's coverage and the
    weights of its post-stratified mean (docs/method.md section 11). Replaced whole by each upload."""

    __tablename__ = "city_population"
    __table_args__ = (CheckConstraint("enterprises >= 0", name="ck_city_population_enterprises"),)
    ward_code: str = Field(primary_key=True, max_length=5)
    vsic_section: str = Field(primary_key=True, max_length=1)
    size_class: str = Field(primary_key=True, max_length=8)
    enterprises: int
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class ApiToken(SQLModel, table=True):
    """A bearer token an admin issued for the read-only JSON API (the city's aggregates). Only the
    SHA-256 of the token is kept: the token itself is shown once, when it is made. ``prefix`` (its
    first characters) tells tokens apart in the list; a revoked token stays listed, refused."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=12)
    token_sha256: str = Field(max_length=64, unique=True)
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))


EXPORT_JOB_STATUSES = ("queued", "running", "done", "failed")


class ExportJob(SQLModel, table=True):
    """A large export written in the background (assessment/export_jobs.py): what was asked, by whom,
    how far it is and where its file is. Progress lives here, not in a worker's memory, so every
    worker shows the same; ``updated_at`` is the running job's heartbeat, and a running job whose
    heartbeat stopped (its worker was restarted) is marked failed. ``attempt`` tells the run that
    owns the row from an older one that was declared dead, so the older one can no longer write."""

    __tablename__ = "export_job"
    __table_args__ = (
        one_of("status", EXPORT_JOB_STATUSES, "ck_export_job_status"),
        Index("ix_export_job_requested_by", "requested_by", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, description="what is exported: assessment.export_jobs.KINDS")
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_by: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False))
    status: str = Field(default="queued", max_length=16)
    attempt: int = Field(default=1, description="raised by each restart; only that run may write the row")
    rows_done: int = Field(default=0)
    rows_total: int | None = Field(default=None)
    file_path: str | None = Field(default=None, max_length=200, description="relative to DXM_DATA_DIR, once done")
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True))
