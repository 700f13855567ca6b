"""when a clinician last reviewed a case's red flags (care_cases.red_flags_reviewed_at)

Revision ID: 0017
Revises: 0016

The rules skipped a report as "already reviewed" by the day it was for (red_flags_reviewed_through,
the patient's yesterday at the review). A missed day filled in after the review, or a message
sent after a change of time zone, was skipped too and never escalated. A report now counts as
reviewed only when it was stored at or before this instant (services.followup.handled).

Backfill, on the safe side (never more reports marked as reviewed than before): an old review
"through day D" becomes D 09:59:59.999999 UTC, the last instant that is still day D or earlier
in every time zone (UTC+14 at the most). A report stored up to then was for day D or before in
any zone, so the old rule skipped it as well; reports the old rule skipped after that instant
count again (their stored keys keep them from escalating twice).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_LAST_SAFE = dt.time(9, 59, 59, 999999)  # day D ends at 10:00 UTC in UTC+14


def upgrade() -> None:
    with op.batch_alter_table("care_cases") as batch:
        batch.add_column(sa.Column("red_flags_reviewed_at", sa.DateTime(), nullable=True))
    bind = op.get_bind()
    cases = sa.table(
        "care_cases",
        sa.column("id", sa.String()),
        sa.column("red_flags_reviewed_through", sa.Date()),
        sa.column("red_flags_reviewed_at", sa.DateTime()),
    )
    rows = bind.execute(
        sa.select(cases.c.id, cases.c.red_flags_reviewed_through).where(
            cases.c.red_flags_reviewed_through.is_not(None)
        )
    ).all()
    for case_id, through in rows:
        day = through if isinstance(through, dt.date) else dt.date.fromisoformat(str(through))
        bind.execute(
            sa.update(cases)
            .where(cases.c.id == case_id)
            .values(red_flags_reviewed_at=dt.datetime.combine(day, _LAST_SAFE))  # naive UTC, as stored
        )


def downgrade() -> None:
    with op.batch_alter_table("care_cases") as batch:
        batch.drop_column("red_flags_reviewed_at")
