"""questionnaire format v2: longer answers

A multi-choice answer is its option ids joined by "|": a 40-tool inventory with 64-character ids
overflows the old 800 characters, so ``answer.value`` becomes unbounded text. A table row's answer is
stored under ``<table>.<row>`` (two 64-character ids and a dot), so ``answer.question_id`` takes 129.

The downgrade refuses, naming how many, when an answer would not fit the old columns (it would be
cut short or fail half-way): such answers belong to format v2 instruments the old code cannot read.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString as String

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_ID, NEW_ID, OLD_VALUE = 64, 129, 800


def upgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.alter_column("question_id", existing_type=String(length=OLD_ID), type_=String(length=NEW_ID),
                              existing_nullable=False)
        batch_op.alter_column("value", existing_type=String(length=OLD_VALUE), type_=sa.Text(),
                              existing_nullable=False)


def downgrade() -> None:
    answer = sa.table("answer", sa.column("question_id", sa.String()), sa.column("value", sa.Text()))
    too_long = op.get_bind().execute(sa.select(sa.func.count()).select_from(answer).where(sa.or_(
        sa.func.length(answer.c.question_id) > OLD_ID, sa.func.length(answer.c.value) > OLD_VALUE))).scalar()
    if too_long:
        raise RuntimeError(f"cannot downgrade below 0009: {too_long} answer(s) have a question id over {OLD_ID} "
                           f"or a value over {OLD_VALUE} characters (format v2 tables and long checklists)")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.Text(), type_=String(length=OLD_VALUE),
                              existing_nullable=False)
        batch_op.alter_column("question_id", existing_type=String(length=NEW_ID), type_=String(length=OLD_ID),
                              existing_nullable=False)
