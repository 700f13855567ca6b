"""the clinician queue's stored sort key on care_cases, under one index

Revision ID: 0014
Revises: 0013

The queue page ordered the clinic's open cases by a level computed per page (latest version,
latest override, active escalation floors), which scanned every open case. The order is now
stored on the case (queue_level, queue_held, queue_since; kept by store/queue_order.py on every
flush that touches a version, an override, a floor or a case's raised_at) under the index
ix_care_cases_queue, so a page is one range of that index. This revision adds the columns,
fills them for existing cases (the same statement as queue_order.key_values, frozen here) and
makes the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_LEVELS = {"emergency": 1, "urgent": 2, "prompt": 3, "routine": 4, "telemedicine": 5}


def _level(column: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
    return sa.case(_LEVELS, value=column, else_=sa.literal(1))


def _backfill() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    cases = sa.Table("care_cases", meta, autoload_with=bind)
    versions = sa.Table("assessment_versions", meta, autoload_with=bind)
    overrides = sa.Table("disposition_overrides", meta, autoload_with=bind)
    floors = sa.Table("care_escalation_floors", meta, autoload_with=bind)
    v = versions.alias("v")
    latest = (
        sa.select(sa.func.max(v.c.version))
        .where(v.c.assessment_id == cases.c.assessment_id)
        .correlate(cases)
        .scalar_subquery()
    )
    lv = versions.alias("lv")
    newest = (
        sa.select().where(lv.c.assessment_id == cases.c.assessment_id).order_by(lv.c.version.desc()).limit(1)
    )
    engine_level = newest.add_columns(_level(lv.c.disposition)).scalar_subquery()
    created = newest.add_columns(lv.c.created_at).scalar_subquery()
    ov = overrides.alias("ov")
    override_level = (
        sa.select(sa.case((ov.c.assessment_version == latest, _level(ov.c.to_disposition)), else_=None))
        .where(ov.c.case_id == cases.c.id)
        .order_by(ov.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    clinician = sa.func.coalesce(override_level, engine_level)
    fl = floors.alias("fl")
    floor_level = (
        sa.select(sa.func.min(_level(fl.c.level)))
        .where(fl.c.case_id == cases.c.id, fl.c.cleared_at.is_(None))
        .scalar_subquery()
    )
    fr = floors.alias("fr")
    floor_raised = (
        sa.select(fr.c.raised_at)
        .where(fr.c.case_id == cases.c.id, fr.c.cleared_at.is_(None))
        .order_by(_level(fr.c.level), fr.c.raised_at)
        .limit(1)
        .scalar_subquery()
    )
    bind.execute(
        sa.update(cases).values(
            queue_level=sa.case(
                (sa.and_(floor_level.is_not(None), floor_level < clinician), floor_level), else_=clinician
            ),
            queue_held=sa.case(
                (sa.or_(cases.c.raised_at.is_not(None), floor_level.is_not(None)), 0), else_=1
            ),
            queue_since=sa.func.coalesce(cases.c.raised_at, floor_raised, created),
        )
    )


def upgrade() -> None:
    with op.batch_alter_table("care_cases") as batch:
        batch.add_column(sa.Column("queue_level", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("queue_held", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("queue_since", sa.DateTime(), nullable=True))
    _backfill()
    op.create_index(
        "ix_care_cases_queue",
        "care_cases",
        ["clinic_id", "status", "queue_level", "queue_held", "queue_since", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_care_cases_queue", table_name="care_cases")
    with op.batch_alter_table("care_cases") as batch:
        batch.drop_column("queue_since")
        batch.drop_column("queue_held")
        batch.drop_column("queue_level")
