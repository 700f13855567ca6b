"""tele-visits: hours and exceptions, call-back phones, booking changes, exam, plan, addenda

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinician_hours_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("clinician_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_clinician_hours_exceptions_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinician_hours_exceptions")),
        sa.UniqueConstraint("clinician_id", "day", name=op.f("uq_clinician_hours_exceptions_clinician_id")),
    )
    with op.batch_alter_table("clinician_hours_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinician_hours_exceptions_clinician_id"), ["clinician_id"], unique=False
        )

    op.create_table(
        "clinician_schedules",
        sa.Column("clinician_id", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_clinician_schedules_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("clinician_id", name=op.f("pk_clinician_schedules")),
    )
    op.create_table(
        "visit_phones",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_visit_phones_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_visit_phones")),
    )
    op.create_table(
        "visit_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("clinician_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("old_start", sa.DateTime(), nullable=True),
        sa.Column("new_start", sa.DateTime(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_visit_changes_by_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_visit_changes_case_id_care_cases")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_visit_changes_clinician_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_changes")),
    )
    with op.batch_alter_table("visit_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_changes_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_changes_case_id"), ["case_id"], unique=False)

    op.create_table(
        "visit_note_addenda",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=8000), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["visit_bookings.id"],
            name=op.f("fk_visit_note_addenda_booking_id_visit_bookings"),
        ),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_visit_note_addenda_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_note_addenda")),
    )
    with op.batch_alter_table("visit_note_addenda", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_note_addenda_booking_id"), ["booking_id"], unique=False)

    op.create_table(
        "visit_records",
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("exam", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["visit_bookings.id"], name=op.f("fk_visit_records_booking_id_visit_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_visit_records_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_visit_records")),
    )


def downgrade() -> None:
    op.drop_table("visit_records")
    with op.batch_alter_table("visit_note_addenda", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_note_addenda_booking_id"))

    op.drop_table("visit_note_addenda")
    with op.batch_alter_table("visit_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_changes_case_id"))
        batch_op.drop_index(batch_op.f("ix_visit_changes_booking_id"))

    op.drop_table("visit_changes")
    op.drop_table("visit_phones")
    op.drop_table("clinician_schedules")
    with op.batch_alter_table("clinician_hours_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinician_hours_exceptions_clinician_id"))

    op.drop_table("clinician_hours_exceptions")
