"""Shared fixtures: `db_url` runs a test on SQLite and on PostgreSQL, each a fresh migrated database."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules with browser tests first, then those with slow tests, then the rest, each
    module's tests together and in their order (module fixtures are made once per worker).

    pytest-xdist deals tests out in collection order: with the long browser walks at the end
    (tests/web/..._browser.py), one worker was still in them after the other had finished. Put
    first, the long tests are spread while plenty of short ones are left to even out the end.
    The order changes nothing else: tests may run in any order and on any worker.
    """
    rank: dict[object, int] = {}
    for item in items:
        module = item.path
        kind = 0 if item.get_closest_marker("browser") else 1 if item.get_closest_marker("slow") else 2
        rank[module] = min(rank.get(module, 2), kind)
    items.sort(key=lambda item: rank[item.path])  # stable: the order inside a rank is kept


class MigratedTemplates:
    """One database per kind migrated by Alembic once per test process (xdist worker); every
    fresh test database is a copy of it. Running the 15-odd migrations costs 0.4 s (SQLite) to
    0.8 s (PostgreSQL) a database, copying 5-60 ms; hundreds of tests ask for a fresh one.

    A second template per kind holds the demo data as well (`seeded_url`): seeding it costs
    0.5-1.5 s a database and some 40 modules on two databases each ask for it. It is seeded
    again when the UTC day has changed since, because the demo data is dated relative to the
    day it is seeded on (diary days, treatment start), as it was when each module seeded its own.

    SQLite: the template file is copied with SQLite's backup API (it reads through the WAL).
    PostgreSQL: `CREATE DATABASE ... TEMPLATE` (nobody stays connected to the template).
    The migrations themselves still run for real: on the templates (once per worker) and in
    tests/store (test_store_schema, test_store_case_backfill, ...); `db_url` is a copy too.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._pg: str | None = None
        self._seeded_sqlite: tuple[Path, dt.date] | None = None
        self._seeded_pg: tuple[str, dt.date] | None = None

    def _sqlite_template(self) -> Path:
        from telespine.store.db import upgrade

        if self._sqlite is None:
            template = self._folder / "template.sqlite3"
            upgrade(f"sqlite:///{template}")
            self._sqlite = template
        return self._sqlite

    def sqlite_copy(self, path: Path) -> str:
        _sqlite_backup(self._sqlite_template(), path)
        return f"sqlite:///{path}"

    def seeded_sqlite_copy(self, path: Path) -> str:
        """A new SQLite database with the schema and the demo data (`seed_demo`)."""
        today = _utc_today()
        if self._seeded_sqlite is None or self._seeded_sqlite[1] != today:
            template = self._folder / f"seeded-{today.isoformat()}.sqlite3"
            _sqlite_backup(self._sqlite_template(), template)
            _seed_demo_data(f"sqlite:///{template}")
            self._seeded_sqlite = (template, today)
        _sqlite_backup(self._seeded_sqlite[0], path)
        return f"sqlite:///{path}"

    def _pg_template(self) -> str | None:
        from telespine.store.db import upgrade

        if self._pg is None:
            created = _create_pg_database()
            if created is None:
                return None
            name, url = created
            upgrade(url)  # its engine is disposed: no connection to the template is left open
            self._pg = name
        return self._pg

    def pg_copy(self) -> tuple[str, str] | None:
        """A new database copied from the migrated template, or None when the server is away."""
        template = self._pg_template()
        return None if template is None else _pg_copy_of(template)

    def seeded_pg_copy(self) -> tuple[str, str] | None:
        """A new database with the schema and the demo data, or None when the server is away."""
        today = _utc_today()
        if self._seeded_pg is None or self._seeded_pg[1] != today:
            template = self._pg_template()
            if template is None:
                return None
            if self._seeded_pg is not None:
                _drop_pg_database(self._seeded_pg[0])
                self._seeded_pg = None
            name, url = _pg_copy_of(template)
            try:
                _seed_demo_data(url)  # its engine is disposed: nobody stays connected
            except BaseException:
                _drop_pg_database(name)  # never leave a half-seeded copy behind
                raise
            self._seeded_pg = (name, today)
        return _pg_copy_of(self._seeded_pg[0])

    def drop(self) -> None:
        if self._seeded_pg is not None:
            _drop_pg_database(self._seeded_pg[0])
        if self._pg is not None:
            _drop_pg_database(self._pg)


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _sqlite_backup(source: Path, path: Path) -> None:
    import sqlite3

    src = sqlite3.connect(source)
    dst = sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_copy_of(template: str) -> tuple[str, str]:
    import psycopg

    name = f"telespine_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_psycopg_dsn(_pg_admin_url()), autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, _with_database(_pg_admin_url(), name)


def _seed_demo_data(url: str) -> None:
    """The named demo users (alice, bob, carol + child, dr_dave, dr_erin, admin) and their
    example assessments, cases, diary entries, messages and scores (`services.demo.seed_demo`)."""
    from telespine.services.demo import seed_demo
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.web.clinical import run_triage

    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            seed_demo(db, triage=run_triage)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.drop()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Cheap argon2id parameters in tests: the production ones cost ~0.1-0.3 s per hash, and the
    suite signs in hundreds of times. The production parameters are checked in test_store_repo."""
    from argon2 import PasswordHasher

    from telespine.store import accounts

    production = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = production


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_templates: MigratedTemplates,
) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh database with the schema made by the Alembic migrations (a copy
    of the worker's migrated template), shared by the worker's tests of that kind."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "telespine-test.sqlite3"
        yield migrated_templates.sqlite_copy(path)
        return
    created = migrated_templates.pg_copy()
    if created is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (set TELESPINE_REQUIRE_POSTGRES=1 to fail)")
    name, url = created
    try:
        yield url
    finally:
        from sqlalchemy.orm import close_all_sessions

        close_all_sessions()
        _drop_pg_database(name)


@pytest.fixture
def clean_db(db_url: str, tmp_path: Path, migrated_templates: MigratedTemplates) -> Iterator[str]:
    """A brand-new migrated database of the same kind as db_url, for tests that need empty tables.

    A separate database (not db_url emptied) so that module-scoped data such as `seeded_url`
    is never wiped by a test that runs in between. A copy of the worker's migrated template
    (`MigratedTemplates`), the same schema the migrations make, without running them again.
    """
    if db_url.startswith("sqlite"):
        yield migrated_templates.sqlite_copy(tmp_path / "clean.sqlite3")
        return
    created = migrated_templates.pg_copy()
    if created is None:
        pytest.skip("PostgreSQL not reachable")
    name, url = created
    try:
        yield url
    finally:
        _drop_pg_database(name)


@pytest.fixture
def test_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment for code that reads settings itself: test mode with a real-looking secret."""
    monkeypatch.setenv("TELESPINE_ENV", "test")
    from telespine.web.testing import TEST_SECRET

    monkeypatch.setenv("TELESPINE_SECRET_KEY", TEST_SECRET)


# --- web app fixtures (telespine.web) ---------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_url(
    db_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_templates: MigratedTemplates,
    _fast_password_hashing: None,
) -> Iterator[str]:
    """A database of db_url's kind with the named demo users (alice, bob, carol + child, dr_dave,
    dr_erin, admin) and their example assessments, one for the module: a copy of the worker's
    seeded template (`MigratedTemplates`), dropped when the module is done. Not db_url itself:
    a module's `db_url` tests see none of the demo data."""
    if db_url.startswith("sqlite"):
        yield migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("seeded") / "seeded.sqlite3")
        return
    created = migrated_templates.seeded_pg_copy()
    if created is None:
        pytest.skip("PostgreSQL not reachable")
    name, url = created
    try:
        yield url
    finally:
        from sqlalchemy.orm import close_all_sessions

        close_all_sessions()
        _drop_pg_database(name)


