"""Check-in reminders from the worker (aiosmtpd): on the plan's schedule, a link to the check-in,
a one-click unsubscribe link and header (RFC 8058), and an unsubscribe honoured at once."""

from __future__ import annotations

import datetime as dt
import email
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from telespine.commands.worker import run_once, send_due
from telespine.services import checkin as service
from telespine.store import repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import User
from telespine.store.models_care import ContactAddress, ReminderJob
from telespine.triage import triage
from telespine.web.app import create_app
from telespine.web.testing import make_test_settings

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4}
START = dt.date(2026, 3, 2)


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(START + dt.timedelta(days=day), dt.time(hour), tzinfo=dt.UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _patient(url: str) -> str:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        clinic = repo.create_clinic(db, "Reminder clinic")
        p = repo.create_user(db, username="rem", password="x" * 12, role="patient", clinic=clinic)
        a = repo.save_assessment(
            db, profile=repo.ensure_self_profile(db, p), by=p, findings=CALM, result=triage(CALM)
        )
        repo_care.ensure_case(db, a).treatment_started_on = START
        repo_care.set_contact(db, p, "rem@example.org")
        db.commit()
        user_id = p.id
    engine.dispose()
    return user_id


def test_weekly_reminder_links_the_checkin_and_unsubscribe_stops_the_next(
    clean_db: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    user_id = _patient(clean_db)
    settings = make_test_settings(clean_db, smtp_port=port, public_url="https://telespine.test")
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    try:
        report = run_once(factory, settings, now=_at(7, 10), worker="w")  # the weekly check-in, 09:00 local
        assert report.sent == 1
        msg = inbox.messages[0]
        body = msg.get_payload(decode=True).decode()
        assert "/checkin" in body and "/care/unsubscribe?t=" in body
        header = msg["List-Unsubscribe"]
        assert header.startswith("<https://telespine.test/care/unsubscribe?t=")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = header.strip("<>").split("t=", 1)[1]
        # The mail program's one-click POST (RFC 8058), with no session and no CSRF token.
        client = TestClient(create_app(settings), base_url="https://testserver")
        assert client.get("/care/unsubscribe", params={"t": token + "x"}).status_code == 400
        r = client.post(f"/care/unsubscribe?t={token}", data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200 and "will not send you any more" in r.text
        with factory() as db:
            contact = db.get(ContactAddress, user_id)
            assert contact is not None and contact.reminders is False
        report = run_once(factory, settings, now=_at(7, 19), worker="w")  # the diary one would be due now
        assert (report.queued, report.sent) == (0, 0)
        assert len(inbox.messages) == 1
    finally:
        engine.dispose()


def test_a_reminder_already_queued_is_not_sent_after_an_unsubscribe(
    clean_db: str, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    user_id = _patient(clean_db)
    settings = make_test_settings(clean_db, smtp_port=port)
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db:
            assert repo_care.enqueue_reminders(db, _at(7, 10), settings.public_url) == 1
            db.commit()
            # Turned off after the job was queued (e.g. on the follow-up page): never sent.
            contact = db.get(ContactAddress, user_id)
            assert contact is not None
            contact.reminders = False
            db.commit()
        assert send_due(factory, settings, _at(7, 10), "w") == (0, 0)
        with factory() as db:
            assert list(db.scalars(select(ReminderJob.status))) == ["cancelled"]
            assert db.get(User, user_id) is not None
            assert service.reminders_wanted(db, db.scalars(select(ReminderJob.case_id)).one()) == (
                False,
                user_id,
            )
    finally:
        engine.dispose()
    assert inbox.messages == []
