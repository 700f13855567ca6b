"""every saved assessment has its care case

Revision ID: 0005
Revises: 0004

Cases used to be made lazily by GET pages (the queue, /care) and the worker; they are now made
when the assessment is saved, and this migration gives older assessments theirs, so no GET
request has to write.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    assessments = sa.Table("assessments", meta, autoload_with=bind)
    profiles = sa.Table("profiles", meta, autoload_with=bind)
    cases = sa.Table("care_cases", meta, autoload_with=bind)
    missing = bind.execute(
        sa.select(assessments.c.id, assessments.c.profile_id, assessments.c.created_at, profiles.c.clinic_id)
        .join(profiles, profiles.c.id == assessments.c.profile_id)
        .outerjoin(cases, cases.c.assessment_id == assessments.c.id)
        .where(cases.c.id.is_(None))
    ).all()
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4().hex,
            "assessment_id": a.id,
            "profile_id": a.profile_id,
            "clinic_id": a.clinic_id,
            "status": "open",
            "treatment_started_on": (a.created_at or now).date(),
            "timezone": "UTC",
            "created_at": now,
        }
        for a in missing
    ]
    if rows:
        op.bulk_insert(cases, rows)


def downgrade() -> None:
    """Nothing to undo: the cases are valid rows either way."""