class OnePdfPerHtml:
    """Stands in for weasyprint.HTML (the `one_pdf_per_html` fixture) where tests ask for the same
    plans' PDFs again and again (authorization walks: each user, each route, both databases). A
    PDF depends only on its HTML, so each distinct HTML is still rendered by the real WeasyPrint,
    once per test process (`rendered` is kept across tests); `asked` counts one test's PDFs.
    WeasyPrint is the most expensive call in the suite (0.5-2 s a PDF)."""

    rendered: ClassVar[dict[str, bytes]] = {}
    asked: ClassVar[int] = 0
    weasyprint_html: ClassVar[Any] = None  # the real weasyprint.HTML, set by the fixture

    def __init__(self, *, string: str) -> None:
        self.string = string

    def write_pdf(self) -> bytes:
        type(self).asked += 1
        if self.string not in self.rendered:
            self.rendered[self.string] = bytes(self.weasyprint_html(string=self.string).write_pdf())
        return self.rendered[self.string]


@pytest.fixture
def one_pdf_per_html(monkeypatch: pytest.MonkeyPatch) -> type[OnePdfPerHtml]:
    """weasyprint.HTML replaced by `OnePdfPerHtml` for one test; returns the class (`.asked`)."""
    import weasyprint

    from telespine.program import pdf_pool

    # PDFs in this process (an app made with warm_up=True earlier on this worker turns the helper
    # process on, where this patch would not apply)
    monkeypatch.setattr(pdf_pool, "_enabled", False)
    monkeypatch.setattr(OnePdfPerHtml, "weasyprint_html", weasyprint.HTML)
    monkeypatch.setattr(OnePdfPerHtml, "asked", 0)
    monkeypatch.setattr(weasyprint, "HTML", OnePdfPerHtml)
    return OnePdfPerHtml


@pytest.fixture
def make_client() -> Iterator[object]:
    """make_client(url, **settings) -> a TestClient of a fresh app on that database."""
    from fastapi.testclient import TestClient

    from telespine.web.app import create_app
    from telespine.web.testing import make_test_settings

    made: list[TestClient] = []

    def factory(url: str, **overrides: object) -> TestClient:
        app = create_app(make_test_settings(url, **overrides))
        client = TestClient(app, base_url="https://testserver")  # Secure cookies outside development
        made.append(client)
        return client

    yield factory
    for client in made:
        client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Debian Chromium (Playwright) for one test module's browser tests.

    Module scope on purpose: Playwright's sync API keeps an event loop running in the test
    thread while it is open, which breaks later tests of the same process that use asyncio
    (a session-wide browser made a WebSocket test hang).

    Skipped with a message when no browser is installed, except under the README test command
    and CI (TELESPINE_REQUIRE_BROWSER=1), where a missing browser is a failure.
    """
    from telespine.web.testing import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    if not Path(path).exists():
        if os.environ.get("TELESPINE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"no Chromium at {path} (TELESPINE_REQUIRE_BROWSER=1)")
        pytest.skip(f"no Chromium at {path}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()
