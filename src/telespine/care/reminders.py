"""Which reminders are due for a case: a pure function of its data and the now-time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from importlib import resources
from string import Template
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telespine.care.diary import CaseState, DiaryEntry
from telespine.datafile import load_yaml_text
from telespine.instruments import INSTRUMENT_IDS, ScoreRecord
from telespine.triage.types import Audience, audience_for_age

ReminderKind = Literal["daily_diary", "weekly_checkin", "questionnaires"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailText(_Strict):
    """Subject and body of a reminder e-mail; $link is the only placeholder."""

    subject: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1)

    @model_validator(mode="after")
    def _only_link(self) -> EmailText:
        for text in (self.subject, self.body):
            template = Template(text)
            if not template.is_valid():
                raise ValueError(f"invalid placeholder in {text!r}")
            if set(template.get_identifiers()) - {"link"}:
                raise ValueError(f"only $link may be used, found {template.get_identifiers()}")
        if "$link" not in self.body:
            raise ValueError("the body must contain $link")
        return self


class KindSchedule(_Strict):
    """When one kind of reminder falls due, what completes it, and its e-mail."""

    every_days: int = Field(ge=1)
    first_day: int = Field(ge=0)
    send_after: dt.time
    open_days: int = Field(ge=1)
    done_by: Literal["diary", "questionnaires"]
    instruments: dict[Audience, list[str]]
    complete_when: Literal["any", "all"]
    email: dict[Audience, EmailText]

    @model_validator(mode="after")
    def _consistent(self) -> KindSchedule:
        if self.open_days > self.every_days:
            raise ValueError("a reminder must close before the next one of its kind opens")
        if set(self.email) != {"adult", "pediatric"} or set(self.instruments) != {"adult", "pediatric"}:
            raise ValueError("e-mail text and instruments are needed for both audiences")
        for ids in self.instruments.values():
            unknown = set(ids) - set(INSTRUMENT_IDS)
            if unknown:
                raise ValueError(f"unknown instruments {sorted(unknown)}")
            if self.done_by == "questionnaires" and not ids:
                raise ValueError("a questionnaire reminder needs instruments")
        return self


class ReminderRules(_Strict):
    """The whole reminder file (data/reminders.yaml)."""

    version: str
    sources: list[str] = Field(min_length=1)
    kinds: dict[ReminderKind, KindSchedule]

    @model_validator(mode="after")
    def _all_kinds(self) -> ReminderRules:
        missing = {"daily_diary", "weekly_checkin", "questionnaires"} - set(self.kinds)
        if missing:
            raise ValueError(f"missing reminder kinds {sorted(missing)}")
        return self


@cache
def load_reminder_rules() -> ReminderRules:
    """The packaged reminder rules (cached)."""
    text = resources.files("telespine.care").joinpath("data/reminders.yaml").read_text(encoding="utf-8")
    return ReminderRules.model_validate(load_yaml_text(text, "reminders.yaml"))


class Reminder(_Strict):
    """A reminder that is due now; key is stable so that one worker claims and sends it once."""

    case_id: str
    kind: ReminderKind
    audience: Audience
    due_on: dt.date
    key: str
    send_after: dt.datetime
    expires_at: dt.datetime


class Email(_Strict):
    """A rendered reminder e-mail."""

    subject: str
    body: str


def reminder_key(case_id: str, kind: ReminderKind, due_on: dt.date) -> str:
    """The idempotency key of a reminder: case id + kind + due date."""
    return f"reminder:{case_id}:{kind}:{due_on.isoformat()}"


def _done(
    schedule: KindSchedule,
    audience: Audience,
    opens: dt.date,
    today: dt.date,
    zone: ZoneInfo,
    entries: Sequence[DiaryEntry],
    scores: Sequence[ScoreRecord],
) -> bool:
    if schedule.done_by == "diary":
        return any(opens <= e.day <= today for e in entries)
    taken = {s.instrument_id for s in scores if opens <= s.taken_at.astimezone(zone).date() <= today}
    wanted = schedule.instruments[audience]
    return any(i in taken for i in wanted) if schedule.complete_when == "any" else set(wanted) <= taken


def due_reminders(
    case: CaseState,
    entries: Sequence[DiaryEntry],
    scores: Sequence[ScoreRecord],
    now: dt.datetime,
    rules: ReminderRules | None = None,
) -> list[Reminder]:
    """The reminders due at the instant now: open, past their send time and not yet done."""
    config = rules if rules is not None else load_reminder_rules()
    today = case.local_date(now)
    zone = ZoneInfo(case.timezone)
    audience = audience_for_age(case.findings["age_years"])
    day_number = (today - case.treatment_started_on).days
    due: list[Reminder] = []
    for kind, schedule in config.kinds.items():
        if day_number < schedule.first_day:
            continue
        # The most recent due day of this kind on or before today.
        steps = (day_number - schedule.first_day) // schedule.every_days
        offset = schedule.first_day + steps * schedule.every_days
        due_on = case.treatment_started_on + dt.timedelta(days=offset)
        closes = due_on + dt.timedelta(days=schedule.open_days)
        if today >= closes:
            continue
        send_after = dt.datetime.combine(due_on, schedule.send_after, tzinfo=zone)
        if now < send_after:
            continue
        if _done(schedule, audience, due_on, today, zone, entries, scores):
            continue
        due.append(
            Reminder(
                case_id=case.case_id,
                kind=kind,
                audience=audience,
                due_on=due_on,
                key=reminder_key(case.case_id, kind, due_on),
                send_after=send_after,
                expires_at=dt.datetime.combine(closes, dt.time(0), tzinfo=zone),
            )
        )
    return due


def render_email(reminder: Reminder, link: str, rules: ReminderRules | None = None) -> Email:
    """The e-mail for a reminder: fixed text and the link, no health information."""
    config = rules if rules is not None else load_reminder_rules()
    text = config.kinds[reminder.kind].email[reminder.audience]
    return Email(
        subject=Template(text.subject).substitute(link=link),
        body=Template(text.body).substitute(link=link),
    )
