"""CDS Hooks: cards issued, feedback on them (beside the rule-set feedback), JWT ids used

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_cards_issued",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("indicator", sa.String(length=16), nullable=False),
        sa.Column("assessment_id", sa.String(length=32), nullable=True),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("ruleset_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_cds_cards_issued")),
    )
    with op.batch_alter_table("cds_cards_issued", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cds_cards_issued_assessment_id"), ["assessment_id"], unique=False
        )
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("card_uuid", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_reason_system", sa.String(length=255), nullable=True),
        sa.Column("override_reason_code", sa.String(length=64), nullable=True),
        sa.Column("override_reason_display", sa.String(length=255), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(), nullable=False),
        sa.Column("rule_ids", sa.JSON(), nullable=True),
        sa.Column("ruleset_version", sa.String(length=64), nullable=True),
        sa.Column("ruleset_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
    )
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cds_feedback_card_uuid"), ["card_uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_cds_feedback_service_id"), ["service_id"], unique=False)
    op.create_table(
        "cds_token_uses",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cds_token_uses")),
    )
    with op.batch_alter_table("cds_token_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cds_token_uses_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("cds_token_uses")
    op.drop_table("cds_feedback")
    op.drop_table("cds_cards_issued")
