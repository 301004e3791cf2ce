"""consent per purpose, data-subject requests, erasures

The cohort consent that 0003 kept on ``cohort_member`` (``consent``: "version/language") becomes a
``consent`` row of purpose "cohort" (given by whoever joined, at joining, withdrawn when the business
left), and the column goes: one record of consent. That text told the owner the trainers "can send
reminders, which you can turn off", so a member that had not turned them off gets a "reminders" consent
of that text too (once per person). Businesses get ``erased_at`` (assessment/privacy.py).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", String(length=16), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("text_version", String(length=40), nullable=False),
        sa.Column("language", String(length=2), nullable=False),
        _ts("given_at"),
        _ts("withdrawn_at", nullable=True),
        sa.CheckConstraint("purpose IN ('service', 'cohort', 'statistics', 'reminders')", name="ck_consent_purpose"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_person", "consent", ["user_id", "purpose"])
    op.create_index("ix_consent_cohort_id", "consent", ["cohort_id"])
    op.create_table(
        "data_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", String(length=12), nullable=False),
        sa.Column("subject", String(length=40), nullable=False),
        sa.Column("detail", String(length=40), nullable=False),
        _ts("received_at"),
        _ts("due_at"),
        _ts("completed_at", nullable=True),
        sa.CheckConstraint("kind IN ('export', 'erasure')", name="ck_data_request_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_request_subject", "data_request", ["subject"])
    op.create_index("ix_data_request_received_at", "data_request", ["received_at"])
    op.create_table(
        "erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", String(length=12), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("digest", String(length=64), nullable=False),
        _ts("erased_at"),
        sa.CheckConstraint("kind IN ('user', 'business')", name="ck_erasure_kind"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject_id", "digest", name="uq_erasure_subject"),
    )
    with op.batch_alter_table("business") as batch_op:
        batch_op.add_column(_ts("erased_at", nullable=True))
    # the cohort consents, folded into the consent table
    op.execute("""
        INSERT INTO consent (user_id, purpose, cohort_id, business_id, text_version, language, given_at, withdrawn_at)
        SELECT joined_by, 'cohort', cohort_id, business_id,
               CASE WHEN consent LIKE '%/%' THEN substr(consent, 1, length(consent) - 3) ELSE consent END,
               CASE WHEN consent LIKE '%/__' THEN substr(consent, length(consent) - 1, 2) ELSE 'vi' END,
               joined_at, left_at
        FROM cohort_member WHERE joined_by IS NOT NULL AND consent <> ''
    """)
    op.execute("""
        INSERT INTO consent (user_id, purpose, text_version, language, given_at)
        SELECT c.user_id, 'reminders', MIN(c.text_version), MIN(c.language), MIN(c.given_at)
        FROM consent c JOIN cohort_member m ON m.cohort_id = c.cohort_id AND m.business_id = c.business_id
        WHERE c.purpose = 'cohort' AND c.withdrawn_at IS NULL AND NOT m.reminders_off
        GROUP BY c.user_id
    """)
    with op.batch_alter_table("cohort_member") as batch_op:
        batch_op.drop_column("consent")


def downgrade() -> None:
    with op.batch_alter_table("cohort_member") as batch_op:
        batch_op.add_column(sa.Column("consent", String(length=40), nullable=False, server_default=""))
    op.execute("""
        UPDATE cohort_member SET consent = COALESCE((
            SELECT c.text_version || '/' || c.language FROM consent c
            WHERE c.purpose = 'cohort' AND c.cohort_id = cohort_member.cohort_id
              AND c.business_id = cohort_member.business_id
            ORDER BY c.given_at DESC, c.id DESC LIMIT 1), '')
    """)
    with op.batch_alter_table("cohort_member") as batch_op:
        batch_op.alter_column("consent", server_default=None)
    with op.batch_alter_table("business") as batch_op:
        batch_op.drop_column("erased_at")
    op.drop_table("erasure")
    op.drop_index("ix_data_request_received_at", table_name="data_request")
    op.drop_index("ix_data_request_subject", table_name="data_request")
    op.drop_table("data_request")
    op.drop_index("ix_consent_cohort_id", table_name="consent")
    op.drop_index("ix_consent_person", table_name="consent")
    op.drop_table("consent")
