"""check-ins and remote monitoring: care_checkins, steps_uploads, daily_steps (issue 14)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_checkins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("diary_entry_id", sa.String(length=32), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pain", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("shown", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_care_checkins_by_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_care_checkins_case_id_care_cases")
        ),
        sa.ForeignKeyConstraint(
            ["diary_entry_id"],
            ["diary_entries.id"],
            name=op.f("fk_care_checkins_diary_entry_id_diary_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_checkins")),
    )
    with op.batch_alter_table("care_checkins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_checkins_case_id"), ["case_id"], unique=False)

    op.create_table(
        "steps_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_steps_uploads_by_id_users")),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_steps_uploads_profile_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps_uploads")),
    )
    with op.batch_alter_table("steps_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steps_uploads_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "daily_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_daily_steps_profile_id_profiles")
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["steps_uploads.id"], name=op.f("fk_daily_steps_upload_id_steps_uploads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_steps")),
        sa.UniqueConstraint("profile_id", "day", name=op.f("uq_daily_steps_profile_id")),
    )
    with op.batch_alter_table("daily_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_daily_steps_profile_id"), ["profile_id"], unique=False)


def downgrade() -> None:
    op.drop_table("daily_steps")
    op.drop_table("steps_uploads")
    op.drop_table("care_checkins")
