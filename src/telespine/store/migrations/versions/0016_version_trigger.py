"""assessment versions: made by the system (no user) with their trigger

Revision ID: 0016
Revises: 0015

An automatic re-triage by the follow-up rules (a red flag in a diary entry or a message) was
stored as made by the patient. assessment_versions.created_by_id may now be NULL (the system),
and the new column trigger says what set the version off ("<source>:<rule ids>"). Existing rows
keep their author: which of them were automatic is not known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessment_versions") as batch:
        batch.alter_column("created_by_id", existing_type=sa.String(length=32), nullable=True)
        batch.add_column(sa.Column("trigger", sa.String(length=64), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    versions = sa.table(
        "assessment_versions",
        sa.column("assessment_id", sa.String()),
        sa.column("created_by_id", sa.String()),
    )
    assessments = sa.table(
        "assessments", sa.column("id", sa.String()), sa.column("created_by_id", sa.String())
    )
    # Back to the old attribution: the assessment's author (the patient or parent).
    owner = sa.select(assessments.c.created_by_id).where(assessments.c.id == versions.c.assessment_id)
    back = owner.scalar_subquery()
    bind.execute(sa.update(versions).where(versions.c.created_by_id.is_(None)).values(created_by_id=back))
    with op.batch_alter_table("assessment_versions") as batch:
        batch.drop_column("trigger")
        batch.alter_column("created_by_id", existing_type=sa.String(length=32), nullable=False)
