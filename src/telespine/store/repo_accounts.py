"""Account security in the database: atomic attempt counters (login, sign-up, reset requests).

A counter row per key holds the attempts of the current fixed window. `count_attempt` adds one
and returns the new count in a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so two
requests (threads, workers or machines) never read the same old count: the database orders
them. Works on SQLite (3.35 or later) and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, case, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from telespine.store.models import UTCDateTime, utcnow
from telespine.store.models_accounts import LoginCounter

_T: Table = LoginCounter.__table__  # type: ignore[assignment]
KEY_LENGTH = 200


def counter_key(kind: str, *parts: str) -> str:
    return ":".join((kind, *(p.replace(":", "_") for p in parts)))[:KEY_LENGTH]


def count_attempt(db: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """Add one attempt to key's window (a new window when the old one is over); the new count.

    Runs in the caller's transaction: commit right after, before any slow work, so that the row
    lock on PostgreSQL is held only for the statement.
    """
    now = now or utcnow()
    cut = now - window
    at = literal(now, type_=UTCDateTime())
    over = _T.c.window_start < literal(cut, type_=UTCDateTime())
    insert = (postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert)(_T)
    stmt = (
        insert.values(key=key[:KEY_LENGTH], count=1, window_start=at)
        .on_conflict_do_update(
            index_elements=[_T.c.key],
            set_={
                "count": case((over, 1), else_=_T.c.count + 1),
                "window_start": case((over, at), else_=_T.c.window_start),
            },
        )
        .returning(_T.c.count)
    )
    return int(db.execute(stmt).scalar_one())


def reset_counter(db: Session, key: str) -> None:
    """Start the key's count again (a successful sign-in clears that pair's failures)."""
    db.execute(update(_T).where(_T.c.key == key[:KEY_LENGTH]).values(count=0))


def refund_attempt(db: Session, key: str) -> None:
    """Take back one attempt (a successful sign-in is not a failure of its address)."""
    db.execute(update(_T).where(_T.c.key == key[:KEY_LENGTH], _T.c.count > 0).values(count=_T.c.count - 1))


def current_count(db: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """The count of key's current window, without adding to it."""
    row = db.get(LoginCounter, key[:KEY_LENGTH])
    if row is None or row.window_start < (now or utcnow()) - window:
        return 0
    return row.count
