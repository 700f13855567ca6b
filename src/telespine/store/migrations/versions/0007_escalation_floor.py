"""escalations stick: escalation floors, the automatic reply to messages, the red-flag check

Revision ID: 0007
Revises: 0006

A level raised by a red flag or a clinician's override is kept as a floor until a clinician
clears it with a reason. Overrides made before this revision that raised the level become
floors, so they keep holding after a new patient version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEVEL = {"emergency": 1, "urgent": 2, "prompt": 3, "routine": 4, "telemedicine": 5}


def upgrade() -> None:
    op.create_table(
        "care_escalation_floors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("raised_by_id", sa.String(length=32), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by_id", sa.String(length=32), nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_care_escalation_floors_case_id_care_cases")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["users.id"], name=op.f("fk_care_escalation_floors_raised_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["cleared_by_id"], ["users.id"], name=op.f("fk_care_escalation_floors_cleared_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_escalation_floors")),
    )
    with op.batch_alter_table("care_escalation_floors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_escalation_floors_case_id"), ["case_id"], unique=False)
    op.create_table(
        "care_red_flag_checks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("by_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_cases.id"], name=op.f("fk_care_red_flag_checks_case_id_care_cases")
        ),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_care_red_flag_checks_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_red_flag_checks")),
    )
    with op.batch_alter_table("care_red_flag_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_red_flag_checks_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("care_messages") as batch:
        batch.alter_column("author_id", existing_type=sa.String(length=32), nullable=True)
        batch.add_column(sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reply_to_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("offers_check", sa.Boolean(), nullable=False, server_default=sa.false()))
    _floors_from_overrides()


def _floors_from_overrides() -> None:
    """An override that made the level more urgent becomes a floor (raised when it was made)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, case_id, from_disposition, to_disposition, by_id, created_at "
            "FROM disposition_overrides"
        )
    ).all()
    floors = sa.table(
        "care_escalation_floors",
        sa.column("case_id", sa.String),
        sa.column("source", sa.String),
        sa.column("ref", sa.String),
        sa.column("level", sa.String),
        sa.column("reason", sa.String),
        sa.column("raised_at", sa.DateTime),
        sa.column("raised_by_id", sa.String),
    )
    new = [
        {
            "case_id": r.case_id,
            "source": "override",
            "ref": str(r.id),
            "level": r.to_disposition,
            "reason": "A clinician made the result more urgent.",
            "raised_at": r.created_at,
            "raised_by_id": r.by_id,
        }
        for r in rows
        if LEVEL.get(r.to_disposition, 1) < LEVEL.get(r.from_disposition, 1)
    ]
    if new:
        op.bulk_insert(floors, new)


def downgrade() -> None:
    with op.batch_alter_table("care_messages") as batch:
        batch.drop_column("offers_check")
        batch.drop_column("reply_to_id")
        batch.drop_column("automatic")
    # Automatic replies have no author: they cannot survive a schema that requires one.
    op.execute(sa.text("DELETE FROM care_messages WHERE author_id IS NULL"))
    with op.batch_alter_table("care_messages") as batch:
        batch.alter_column("author_id", existing_type=sa.String(length=32), nullable=False)
    with op.batch_alter_table("care_red_flag_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_red_flag_checks_case_id"))
    op.drop_table("care_red_flag_checks")
    with op.batch_alter_table("care_escalation_floors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_escalation_floors_case_id"))
    op.drop_table("care_escalation_floors")
