"""Shared fixtures: `db_url` runs a test on SQLite and on PostgreSQL, each a fresh migrated database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-telespine-0123456789"


def _pg_admin_url() -> str:
    """The PostgreSQL server to create test databases on (TELESPINE_TEST_PG_URL overrides)."""
    return os.environ.get("TELESPINE_TEST_PG_URL", PG_DEFAULT)


def _psycopg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _create_pg_database() -> tuple[str, str] | None:
    """A fresh database on the test server, or None when the server cannot be reached."""
    import psycopg

    admin = _pg_admin_url()
    name = f"telespine_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_psycopg_dsn(admin), autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("TELESPINE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (TELESPINE_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        return None
    return name, _with_database(admin, name)


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_dsn(_pg_admin_url()), autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh database with the schema made by the Alembic migrations."""
    from telespine.store.db import upgrade

    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "telespine-test.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    created = _create_pg_database()
    if created is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (set TELESPINE_REQUIRE_POSTGRES=1 to fail)")
    name, url = created
    try:
        upgrade(url)
        yield url
    finally:
        from sqlalchemy.orm import close_all_sessions

        close_all_sessions()
        _drop_pg_database(name)


@pytest.fixture
def clean_db(db_url: str) -> Iterator[str]:
    """db_url, emptied of rows after the test so that tests sharing the database stay independent."""
    yield db_url
    from sqlalchemy import text

    from telespine.store.db import make_engine
    from telespine.store.models import Base

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DELETE FROM "{table.name}"'))
    finally:
        engine.dispose()


@pytest.fixture
def test_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment for code that reads settings itself: test mode with a real-looking secret."""
    monkeypatch.setenv("TELESPINE_ENV", "test")
    monkeypatch.setenv("TELESPINE_SECRET_KEY", TEST_SECRET)
