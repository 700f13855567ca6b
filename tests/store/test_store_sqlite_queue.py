"""SQLite writers of one app queue on a lock; the lock is always given back."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from telespine.store import repo
from telespine.store.db import make_engine, make_sessionmaker, upgrade
from telespine.store.models import AuditEvent

KEY = "telespine_sqlite_write_lock"


def test_concurrent_writers_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with factory() as db:
                    repo.audit(db, actor=None, action="create", object_type="test", object_id=f"{n}-{i}")
                    db.commit()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == 80
    engine.dispose()


def test_lock_is_released_by_rollback_close_and_from_another_thread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'release.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    first = factory()
    repo.audit(first, actor=None, action="create", object_type="test")
    assert first.info.get(KEY)
    # FastAPI may end the session in another thread than the one that flushed.
    closer = threading.Thread(target=first.rollback)
    closer.start()
    closer.join()
    assert not first.info.get(KEY)
    second = factory()
    repo.audit(second, actor=None, action="create", object_type="test")
    assert second.info.get(KEY)  # the lock was free again
    second.close()  # close without commit or rollback also gives it back
    assert not second.info.get(KEY)
    third = factory()
    repo.audit(third, actor=None, action="create", object_type="test")
    third.commit()
    assert not third.info.get(KEY)
    third.close()
    engine.dispose()
