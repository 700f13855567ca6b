"""The reminder worker against a local aiosmtpd server: every reminder arrives exactly once,
also with two workers running at the same time (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from telespine.commands.worker import run_once
from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import User
from telespine.store.models_care import ReminderJob
from telespine.triage import triage
from telespine.web.testing import make_test_settings

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """Collects the messages the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _patients(url: str, n: int) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        clinic = repo.create_clinic(db, "Worker clinic")
        for i in range(n):
            p = repo.create_user(db, username=f"w{i}", password="x" * 12, role="patient", clinic=clinic)
            a = repo.save_assessment(
                db, profile=repo.ensure_self_profile(db, p), by=p, findings=CALM, result=triage(CALM)
            )
            repo_care.ensure_case(db, a).treatment_started_on = START.date()
            repo_care.set_contact(db, p, f"w{i}@example.org")
        db.commit()
    engine.dispose()


def test_worker_sends_each_reminder_once(clean_db: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    _patients(clean_db, 2)
    settings = make_test_settings(clean_db, smtp_port=port, public_url="https://telespine.test")
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    now = START + dt.timedelta(days=1, hours=8)  # day 1 after 18:00: the diary reminder
    try:
        first = run_once(factory, settings, now=now, worker="w-a")
        assert (first.queued, first.sent, first.failed) == (2, 2, 0)
        again = run_once(factory, settings, now=now + dt.timedelta(minutes=5), worker="w-b")
        assert (again.queued, again.sent) == (0, 0)
    finally:
        engine.dispose()
    assert sorted(r for _, rcpts, _ in inbox.messages for r in rcpts) == ["w0@example.org", "w1@example.org"]
    body = inbox.messages[0][2]
    assert "https://telespine.test/care/cases/" in body
    for word in ("numb", "fever", "score", "emergency"):
        assert word not in body.lower()


def test_two_workers_at_once_send_every_reminder_exactly_once(clean_db: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    n = 12
    _patients(clean_db, n)
    settings = make_test_settings(clean_db, smtp_port=port, public_url="https://telespine.test")
    now = START + dt.timedelta(days=1, hours=8)
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        engine = make_engine(clean_db)  # one engine per worker: like two app instances
        try:
            factory = make_sessionmaker(engine)
            barrier.wait()
            reports.append(run_once(factory, settings, now=now, worker=name))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(f"w-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    rcpts = sorted(r for _, rs, _ in inbox.messages for r in rs)
    assert rcpts == sorted(f"w{i}@example.org" for i in range(n))  # all arrived, none twice
    assert sum(r.sent for r in reports) == n and sum(r.queued for r in reports) == n
    engine = make_engine(clean_db)
    with make_sessionmaker(engine)() as db:
        jobs = db.scalars(select(ReminderJob)).all()
        assert {j.status for j in jobs} == {"sent"} and len(jobs) == n
    engine.dispose()


def test_smtp_failure_is_retried_later(clean_db: str) -> None:
    _patients(clean_db, 1)
    dead = _free_port()  # nothing listens here
    settings = make_test_settings(clean_db, smtp_port=dead)
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    now = START + dt.timedelta(days=1, hours=8)
    try:
        r = run_once(factory, settings, now=now, worker="w")
        assert (r.sent, r.failed) == (0, 1)
        with factory() as db:
            job = db.scalars(select(ReminderJob)).one()
            assert job.status == "pending" and job.attempts == 1 and job.last_error
            assert db.scalars(select(User)).first() is not None
    finally:
        engine.dispose()


def test_worker_gives_every_assessment_a_case_and_runs_the_time_rules(clean_db: str) -> None:
    from telespine.store.models_care import CareCase, EscalationRecord

    _patients(clean_db, 1)
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    with factory() as db:  # an assessment saved before the care tables knew it
        p = repo.create_user(db, username="late", password="x" * 12, role="patient")
        repo.save_assessment(
            db, profile=repo.ensure_self_profile(db, p), by=p, findings=CALM, result=triage(CALM)
        )
        db.commit()
    settings = make_test_settings(clean_db, smtp_port=_free_port())
    try:
        at_6_weeks = START + dt.timedelta(weeks=6, hours=2)
        r = run_once(factory, settings, now=at_6_weeks, worker="w")
        assert r.evaluated == 2 and r.escalations >= 1
        assert (
            run_once(factory, settings, now=at_6_weeks + dt.timedelta(hours=1), worker="w").escalations == 0
        )
        with factory() as db:
            assert len(db.scalars(select(CareCase)).all()) == 2
            rules = db.scalars(select(EscalationRecord.rule_id)).all()
            assert "care.no_improvement_6_weeks" in rules  # no diary at all: too little data is flagged
    finally:
        engine.dispose()


def test_worker_command_once(clean_db: str, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from telespine.cli import app
    from telespine.settings import get_settings

    _patients(clean_db, 1)
    _, port = smtp
    monkeypatch.setenv("DATABASE_URL", clean_db)
    monkeypatch.setenv("TELESPINE_ENV", "development")
    monkeypatch.setenv("TELESPINE_SMTP_PORT", str(port))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "cases 1" in result.output and "failed 0" in result.output
