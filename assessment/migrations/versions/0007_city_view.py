"""the department's city view: the summary table of the city's units, its version counters and cache

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

from assessment.city import summary

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "city_unit",
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("instrument_version", String(length=16), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("ward_code", String(length=5), nullable=True),
        sa.Column("vsic_section", String(length=1), nullable=True),
        sa.Column("size_class", String(length=8), nullable=True),
        sa.Column("overall_score", sa.Float(), nullable=True),
        sa.Column("overall_level", String(length=64), nullable=True),
        *(sa.Column(f"d{i}", sa.Float(), nullable=True) for i in range(summary.DIMENSION_COLUMNS)),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["round_id"], ["assessment_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instrument_id", "instrument_version", "period", "business_id"),
        sqlite_with_rowid=False,  # one period's rows in one stretch of the file (the primary key's order)
    )
    op.create_index("ix_city_unit_round_id", "city_unit", ["round_id"])
    op.create_index("ix_city_unit_sector", "city_unit",
                    ["instrument_id", "instrument_version", "period", "vsic_section", "size_class"])
    op.create_index("ix_city_unit_ward", "city_unit", ["instrument_id", "instrument_version", "period", "ward_code"])
    op.create_table(
        "city_version",
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("instrument_version", String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("instrument_id", "instrument_version"),
    )
    op.create_table(
        "city_cache",
        sa.Column("key", String(length=64), nullable=False),
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("instrument_version", String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    summary.fill(op.get_bind())  # the rounds closed before this migration


def downgrade() -> None:
    op.drop_table("city_cache")
    op.drop_table("city_version")
    op.drop_index("ix_city_unit_ward", table_name="city_unit")
    op.drop_index("ix_city_unit_sector", table_name="city_unit")
    op.drop_index("ix_city_unit_round_id", table_name="city_unit")
    op.drop_table("city_unit")
