"""The tables. Kept small and normalised; scores of submitted assessments are stored (frozen) so
reports and peer comparisons read them with SQL instead of re-scoring every answer."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

ROLES = ("owner", "trainer", "department", "admin")
MAX_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL: a larger one in a URL names nothing


def utcnow() -> datetime:
    return datetime.now(UTC)


def ts_column(**kwargs) -> Column:  # noqa: ANN003
    return Column(DateTime(timezone=True), **kwargs)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="owner", max_length=16)
    display_name: str = Field(default="", max_length=120)
    language: str = Field(default="vi", max_length=2)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class WebSession(SQLModel, table=True):
    """A login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    expires_at: datetime = Field(sa_column=ts_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class LoginFailure(SQLModel, table=True):
    """Failed logins, counted per e-mail and per client address for the rate limit."""

    __tablename__ = "login_failure"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False, index=True))


class Business(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    tax_code: str = Field(max_length=14, index=True)
    ward_code: str = Field(max_length=5, index=True)
    vsic_version: str = Field(default="2018", max_length=8)
    vsic_section: str = Field(max_length=1, index=True)
    employees: int = Field(ge=0)
    revenue_bn: float = Field(ge=0, description="Annual revenue, billion VND")
    capital_bn: float = Field(ge=0, description="Total capital, billion VND")
    size_class: str = Field(max_length=8, index=True, description="micro/small/medium/large (derived)")
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class Assessment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", index=True, ondelete="CASCADE")
    instrument_id: str = Field(max_length=64, index=True)
    instrument_version: str = Field(max_length=16)
    status: str = Field(default="draft", max_length=12, index=True)  # draft | submitted
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=ts_column(nullable=True, index=True))
    # frozen at submission: the business's section and size then, and the scores
    vsic_section: str | None = Field(default=None, max_length=1)
    size_class: str | None = Field(default=None, max_length=8)
    overall_score: float | None = None
    overall_level: str | None = Field(default=None, max_length=64)


class Answer(SQLModel, table=True):
    """One saved answer: an option id, option ids joined by "|", or "na"."""

    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True, ondelete="CASCADE")
    question_id: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=800)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class DimensionResult(SQLModel, table=True):
    """A submitted assessment's score per dimension (NULL: no score), for reports in SQL."""

    __tablename__ = "dimension_result"
    __table_args__ = (UniqueConstraint("assessment_id", "dimension_id"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    dimension_id: str = Field(max_length=64)
    score: float | None = None
    level: str | None = Field(default=None, max_length=64)
