"""Engines, sessions and Alembic migrations (the migrations are what creates the schema)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_WAIT = 10.0
log = logging.getLogger("telespine.store")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for url; SQLite gets foreign keys on and a busy timeout for concurrent writers.

    Statement parameters never appear in an error's message or a log line (hide_parameters),
    and statements are not echoed: they carry health data (issue 13).
    """
    kwargs["hide_parameters"] = True
    kwargs["echo"] = False
    if url.startswith("sqlite"):
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            kwargs.setdefault("poolclass", StaticPool)
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    if engine.dialect.name == "sqlite":
        _queue_sqlite_writers(factory)
    return factory


def _queue_sqlite_writers(factory: sessionmaker[Session]) -> None:
    """Let this process's SQLite writers wait in line on a lock instead of polling the file lock.

    SQLite allows one writer; the others retry with growing sleeps, which gives a long latency
    tail under concurrent saves. The lock is taken at a session's first flush and given back when
    its outermost transaction ends (commit, rollback or close). A plain Lock, not an RLock: FastAPI
    may end a session in another thread than the one that flushed. If it cannot be had within
    LOCK_WAIT seconds the writer goes ahead anyway and SQLite's own locking decides, so a leaked
    lock slows writers down but never stops them.
    """
    lock = threading.Lock()
    key = "telespine_sqlite_write_lock"

    @event.listens_for(factory, "before_flush")
    def _take(session: Session, *_: Any) -> None:
        if not session.info.get(key):
            if lock.acquire(timeout=LOCK_WAIT):
                session.info[key] = True
            else:
                log.warning("SQLite write queue: lock not free after %ss, writing without it", LOCK_WAIT)

    @event.listens_for(factory, "after_transaction_end")
    def _give(session: Session, transaction: Any) -> None:
        if transaction.parent is None and session.info.pop(key, False):
            lock.release()


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used; the message is one line and holds no password."""


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unreadable URL)"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError):
        return f"its driver ({exc.name}) is not installed; telespine runs on SQLite and PostgreSQL"
    if isinstance(exc, NoSuchModuleError):
        return "this kind of database is not supported; telespine runs on SQLite and PostgreSQL"
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return (lines[0][:300] if lines else type(inner).__name__).rstrip(".")


def check_database(url: str, timeout_seconds: int = 10) -> None:
    """Connect once; DatabaseUnavailable (one line, no password) when the URL cannot be used."""
    try:
        connect_args: dict[str, Any] = {}
        if url.startswith("postgresql"):
            connect_args["connect_timeout"] = timeout_seconds  # an unreachable host fails in seconds
        engine = make_engine(url, connect_args=connect_args) if connect_args else make_engine(url)
    except Exception as exc:
        raise DatabaseUnavailable(f"cannot use {safe_url(url)}: {_reason(exc)}") from None
    try:
        with engine.connect():
            pass
    except Exception as exc:
        raise DatabaseUnavailable(f"cannot connect to {safe_url(url)}: {_reason(exc)}") from None
    finally:
        engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic config that needs no alembic.ini: the scripts live inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head", data_keys: Sequence[str] | None = None) -> None:
    """Apply migrations up to revision. data_keys: the Fernet keys a migration that encrypts
    stored secrets uses (0015; telespine.store.datakeys.keys_of), else the environment's."""
    cfg = alembic_config(url)
    cfg.attributes["data_keys"] = data_keys
    command.upgrade(cfg, revision)


def downgrade(url: str, revision: str, data_keys: Sequence[str] | None = None) -> None:
    cfg = alembic_config(url)
    cfg.attributes["data_keys"] = data_keys
    command.downgrade(cfg, revision)


def head_revision() -> str:
    """The newest revision of the migration scripts (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:  # no migration scripts at all: the package is broken
        raise RuntimeError("no Alembic migration scripts found")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
