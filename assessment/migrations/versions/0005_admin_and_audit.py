"""the audit log: every access to somebody else's data, append-only on PostgreSQL

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# PostgreSQL refuses every UPDATE and DELETE of a row, except the erasure tombstone rewrite
# (assessment.audit.replace_person): the actor, or a person as the object, replaced by an
# "erased-..." id and the client address emptied, nothing else changed. SQLite has no such guard: it
# is the single-user demo and test database, and its file is the operator's to edit anyway.
GUARD = """
CREATE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor_role = OLD.actor_role
     AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
     AND (NEW.actor = OLD.actor OR NEW.actor LIKE 'erased-%')
     AND (NEW.object_id = OLD.object_id OR (NEW.object_type = 'user' AND NEW.object_id LIKE 'erased-%'))
     AND (NEW.client = OLD.client OR NEW.client = '')
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit log cannot be changed' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_guard();
"""


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", String(length=40), nullable=False),
        sa.Column("actor_role", String(length=16), nullable=False),
        sa.Column("action", String(length=40), nullable=False),
        sa.Column("object_type", String(length=20), nullable=False),
        sa.Column("object_id", String(length=40), nullable=False),
        sa.Column("client", String(length=45), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_actor", "audit_event", ["actor", "at"])
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_guard()")
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.drop_index("ix_audit_event_actor", table_name="audit_event")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_table("audit_event")
