"""assessment versions keep the questionnaire answers apart from the findings

Revision ID: 0004
Revises: 0003

A safety-net save (the answers could not become findings) used to store {"answers": ...} in the
findings column; the answers now have their own column and findings stay findings documents.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessment_versions") as batch:
        batch.add_column(sa.Column("answers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessment_versions") as batch:
        batch.drop_column("answers")
