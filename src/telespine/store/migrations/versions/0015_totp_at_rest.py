"""two-step sign-in: secrets encrypted at rest, single-use recovery codes

Revision ID: 0015
Revises: 0014

totp_credentials.secret held the TOTP secret as it is; it now holds a Fernet token
(telespine.store.datakeys), 140 characters for pyotp's 32-character secrets, so the column
widens to 255 and every existing secret is encrypted here with the first data key of the
settings (TELESPINE_DATA_KEY, else the key derived from TELESPINE_SECRET_KEY). The keys come
from `upgrade(url, data_keys=...)` when the caller gives them, else from the environment. The
downgrade decrypts them again. New table totp_recovery_codes (argon2id hashes, single use).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from telespine.store.datakeys import DataCipher, keys_of, looks_plain

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _cipher() -> DataCipher:
    keys: Sequence[str] | None = context.config.attributes.get("data_keys")
    if not keys:
        from telespine.settings import Settings

        keys = keys_of(Settings())
    return DataCipher(list(keys))


def _rewrite(encrypt: bool) -> None:
    bind = op.get_bind()
    table = sa.table("totp_credentials", sa.column("user_id", sa.String()), sa.column("secret", sa.String()))
    rows = bind.execute(sa.select(table.c.user_id, table.c.secret)).all()
    todo = [(uid, secret) for uid, secret in rows if looks_plain(secret) == encrypt]
    if not todo:
        return  # nothing to change: no key is needed
    cipher = _cipher()
    for uid, secret in todo:
        value = cipher.encrypt(secret) if encrypt else cipher.decrypt(secret)
        bind.execute(sa.update(table).where(table.c.user_id == uid).values(secret=value))


def upgrade() -> None:
    with op.batch_alter_table("totp_credentials") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=64), type_=sa.String(length=255), existing_nullable=False
        )
    _rewrite(encrypt=True)
    op.create_table(
        "totp_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_totp_recovery_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_recovery_codes")),
    )
    op.create_index(op.f("ix_totp_recovery_codes_user_id"), "totp_recovery_codes", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_totp_recovery_codes_user_id"), table_name="totp_recovery_codes")
    op.drop_table("totp_recovery_codes")
    _rewrite(encrypt=False)
    with op.batch_alter_table("totp_credentials") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=255), type_=sa.String(length=64), existing_nullable=False
        )
