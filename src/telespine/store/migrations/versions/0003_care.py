"""clinician workspace and follow-up: cases, overrides, visits, messages, diary, escalations, reminders

Revision ID: 0003
Revises: 0002

Only the care tables: it works whether 0002 holds the program tables or is still empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_addresses",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_contact_addresses_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_contact_addresses")),
    )
    op.create_table(
        "care_cases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("assessment_id", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("clinic_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by_id", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=True),
        sa.Column("raised_reason", sa.String(length=500), nullable=True),
        sa.Column("treatment_started_on", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("red_flags_reviewed_through", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name=op.f("fk_care_cases_assessment_id_assessments")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"], ["users.id"], name=op.f("fk_care_cases_claimed_by_id_users")
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_care_cases_clinic_id_clinics")),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_care_cases_profile_id_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_cases")),
        sa.UniqueConstraint("assessment_id", name=op.f("uq_care_cases_assessment_id")),
    )
    with op.batch_alter_table("care_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_cases_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_cases_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "care_escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_care_escalations_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_escalations")),
        sa.UniqueConstraint("key", name=op.f("uq_care_escalations_key")),
    )
    with op.batch_alter_table("care_escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_escalations_case_id"), ["case_id"], unique=False)

    op.create_table(
        "care_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("from_patient", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("screening", sa.JSON(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_care_messages_author_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_care_messages_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_messages")),
    )
    with op.batch_alter_table("care_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_messages_case_id"), ["case_id"], unique=False)

    op.create_table(
        "diary_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pain", sa.Integer(), nullable=False),
        sa.Column("function", sa.Integer(), nullable=False),
        sa.Column("medicine_use", sa.String(length=32), nullable=False),
        sa.Column("red_flag_check", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_diary_entries_by_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_diary_entries_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diary_entries")),
    )
    with op.batch_alter_table("diary_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_diary_entries_case_id"), ["case_id"], unique=False)

    op.create_table(
        "disposition_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("assessment_version", sa.Integer(), nullable=False),
        sa.Column("from_disposition", sa.String(length=16), nullable=False),
        sa.Column("to_disposition", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("ruleset_sha256", sa.String(length=64), nullable=False),
        sa.Column("fired_rule_ids", sa.JSON(), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_disposition_overrides_by_id_users")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_disposition_overrides_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_overrides")),
    )
    with op.batch_alter_table("disposition_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposition_overrides_case_id"), ["case_id"], unique=False)

    op.create_table(
        "reminder_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("send_after", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_reminder_jobs_case_id_care_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_jobs_key")),
    )
    with op.batch_alter_table("reminder_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_jobs_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminder_jobs_status"), ["status"], unique=False)

    op.create_table(
        "visit_bookings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("visit_request_id", sa.String(length=32), nullable=True),
        sa.Column("clinician_id", sa.String(length=32), nullable=False),
        sa.Column("slot_start", sa.DateTime(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.JSON(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_visit_bookings_case_id_care_cases")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["users.id"], name=op.f("fk_visit_bookings_clinician_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["visit_request_id"],
            ["visit_requests.id"],
            name=op.f("fk_visit_bookings_visit_request_id_visit_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_bookings")),
        sa.UniqueConstraint("clinician_id", "slot_start", name="uq_visit_bookings_slot"),
    )
    with op.batch_alter_table("visit_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_bookings_case_id"), ["case_id"], unique=False)

    op.create_table(
        "visit_preferences",
        sa.Column("visit_request_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("preferred_times", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_request_id"],
            ["visit_requests.id"],
            name=op.f("fk_visit_preferences_visit_request_id_visit_requests"),
        ),
        sa.PrimaryKeyConstraint("visit_request_id", name=op.f("pk_visit_preferences")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:

    op.drop_table("visit_preferences")
    with op.batch_alter_table("visit_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_bookings_case_id"))

    op.drop_table("visit_bookings")
    with op.batch_alter_table("reminder_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_reminder_jobs_case_id"))

    op.drop_table("reminder_jobs")
    with op.batch_alter_table("disposition_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposition_overrides_case_id"))

    op.drop_table("disposition_overrides")
    with op.batch_alter_table("diary_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diary_entries_case_id"))

    op.drop_table("diary_entries")
    with op.batch_alter_table("care_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_messages_case_id"))

    op.drop_table("care_messages")
    with op.batch_alter_table("care_escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_escalations_case_id"))

    op.drop_table("care_escalations")
    with op.batch_alter_table("care_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_cases_profile_id"))
        batch_op.drop_index(batch_op.f("ix_care_cases_clinic_id"))

    op.drop_table("care_cases")
    op.drop_table("contact_addresses")
    # ### end Alembic commands ###
