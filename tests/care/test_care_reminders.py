"""The reminder schedule (pure, frozen clock) and the reminder e-mail text."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from telespine.care import reminders as reminders_module
from telespine.care.diary import CaseState, DiaryEntry
from telespine.care.escalation import load_escalation_rules
from telespine.care.reminders import (
    ReminderRules,
    due_reminders,
    load_reminder_rules,
    reminder_key,
    render_email,
)
from telespine.content.readability import MAX_GRADE, reading_grade
from telespine.instruments import ScoreRecord

UTC = dt.UTC
START = dt.date(2026, 1, 5)
QUESTIONS = [q.id for q in load_escalation_rules().red_flag_check]


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def at(n: int, hour: int, minute: int = 0, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(hour, minute), tzinfo=tz)


def case(age: int = 40, timezone: str = "UTC") -> CaseState:
    return CaseState(
        case_id="c-7", findings={"age_years": age}, treatment_started_on=START, timezone=timezone
    )


def entry(n: int) -> DiaryEntry:
    return DiaryEntry(
        day=day(n), pain=4, function=6, medicine_use="none", red_flag_check=dict.fromkeys(QUESTIONS, "no")
    )


def record(instrument: str, n: int, hour: int = 10) -> ScoreRecord:
    return ScoreRecord(
        instrument_id=instrument,
        version="1",
        scores={"total": 3.0},
        primary_scale="total",
        category=None,
        category_label=None,
        responses={},
        taken_at=at(n, hour),
    )


def kinds(reminders: list[Any]) -> list[str]:
    return sorted(r.kind for r in reminders)


def test_nothing_is_due_on_the_first_day() -> None:
    assert due_reminders(case(), [], [], at(0, 20)) == []


def test_daily_diary_is_due_in_the_evening_when_no_entry_today() -> None:
    assert kinds(due_reminders(case(), [], [], at(3, 17, 59))) == []
    [reminder] = due_reminders(case(), [], [], at(3, 18, 0))
    assert reminder.kind == "daily_diary"
    assert reminder.due_on == day(3)
    assert reminder.key == f"reminder:c-7:daily_diary:{day(3).isoformat()}"
    assert reminder.expires_at == at(4, 0)


def test_daily_diary_is_not_due_once_today_s_entry_exists() -> None:
    assert due_reminders(case(), [entry(3)], [], at(3, 20)) == []
    # Yesterday's entry does not count for today.
    assert kinds(due_reminders(case(), [entry(2)], [], at(3, 20))) == ["daily_diary"]


def test_the_key_is_stable_within_a_day_and_changes_the_next_day() -> None:
    early = due_reminders(case(), [], [], at(3, 18))
    late = due_reminders(case(), [], [], at(3, 23, 59))
    next_day = due_reminders(case(), [], [], at(4, 18))
    assert [r.key for r in early] == [r.key for r in late]
    assert early[0].key != next_day[0].key


def test_weekly_checkin_is_due_from_day_seven_until_done() -> None:
    assert "weekly_checkin" not in kinds(due_reminders(case(), [], [], at(6, 12)))
    assert "weekly_checkin" not in kinds(due_reminders(case(), [], [], at(7, 8, 59)))
    due = {r.kind: r for r in due_reminders(case(), [entry(7)], [], at(7, 9))}
    assert set(due) == {"weekly_checkin"}
    assert due["weekly_checkin"].due_on == day(7)
    # Still the same reminder (same key) later in the week, not a new one.
    later = {r.kind: r for r in due_reminders(case(), [entry(10)], [], at(10, 9))}
    assert later["weekly_checkin"].key == due["weekly_checkin"].key
    assert due_reminders(case(), [entry(10)], [record("peg", 9)], at(10, 12)) == []


def test_weekly_checkin_of_a_child_is_done_by_the_pain_score() -> None:
    child = case(age=10)
    assert kinds(due_reminders(child, [entry(7)], [record("peg", 7)], at(7, 12))) == ["weekly_checkin"]
    assert due_reminders(child, [entry(7)], [record("nrs", 7)], at(7, 12)) == []
    assert due_reminders(child, [], [], at(7, 12))[0].audience == "pediatric"


def test_a_questionnaire_before_the_week_opens_does_not_count() -> None:
    assert kinds(due_reminders(case(), [entry(8)], [record("peg", 6)], at(8, 12))) == ["weekly_checkin"]


def test_questionnaires_repeat_at_six_weeks_and_need_all_of_them() -> None:
    before = due_reminders(case(), [entry(41)], [], at(41, 12))
    assert "questionnaires" not in kinds(before)
    due = due_reminders(case(), [entry(42)], [], at(42, 12))
    assert kinds(due) == ["questionnaires", "weekly_checkin"]
    partial = [record("peg", 42), record("startback", 42), record("phq2", 43)]
    assert kinds(due_reminders(case(), [entry(43)], partial, at(43, 12))) == ["questionnaires"]
    full = [*partial, record("gad2", 43, 11)]
    assert due_reminders(case(), [entry(43)], full, at(43, 12)) == []


def test_questionnaires_close_after_two_weeks_and_come_back_at_twelve_weeks() -> None:
    assert "questionnaires" in kinds(due_reminders(case(), [entry(55)], [], at(55, 12)))
    assert "questionnaires" not in kinds(due_reminders(case(), [entry(56)], [], at(56, 12)))
    again = [r for r in due_reminders(case(), [entry(84)], [], at(84, 12)) if r.kind == "questionnaires"]
    assert [r.due_on for r in again] == [day(84)]


def test_times_are_the_patient_s_local_time() -> None:
    # 18:00 in New York is 23:00 UTC in January.
    ny = case(timezone="America/New_York")
    assert due_reminders(ny, [], [], at(3, 22, 59)) == []
    [reminder] = due_reminders(ny, [], [], at(3, 23, 0))
    assert reminder.due_on == day(3)
    assert reminder.send_after == dt.datetime(2026, 1, 8, 23, 0, tzinfo=UTC)


def test_now_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_reminders(case(), [], [], dt.datetime(2026, 1, 8, 20, 0))


def test_keys_are_unique_per_case_kind_and_day() -> None:
    keys = {
        reminder_key(c, k, d)
        for c in ("a", "b")
        for k in ("daily_diary", "questionnaires")
        for d in (day(1), day(2))
    }
    assert len(keys) == 8


@pytest.mark.parametrize("kind", ["daily_diary", "weekly_checkin", "questionnaires"])
@pytest.mark.parametrize("age", [40, 9])
def test_emails_carry_only_the_link(kind: str, age: int) -> None:
    when = {"daily_diary": at(3, 20), "weekly_checkin": at(7, 20), "questionnaires": at(42, 20)}[kind]
    [reminder] = [r for r in due_reminders(case(age=age), [], [], when) if r.kind == kind]
    link = "https://care.example.org/c/abc123"
    email = render_email(reminder, link)
    assert link in email.body
    text = f"{email.subject}\n{email.body}".lower()
    # No health information: no symptom, body-part or condition words, and no case id.
    for word in ("pain", "back", "spine", "numb", "fever", "symptom", "score", "red flag", "c-7"):
        assert word not in text, word
    assert ("your child" in text) == (age < 18)


def test_email_text_reads_at_grade_eight_or_lower() -> None:
    for schedule in load_reminder_rules().kinds.values():
        for email in schedule.email.values():
            body = re.sub(r"\$link", "the link", email.body)
            assert reading_grade(body) <= MAX_GRADE, body


def test_red_flag_check_questions_read_at_grade_eight_or_lower() -> None:
    for question in load_escalation_rules().red_flag_check:
        for text in (question.text, question.text_pediatric):
            assert reading_grade(text) <= MAX_GRADE, text


def _rules_doc() -> dict[str, Any]:
    path = Path(reminders_module.__file__).parent / "data" / "reminders.yaml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["kinds"]["daily_diary"]["email"]["adult"].update(body="Hi $name, $link"), "only"),
        (lambda d: d["kinds"]["daily_diary"]["email"]["adult"].update(body="Hi, open the app"), "link"),
        (lambda d: d["kinds"]["weekly_checkin"]["instruments"].update(adult=["odi"]), "odi"),
        (lambda d: d["kinds"]["weekly_checkin"].update(open_days=8), "close"),
        (lambda d: d["kinds"]["weekly_checkin"].update(repeat=True), "repeat"),
        (lambda d: d["kinds"].pop("questionnaires"), "missing"),
    ],
)
def test_reminder_file_is_strict(change: Any, message: str) -> None:
    doc = _rules_doc()
    change(doc)
    with pytest.raises(ValidationError, match=message):
        ReminderRules.model_validate(doc)
