"""the /clinic table's stored sort key on assessments, under one index

Revision ID: 0018
Revises: 0017

The /clinic page ordered a clinic's assessments by the level of each one's latest version,
computed per page: every page joined and sorted all of the clinic's assessments (39x its time
at 1,000 when the clinic had 50,000). The key is now stored on the assessment (list_clinic_id:
a copy of its profile's clinic; list_level: the latest version's engine level, 1-5), kept by
store/queue_order.py on every flush that adds an assessment or a version, under the index
ix_assessments_clinic_list (clinic, level, created_at DESC, id DESC), so a page is one range of
that index. This revision adds the columns, fills them (the same statement as
queue_order.assessment_key_values, frozen here) and makes the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_LEVELS = {"emergency": 1, "urgent": 2, "prompt": 3, "routine": 4, "telemedicine": 5}


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("list_clinic_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("list_level", sa.Integer(), nullable=True))
    bind = op.get_bind()
    meta = sa.MetaData()
    assessments = sa.Table("assessments", meta, autoload_with=bind)
    versions = sa.Table("assessment_versions", meta, autoload_with=bind)
    profiles = sa.Table("profiles", meta, autoload_with=bind)
    lv = versions.alias("lv")
    level = (
        sa.select(sa.case(_LEVELS, value=lv.c.disposition, else_=sa.literal(1)))
        .where(lv.c.assessment_id == assessments.c.id)
        .order_by(lv.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    clinic = (
        sa.select(profiles.c.clinic_id).where(profiles.c.id == assessments.c.profile_id).scalar_subquery()
    )
    bind.execute(sa.update(assessments).values(list_clinic_id=clinic, list_level=level))
    op.create_index(
        "ix_assessments_clinic_list",
        "assessments",
        ["list_clinic_id", "list_level", sa.text("created_at DESC"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_assessments_clinic_list", table_name="assessments")
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of the table would have to
    # drop it, which the foreign keys of versions and cases refuse once it holds rows
    op.drop_column("assessments", "list_level")
    op.drop_column("assessments", "list_clinic_id")
