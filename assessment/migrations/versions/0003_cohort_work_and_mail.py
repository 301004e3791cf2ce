"""cohort work and mail: cohort details, consent and reminders of members, notes, actions, the outbox

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("cohort") as batch_op:
        batch_op.add_column(sa.Column("description", String(length=2000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("instrument_version", String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_cohort_created_by", "user", ["created_by"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("cohort") as batch_op:  # the defaults were only for rows already there
        batch_op.alter_column("description", server_default=None)
        batch_op.alter_column("instrument_version", server_default=None)
    with op.batch_alter_table("cohort_member") as batch_op:
        batch_op.add_column(sa.Column("consent", String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("joined_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminders_off", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_foreign_key("fk_cohort_member_joined_by", "user", ["joined_by"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("cohort_member") as batch_op:
        batch_op.alter_column("consent", server_default=None)
    op.create_table(
        "cohort_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", String(length=2000), nullable=False),
        sa.Column("private", sa.Boolean(), server_default=sa.false(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cohort_note_cohort_id", "cohort_note", ["cohort_id"])
    op.create_index("ix_cohort_note_business_id", "cohort_note", ["business_id"])
    op.create_table(
        "cohort_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("dimension_id", String(length=64), nullable=False),
        sa.Column("text", String(length=500), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        _ts("done_at", nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cohort_action_cohort_id", "cohort_action", ["cohort_id"])
    op.create_index("ix_cohort_action_business_id", "cohort_action", ["business_id"])
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("channel", String(length=8), nullable=False),
        sa.Column("sent_by", sa.Integer(), nullable=True),
        _ts("sent_at"),
        sa.CheckConstraint("channel IN ('email', 'zalo')", name="ck_reminder_channel"),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sent_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reminder_cohort_id", "reminder", ["cohort_id"])
    op.create_index("ix_reminder_business_id", "reminder", ["business_id"])
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", String(length=254), nullable=False),
        sa.Column("subject", String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", String(length=40), nullable=False),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
        sa.Column("error", String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mail_message_to_address", "mail_message", ["to_address"])
    op.create_index("ix_mail_message_created_at", "mail_message", ["created_at"])


def downgrade() -> None:
    for table in ("mail_message", "reminder", "cohort_action", "cohort_note"):
        op.drop_table(table)
    with op.batch_alter_table("cohort_member") as batch_op:
        batch_op.drop_constraint("fk_cohort_member_joined_by", type_="foreignkey")
        batch_op.drop_column("reminders_off")
        batch_op.drop_column("joined_by")
        batch_op.drop_column("consent")
    with op.batch_alter_table("cohort") as batch_op:
        batch_op.drop_constraint("fk_cohort_created_by", type_="foreignkey")
        batch_op.drop_column("created_by")
        batch_op.drop_column("instrument_version")
        batch_op.drop_column("description")
