"""indexes for the keyset pages of the assessments list

Revision ID: 0011
Revises: 0010

GET /api/v1/assessments reads one page at a time, newest first (created_at, then id): for a
clinician across the clinic's profiles, for a patient or parent across their own profiles.
These two indexes let each page be read in index order, whatever the number of assessments.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_assessments_created_at_id", "assessments", ["created_at", "id"])
    op.create_index(
        "ix_assessments_profile_id_created_at_id", "assessments", ["profile_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_assessments_profile_id_created_at_id", table_name="assessments")
    op.drop_index("ix_assessments_created_at_id", table_name="assessments")
