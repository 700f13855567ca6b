"""medicine diary entries and lessons read (issue 14)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "medicine_diary_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("taken", sa.JSON(), nullable=False),
        sa.Column("warning_signs", sa.JSON(), nullable=False),
        sa.Column("other_effects", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_medicine_diary_entries_by_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_medicine_diary_entries_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medicine_diary_entries")),
    )
    with op.batch_alter_table("medicine_diary_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_medicine_diary_entries_case_id"), ["case_id"], unique=False)

    op.create_table(
        "lesson_reads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("lesson_id", sa.String(length=40), nullable=False),
        sa.Column("lesson_version", sa.String(length=16), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_lesson_reads_by_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_lesson_reads_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_reads")),
        sa.UniqueConstraint("case_id", "lesson_id", "lesson_version", name=op.f("uq_lesson_reads_case_id")),
    )
    with op.batch_alter_table("lesson_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lesson_reads_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("lesson_reads")
    op.drop_table("medicine_diary_entries")
