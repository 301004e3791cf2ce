"""city snapshots and the registered population

``city_snapshot``: per questionnaire version and ended period, the dashboard's unfiltered tables as
JSON, kept as published (late rounds change the live view only).
``city_population``: registered enterprises per ward, VSIC section and size class, as uploaded by the
department: the coverage's denominators and the post-stratification's weights.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "city_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("instrument_version", String(length=16), nullable=False),
        sa.Column("period", String(length=7), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("businesses", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["published_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instrument_id", "instrument_version", "period", name="uq_city_snapshot"),
    )
    op.create_table(
        "city_population",
        sa.Column("ward_code", String(length=5), nullable=False),
        sa.Column("vsic_section", String(length=1), nullable=False),
        sa.Column("size_class", String(length=8), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("enterprises >= 0", name="ck_city_population_enterprises"),
        sa.PrimaryKeyConstraint("ward_code", "vsic_section", "size_class"),
    )


def downgrade() -> None:
    op.drop_table("city_population")
    op.drop_table("city_snapshot")
