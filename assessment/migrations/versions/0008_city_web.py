"""the department's city view on the web: its targets and the API's tokens

``city_target``: per instrument, the level the department follows and the share it aims for.
``api_token``: bearer tokens for the read-only JSON API, kept as their SHA-256 only.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "city_target",
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("level", String(length=64), nullable=False),
        sa.Column("target_share", sa.Float(), nullable=False),
        _ts("updated_at"),
        sa.CheckConstraint("target_share >= 0 AND target_share <= 100", name="ck_city_target_share"),
        sa.PrimaryKeyConstraint("instrument_id"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", String(length=120), nullable=False),
        sa.Column("prefix", String(length=12), nullable=False),
        sa.Column("token_sha256", String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("last_used_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("city_target")
