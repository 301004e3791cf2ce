"""One ``Settings`` object for the whole product, read from ``DXM_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DXM_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('var') / 'dxmaturity.db'}",
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://user:pw@host/db.",
    )
    cookie_secure: bool = Field(
        default=False, description="Send cookies only over HTTPS; set true behind an HTTPS proxy."
    )
    session_days: int = Field(default=14, ge=1, description="How long a login lasts at most (the absolute lifetime).")
    session_idle_hours: int = Field(
        default=8, ge=1, description="A login unused this long ends (it is touched at most every 5 minutes).")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins of one account from one address within the window that block "
        "that pair (account, address) for the window.")
    login_window_minutes: int = Field(
        default=15, ge=1, description="The counting window of every login rule, and how long a pair stays blocked.")
    login_account_failures: int = Field(
        default=10, ge=1, description="Failed logins of one account from all addresses within the window after "
        "which each further attempt waits 1, 2, 4 ... seconds since the last failure (never a hard lock).")
    login_backoff_max_seconds: int = Field(
        default=30, ge=1, description="The longest wait between attempts on one account (see login_account_failures).")
    login_address_failures: int = Field(
        default=100, ge=1, description="Failed logins from one client address (any accounts) within the window "
        "before that address waits (a workshop room behind one NAT stays well below).")
    signup_per_address_hour: int = Field(
        default=100, ge=1, description="Sign-ups started from one client address per hour (a room of 60 at once fits).")
    min_cell: int = Field(
        default=5, ge=2, description="Fewest businesses behind any figure of a group: the city's tables (smaller "
        "cells are suppressed, with complementary cells), the city beside a cohort, and the owner's peer group "
        "(falling back from sector and size class to sector, size class, then the city).")
    data_dir: Path = Field(
        default=Path("var"), description="Where the app keeps its files: the background exports' files are "
        "written under exports/ here (relative paths are from the working directory).")
    microdata_job_rows: int = Field(
        default=100_000, ge=0, description="The city's record-level export: more rows than this are written "
        "by a background job (its progress and download on /city/microdata) instead of streamed at once.")
    export_job_stale_minutes: int = Field(
        default=10, ge=1, description="A running background export whose progress has not moved for this "
        "long lost its worker (a restart): it is marked failed and can be restarted.")
    cohort_before_days: int = Field(
        default=365, ge=1, description="A course's before/after: how many days before the course start "
        "(dates in Asia/Ho_Chi_Minh) a member's round may close and still be its before (T0).")
    cohort_after_days: int = Field(
        default=180, ge=1, description="A course's before/after: how many days after the course end "
        "(dates in Asia/Ho_Chi_Minh) a member's round may close and still be its after (T1).")
    default_language: str = Field(default="vi", pattern="^(vi|en)$", description="Language of new visitors.")
    department_name: str = Field(
        default="Sở Tài chính Hà Nội",
        description="Name shown for the department (planning and investment merged into finance in 2025).",
    )
    centre_name: str = Field(
        default="Trung tâm Hỗ trợ Doanh nghiệp Hà Nội", max_length=120,
        description="The support centre that runs the service: named on the home page and in every PDF report.")
    centre_contact: str = Field(
        default="", max_length=200,
        description="How owners reach the centre (telephone, e-mail, address), printed under its name in reports.")
    db_pool_size: int = Field(
        default=2, ge=1, le=500,
        description="Database connections per worker process; further requests wait their turn "
        "(PostgreSQL's max_connections must exceed workers × this). A worker is one Python process "
        "using one core: two connections keep it busy on a nearby database, and more threads "
        "only fight over its interpreter lock (see the README's load figures).",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body accepted.")
    public_url: str = Field(
        default="", pattern=r"^(https?://[^/\s]+)?$",
        description="The address people reach the service at (https://dxm.example.vn), used in mailed links. "
        "Empty (the demo): the address a request came to, which its Host header names; set it in production, "
        "or a forged Host header could put another site in a password-reset mail.")
    smtp_host: str = Field(
        default="", description="SMTP server for outgoing mail; empty (the demo): mails are only kept in the "
        "outbox admins read at /admin/outbox, and a line on the console says so.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port: 587 with STARTTLS, 465 with SSL.")
    smtp_user: str = Field(default="", description="SMTP login; empty: no login.")
    smtp_password: SecretStr = Field(
        default=SecretStr(""), description="SMTP password (never logged; ASCII only, as smtplib sends it).")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Connect over TLS from the start (port 465); STARTTLS is then "
                           "not used.")
    mail_from: str = Field(
        default="Trung tâm Hỗ trợ Doanh nghiệp Hà Nội <no-reply@localhost>",
        description="The From of every mail: a name and an address.")
    smtp_timeout_seconds: float = Field(default=10, gt=0, description="Longest wait for the SMTP server, per step.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
