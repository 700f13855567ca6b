"""The Alembic migrations create the schema, agree with the models, and downgrade cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from telespine.store.db import current_revision, downgrade, head_revision, make_engine, upgrade
from telespine.store.models import Base


def test_migrations_create_every_model_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables
    assert current_revision(db_url) == head_revision()
    assert head_revision() >= "0003"


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(clean_db: str) -> None:
    downgrade(clean_db, "base")
    engine = make_engine(clean_db)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(clean_db)
    assert current_revision(clean_db) == head_revision()
