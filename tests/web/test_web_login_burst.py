"""The login limit holds under parallel attempts (issue 13): the attempt is counted atomically
before the password check, in one process and across two worker processes, and hashing is
bounded per process (503 with Retry-After when every slot stays busy)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from telespine.store import accounts, repo
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import LoginAttempt

BURST = 30
LIMIT = 5


def _add_user(url: str, name: str = "dana", password: str = "dana has a long password") -> None:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            repo.create_user(db, username=name, password=password, role="patient")
            db.commit()
    finally:
        engine.dispose()


def _checks(url: str) -> int:
    """Password checks done: every checked attempt is recorded, a refused one is not."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            return int(db.scalar(select(func.count()).select_from(LoginAttempt)) or 0)
    finally:
        engine.dispose()


def _burst(post: Callable[[int], int]) -> list[int]:
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(pool.map(post, range(BURST)))


def test_parallel_wrong_passwords_get_at_most_the_limit_of_checks(
    make_client: Callable[..., Any], clean_db: str
) -> None:
    _add_user(clean_db)
    app = make_client(clean_db, login_max_failures_per_account=LIMIT).app
    from fastapi.testclient import TestClient

    def post(i: int) -> int:
        with TestClient(app, base_url="https://testserver") as client:
            r = client.post(
                "/api/v1/auth/login", json={"username": "dana", "password": f"wrong password {i}"}
            )
            return r.status_code

    codes = _burst(post)
    assert _checks(clean_db) <= LIMIT
    assert codes.count(401) == _checks(clean_db)
    assert set(codes) <= {401, 429, 503}
    assert codes.count(429) >= BURST - LIMIT - codes.count(503)


@pytest.mark.slow
def test_parallel_wrong_passwords_with_two_workers(clean_db: str, tmp_path: Path) -> None:
    from telespine.web.testing_server import serve

    _add_user(clean_db)
    with (
        serve(clean_db, tmp_path / "server.log", workers=2) as served,
        httpx.Client(base_url=served.url, timeout=60) as client,
    ):

        def post(i: int) -> int:
            r = client.post("/api/v1/auth/login", json={"username": "dana", "password": f"wrong {i} pw"})
            return r.status_code

        codes = _burst(post)
        # Throttled for the real password too, from this address.
        right = client.post(
            "/api/v1/auth/login", json={"username": "dana", "password": "dana has a long password"}
        )
    checks = _checks(clean_db)
    assert checks <= LIMIT, (checks, codes)
    assert codes.count(401) == checks and set(codes) <= {401, 429, 503}
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


def test_hashing_is_bounded_per_process(make_client: Callable[..., Any], clean_db: str) -> None:
    _add_user(clean_db)
    client = make_client(clean_db, login_max_concurrent_hashes=1, login_hash_wait_seconds=0)
    try:
        with accounts.hash_slot():  # the only slot is taken: the next check cannot start
            r = client.post(
                "/api/v1/auth/login", json={"username": "dana", "password": "dana has a long password"}
            )
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            with pytest.raises(accounts.HashBusy):
                accounts.verify_password(accounts._DUMMY_HASH, "anything at all")
        assert _checks(clean_db) == 0  # not checked, so not counted as a failure either
        ok = client.post(
            "/api/v1/auth/login", json={"username": "dana", "password": "dana has a long password"}
        )
        assert ok.status_code == 200
    finally:
        accounts.configure_hash_slots(2, 5.0)


def test_counter_counts_atomically_from_many_threads(clean_db: str) -> None:
    from datetime import timedelta

    from telespine.store import repo_accounts

    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)

    def bump(_: int) -> int:
        with factory() as db:
            n = repo_accounts.count_attempt(db, "pair:x:1.2.3.4", timedelta(minutes=15))
            db.commit()
            return n

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            seen = sorted(pool.map(bump, range(40)))
        assert seen == list(range(1, 41))  # every attempt got its own number
    finally:
        engine.dispose()


def test_whitespace_only_passwords_are_refused() -> None:
    with pytest.raises(accounts.PasswordRejected):
        accounts.check_new_password(" " * 12)
    with pytest.raises(accounts.PasswordRejected):
        accounts.check_new_password("\t \u00a0" * 4)
