"""people, rounds, cohorts: businesses with several people, assessment rounds, aggregate-ready rounds

Revision ID: 0002
Revises: 0001

What it does to a database holding data:

* every business's owner becomes its first member (role owner); ``business.owner_id`` goes;
* businesses sharing a tax code are merged: the oldest is kept, the later ones' people become its
  respondents, their assessments move to it, and each merge is reported (``alembic`` log, INFO);
* every existing assessment becomes the one copy of a round of its own (a submitted one a closed
  round whose result is its scores); the frozen ward of an old round is the business's ward today
  (old assessments did not record one);
* the latest-round flags and the closing quarter and year are filled; CHECK constraints on roles and
  statuses. Downgrade restores the 0001 shape (merged businesses stay merged).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
HANOI = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has kept UTC+7 without DST since 1975
String = sqlmodel.sql.sqltypes.AutoString


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _check(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


def _quarter(moment: datetime) -> tuple[int, int]:
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(HANOI)
    return local.year * 10 + (local.month - 1) // 3 + 1, local.year


def _create_tables() -> None:
    op.create_table(
        "business_member",
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", String(length=16), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("role IN ('owner', 'respondent')", name="ck_business_member_role"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("business_id", "user_id"),
    )
    op.create_index("ix_business_member_user_id", "business_member", ["user_id"])
    op.create_table(
        "join_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", String(length=12), nullable=False),
        _ts("created_at"),
        _ts("decided_at", nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name="ck_join_request_status"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_join_request_business_id", "join_request", ["business_id"])
    op.create_index("ix_join_request_user_id", "join_request", ["user_id"])
    op.create_table(
        "assessment_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("name", String(length=80), nullable=False),
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("instrument_version", String(length=16), nullable=False),
        sa.Column("status", String(length=12), nullable=False),
        _ts("created_at"),
        _ts("closed_at", nullable=True),
        sa.Column("instrument_hash", String(length=64), nullable=True),
        sa.Column("ward_code", String(length=5), nullable=True),
        sa.Column("vsic_section", String(length=1), nullable=True),
        sa.Column("size_class", String(length=8), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=True),
        sa.Column("overall_level", String(length=64), nullable=True),
        sa.Column("closed_quarter", sa.Integer(), nullable=True),
        sa.Column("closed_year", sa.Integer(), nullable=True),
        sa.Column("is_latest", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("latest_in_quarter", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("latest_in_year", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_assessment_round_status"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_round_business", "assessment_round",
                    ["business_id", "instrument_id", "instrument_version", "closed_at"])
    # as in assessment/models.py (why business_id, and why "= 1" on SQLite: see there)
    op.create_index("ix_round_peers", "assessment_round",
                    ["instrument_id", "instrument_version", "vsic_section", "size_class", "overall_score",
                     "business_id"],
                    sqlite_where=sa.text("is_latest = 1"), postgresql_where=sa.text("is_latest"))
    op.create_index("ix_round_quarter", "assessment_round", ["instrument_id", "instrument_version", "closed_quarter"],
                    sqlite_where=sa.text("latest_in_quarter = 1"), postgresql_where=sa.text("latest_in_quarter"))
    op.create_index("ix_round_year", "assessment_round", ["instrument_id", "instrument_version", "closed_year"],
                    sqlite_where=sa.text("latest_in_year = 1"), postgresql_where=sa.text("latest_in_year"))
    op.create_table(
        "round_result",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("dimension_id", String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("level", String(length=64), nullable=True),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["assessment_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", "dimension_id"),
    )
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", String(length=64), nullable=False),
        sa.Column("label", String(length=80), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["round_id"], ["assessment_round.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["used_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_invitation_business_id", "invitation", ["business_id"])
    op.create_index("ix_invitation_round_id", "invitation", ["round_id"])
    op.create_table(
        "cohort",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", String(length=120), nullable=False),
        sa.Column("instrument_id", String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("join_code", String(length=16), nullable=False),
        sa.Column("status", String(length=12), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_cohort_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("join_code"),
    )
    op.create_table(
        "cohort_trainer",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cohort_id", "user_id"),
    )
    op.create_index("ix_cohort_trainer_user_id", "cohort_trainer", ["user_id"])
    op.create_table(
        "cohort_member",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        _ts("joined_at"),
        _ts("left_at", nullable=True),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cohort_id", "business_id"),
    )
    op.create_index("ix_cohort_member_business_id", "cohort_member", ["business_id"])
    op.create_table(
        "rendered_chart",
        sa.Column("key", String(length=120), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("etag", String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rendered_chart_assessment_id", "rendered_chart", ["assessment_id"])


def _content_hashes() -> dict[tuple[str, str], str]:
    """The hash of every bundled instrument version (frozen on the rounds this migration closes)."""
    try:
        from questionnaires import loader

        return {(i, v): loader.content_hash(ins) for i, vs in loader.bundled().items() for v, ins in vs.items()}
    except Exception:  # a missing instrument leaves the hash empty, nothing else
        return {}


def _move_data(bind: sa.Connection) -> None:
    op.execute("INSERT INTO business_member (business_id, user_id, role, created_at) "
               "SELECT id, owner_id, 'owner', created_at FROM business")
    op.add_column("assessment", sa.Column("round_id", sa.Integer(), nullable=True))
    op.add_column("assessment", sa.Column("respondent_id", sa.Integer(), nullable=True))
    op.add_column("assessment", sa.Column("respondent_role", String(length=16), nullable=True))
    op.execute("UPDATE assessment SET round_id = id, respondent_id = "
               "(SELECT owner_id FROM business WHERE business.id = assessment.business_id)")
    op.execute("UPDATE assessment SET respondent_role = 'owner' WHERE status = 'submitted'")

    # merge businesses that share a tax code into the oldest
    rows = bind.execute(sa.text("SELECT id, tax_code FROM business ORDER BY created_at, id")).all()
    kept: dict[str, int] = {}
    for business_id, tax_code in rows:
        keep = kept.setdefault(tax_code, business_id)
        if keep == business_id:
            continue
        params = {"keep": keep, "gone": business_id}
        bind.execute(sa.text(
            "INSERT INTO business_member (business_id, user_id, role, created_at) "
            "SELECT :keep, m.user_id, 'respondent', m.created_at FROM business_member m "
            "WHERE m.business_id = :gone AND m.user_id NOT IN "
            "(SELECT user_id FROM business_member WHERE business_id = :keep)"), params)
        bind.execute(sa.text("UPDATE assessment SET business_id = :keep, respondent_role = CASE "
                             "WHEN respondent_role IS NULL THEN NULL ELSE 'respondent' END "
                             "WHERE business_id = :gone"), params)
        bind.execute(sa.text("DELETE FROM business_member WHERE business_id = :gone"), params)
        bind.execute(sa.text("DELETE FROM business WHERE id = :gone"), params)
        log.info("merged business %s into business %s (same tax code)", business_id, keep)

    # one round per existing assessment, with the same id
    hashes = _content_hashes()
    assessments = bind.execute(sa.text(
        "SELECT a.id, a.business_id, a.instrument_id, a.instrument_version, a.status, a.created_at, "
        "a.submitted_at, a.vsic_section, a.size_class, a.overall_score, a.overall_level, b.ward_code "
        "FROM assessment a JOIN business b ON b.id = a.business_id ORDER BY a.id")).all()
    insert = sa.text(
        "INSERT INTO assessment_round (id, business_id, name, instrument_id, instrument_version, status, "
        "created_at, closed_at, instrument_hash, ward_code, vsic_section, size_class, respondents, "
        "overall_score, overall_level, closed_quarter, closed_year) VALUES (:id, :business_id, :name, "
        ":instrument_id, :instrument_version, :status, :created_at, :closed_at, :instrument_hash, :ward_code, "
        ":vsic_section, :size_class, :respondents, :overall_score, :overall_level, :closed_quarter, :closed_year)")
    batch = []
    for a in assessments:
        closed = a.status == "submitted" and a.submitted_at is not None
        created = a.created_at if isinstance(a.created_at, datetime) else datetime.fromisoformat(str(a.created_at))
        when = a.submitted_at if closed else None
        if when is not None and not isinstance(when, datetime):
            when = datetime.fromisoformat(str(when))
        quarter, year = _quarter(when) if when is not None else (None, None)
        label_q, label_y = _quarter(when or created)
        batch.append({
            "id": a.id, "business_id": a.business_id, "name": f"{label_y} Q{label_q % 10}",
            "instrument_id": a.instrument_id, "instrument_version": a.instrument_version,
            "status": "closed" if closed else "open", "created_at": created, "closed_at": when,
            "instrument_hash": hashes.get((a.instrument_id, a.instrument_version)) if closed else None,
            "ward_code": a.ward_code if closed else None, "vsic_section": a.vsic_section if closed else None,
            "size_class": a.size_class if closed else None, "respondents": 1 if closed else 0,
            "overall_score": a.overall_score if closed else None, "overall_level": a.overall_level if closed else None,
            "closed_quarter": quarter, "closed_year": year,
        })
    if batch:
        bind.execute(insert, batch)
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('assessment_round', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM assessment_round), 0) + 1, false)")
    op.execute("INSERT INTO round_result (round_id, dimension_id, score, level, respondents, low, high) "
               "SELECT d.assessment_id, d.dimension_id, d.score, d.level, "
               "CASE WHEN d.score IS NULL THEN 0 ELSE 1 END, d.score, d.score "
               "FROM dimension_result d JOIN assessment a ON a.id = d.assessment_id WHERE a.status = 'submitted'")
    # the latest closed round of each business and instrument version: overall, per quarter, per year
    for flag, period in (("is_latest", None), ("latest_in_quarter", "closed_quarter"),
                         ("latest_in_year", "closed_year")):
        same_period = f" AND r2.{period} = assessment_round.{period}" if period else ""
        op.execute(
            f"UPDATE assessment_round SET {flag} = (id = (SELECT r2.id FROM assessment_round r2 "
            "WHERE r2.business_id = assessment_round.business_id AND r2.instrument_id = assessment_round.instrument_id "
            "AND r2.instrument_version = assessment_round.instrument_version AND r2.status = 'closed'"
            f"{same_period} ORDER BY r2.closed_at DESC, r2.id DESC LIMIT 1)) WHERE status = 'closed'")
    # a branch (MST-xxx) is linked to its registered parent
    op.execute("UPDATE business SET parent_id = (SELECT p.id FROM business p "
               "WHERE p.tax_code = substr(business.tax_code, 1, 10)) WHERE length(tax_code) = 14")


def upgrade() -> None:
    bind = op.get_bind()
    _create_tables()
    with op.batch_alter_table("business") as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
    _move_data(bind)
    with op.batch_alter_table("business") as batch_op:
        batch_op.drop_index("ix_business_owner_id")
        batch_op.drop_column("owner_id")
        batch_op.drop_index("ix_business_tax_code")
        batch_op.create_unique_constraint("uq_business_tax_code", ["tax_code"])
        batch_op.create_index("ix_business_parent_id", ["parent_id"])
        batch_op.create_foreign_key("fk_business_parent_id", "business", ["parent_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("assessment") as batch_op:
        batch_op.alter_column("round_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_assessment_round_id", ["round_id"])
        batch_op.create_index("ix_assessment_respondent_id", ["respondent_id"])
        batch_op.create_foreign_key("fk_assessment_round_id", "assessment_round", ["round_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_foreign_key("fk_assessment_respondent_id", "user", ["respondent_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_check_constraint("ck_assessment_status", "status IN ('draft', 'submitted')")
    with op.batch_alter_table("user") as batch_op:
        batch_op.create_check_constraint("ck_user_role", "role IN ('owner', 'trainer', 'department', 'admin')")


def downgrade() -> None:
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_constraint("ck_user_role", type_="check")
    with op.batch_alter_table("assessment") as batch_op:
        batch_op.drop_constraint("ck_assessment_status", type_="check")
        batch_op.drop_constraint("fk_assessment_respondent_id", type_="foreignkey")
        batch_op.drop_constraint("fk_assessment_round_id", type_="foreignkey")
        batch_op.drop_index("ix_assessment_respondent_id")
        batch_op.drop_index("ix_assessment_round_id")
        batch_op.drop_column("respondent_role")
        batch_op.drop_column("respondent_id")
        batch_op.drop_column("round_id")
    with op.batch_alter_table("business") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
    # a business's first owner (or, with none left, its first member) owns it again
    op.execute("UPDATE business SET owner_id = (SELECT m.user_id FROM business_member m "
               "WHERE m.business_id = business.id ORDER BY m.role != 'owner', m.created_at, m.user_id LIMIT 1)")
    op.execute("DELETE FROM business WHERE owner_id IS NULL")
    with op.batch_alter_table("business") as batch_op:
        batch_op.drop_constraint("fk_business_parent_id", type_="foreignkey")
        batch_op.drop_index("ix_business_parent_id")
        batch_op.drop_column("parent_id")
        batch_op.drop_constraint("uq_business_tax_code", type_="unique")
        batch_op.create_index("ix_business_tax_code", ["tax_code"])
        batch_op.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_business_owner_id", ["owner_id"])
        batch_op.create_foreign_key("business_owner_id_fkey", "user", ["owner_id"], ["id"], ondelete="CASCADE")
    for table in ("rendered_chart", "cohort_member", "cohort_trainer", "cohort", "invitation", "round_result",
                  "assessment_round", "join_request", "business_member"):
        op.drop_table(table)
