"""diary notes are screened like messages

Revision ID: 0006
Revises: 0005

A diary note such as "I can't feel my groin" was stored but never screened for red flags.
Older notes stay unscreened (null) here; repo_care screens them the next time the case's
follow-up rules run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("diary_entries") as batch:
        batch.add_column(sa.Column("note_screening", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("note_flagged", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("diary_entries") as batch:
        batch.drop_column("note_flagged")
        batch.drop_column("note_screening")
