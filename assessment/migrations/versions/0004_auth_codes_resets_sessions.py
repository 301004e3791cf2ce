"""sign-up codes, password resets, session idle time, disabled accounts

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(_ts("disabled_at", nullable=True))
    with op.batch_alter_table("web_session") as batch_op:  # a session already there was last seen when made
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE web_session SET last_seen_at = created_at")
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.alter_column("last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_table(
        "pending_signup",
        sa.Column("token_hash", String(length=64), nullable=False),
        sa.Column("email", String(length=254), nullable=False),
        sa.Column("password_hash", String(length=255), nullable=False),
        sa.Column("display_name", String(length=120), nullable=False),
        sa.Column("language", String(length=2), nullable=False),
        sa.Column("code_hash", String(length=64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("existing", sa.Boolean(), nullable=False),
        sa.Column("next_url", String(length=500), nullable=False),
        sa.Column("consents", String(length=500), nullable=False),
        sa.Column("client_hash", String(length=64), nullable=False),
        _ts("expires_at"),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_pending_signup_expires_at", "pending_signup", ["expires_at"])
    op.create_table(
        "password_reset",
        sa.Column("token_hash", String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issued_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_password_reset_user_id", "password_reset", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_password_reset_user_id", table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_index("ix_pending_signup_expires_at", table_name="pending_signup")
    op.drop_table("pending_signup")
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.drop_column("last_seen_at")
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("disabled_at")
