"""`telespine worker`: follow-up rules on a clock and reminder e-mails over SMTP.

Each round: run the escalation rules of every open case (the time-based ones: 6 and 12 weeks,
trends), queue due reminders as reminder_jobs (unique key), claim due jobs (SKIP LOCKED on
PostgreSQL, a conditional UPDATE everywhere) and send them with smtplib. Several workers on
several instances may run at once: each reminder is claimed, and sent, by one of them.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import os
import smtplib
import socket
import time
from dataclasses import dataclass
from email.message import EmailMessage

import typer
from sqlalchemy.orm import Session, sessionmaker

from telespine.settings import Settings

log = logging.getLogger("telespine.worker")
REMINDER_KINDS = frozenset({"daily_diary", "weekly_checkin", "questionnaires"})  # care.reminders kinds


@dataclass
class RoundReport:
    evaluated: int = 0
    escalations: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    resets_sent: int = 0
    resets_failed: int = 0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def send_email(
    settings: Settings,
    to: str,
    subject: str,
    body: str,
    attachment: tuple[str, bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """One e-mail over SMTP (STARTTLS and login when configured); visit e-mails carry an .ics,
    reminders the one-click List-Unsubscribe headers (RFC 8058)."""
    # A List-Unsubscribe URL must stay one plain <...> value: no encoded words from folding.
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998)) if headers else EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment is not None:
        name, data = attachment
        msg.add_attachment(data, maintype="text", subtype="calendar", filename=name)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password is not None:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)


def run_followups(db: Session, now: dt.datetime) -> tuple[int, int]:
    """evaluate_case for every open case (idempotent by escalation key); (cases, new escalations)."""
    from telespine.services import checkin, followup
    from telespine.store import repo_care

    repo_care.sync_all_cases(db)
    db.commit()
    cases = repo_care.open_cases(db)
    new = 0
    for case in cases:
        if not case.assessment.versions:
            continue
        follow = followup.run_followup(db, case, now)
        new += len(follow.escalations)
        new += len(checkin.run_activity(db, case, now))  # care.activity_down_pain_up (issue 14)
        db.commit()
    return len(cases), new


def send_due(
    factory: sessionmaker[Session], settings: Settings, now: dt.datetime, worker: str, limit: int = 50
) -> tuple[int, int]:
    """Claim due jobs and send them; (sent, failed)."""
    from telespine.services import checkin
    from telespine.store import repo_care

    sent = failed = 0
    with factory() as db:
        repo_care.expire_jobs(db, now)
        db.commit()
        jobs = repo_care.claim_jobs(db, worker, now, limit)
        for job in jobs:
            headers = None
            if job.kind in REMINDER_KINDS:
                # An unsubscribe counts at once, also for a job claimed before it.
                wanted, owner = checkin.reminders_wanted(db, job.case_id)
                if not wanted or owner is None:
                    repo_care.cancel_job(db, job)
                    db.commit()
                    continue
                secret = settings.secret_key.get_secret_value()
                url = checkin.unsubscribe_url(settings.public_url, secret, owner)
                headers = {
                    "List-Unsubscribe": f"<{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
            try:
                from telespine.store import visits as visit_store

                ics = visit_store.attachment_for(db, job, settings.public_url, now)
                send_email(settings, job.recipient, job.subject, job.body, ics, headers)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("reminder %s not sent: %s", job.id, type(exc).__name__)
                repo_care.mark_failed(db, job, type(exc).__name__)
                failed += 1
            else:
                repo_care.mark_sent(db, job, now)
                sent += 1
            db.commit()
    return sent, failed


def run_once(
    factory: sessionmaker[Session],
    settings: Settings,
    now: dt.datetime | None = None,
    worker: str | None = None,
    followups: bool = True,
) -> RoundReport:
    """One round of the worker with an explicit clock (tests pass a frozen one)."""
    from telespine.store import repo_care

    now = now or dt.datetime.now(dt.UTC)
    report = RoundReport()
    with factory() as db:
        if followups:
            report.evaluated, report.escalations = run_followups(db, now)
        repo_care.reclaim_stale(db, now, dt.timedelta(minutes=15))
        from telespine.services import checkin

        secret = settings.secret_key.get_secret_value()
        report.queued = repo_care.enqueue_reminders(
            db,
            now,
            settings.public_url,
            unsubscribe=lambda owner: checkin.unsubscribe_url(settings.public_url, secret, owner),
        )
        db.commit()
    report.sent, report.failed = send_due(factory, settings, now, worker or worker_id())
    from telespine.services import accounts as account_service

    report.resets_sent, report.resets_failed = account_service.send_resets(
        factory, settings, now, worker or worker_id(), send_email
    )
    return report


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        once: bool = typer.Option(False, "--once", help="Run one round and exit (for cron and tests)."),
        interval: float | None = typer.Option(None, help="Seconds between rounds (default from settings)."),
    ) -> None:
        """Run the follow-up rules and send reminder e-mails (several workers may run at once)."""
        from rich.console import Console

        from telespine.settings import get_settings
        from telespine.store.db import make_engine, make_sessionmaker, upgrade

        console = Console()
        settings = get_settings()
        from telespine.web.logs import install as install_logs

        install_logs(settings.json_logs)  # the same safe (optionally JSON) log lines as serve
        url = settings.sqlalchemy_url
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        pause = interval if interval is not None else settings.worker_poll_seconds
        try:
            while True:
                try:
                    r = run_once(factory, settings)
                    console.print(
                        f"cases {r.evaluated}, new escalations {r.escalations}, reminders queued {r.queued}, "
                        f"sent {r.sent}, failed {r.failed}"
                    )
                except Exception as exc:  # a round that fails must not stop the next one
                    log.error("worker round failed: %s", type(exc).__name__)
                    if once:
                        raise
                if once:
                    return
                time.sleep(pause)
        finally:
            engine.dispose()
