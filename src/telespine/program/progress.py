"""The program's week and reported progress from the weekly check-ins (issue 14). Pure.

The week of the graded plan follows the check-ins, not only the calendar: each calendar week
of the plan with at least one check-in moves the person on by one week, and the calendar caps
it (nobody goes faster than the weeks since the start). So someone who stops checking in stays
at the last week they reached. Progress is what the latest check-in says about pain against the
one before it (or the pain at the start): 1 point or more lower is "better", 1 point or more
higher is "worse", otherwise "the same"; no check-in, or none in the last 14 days, is "unknown"
(never read as better: `exercises.stage_for` then holds the level back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from telespine.program.exercises import Progress

STALE_DAYS = 14  # a check-in older than this says nothing about how things are going now
CHANGE = 1  # points of pain (0-10) that count as a change


@dataclass(frozen=True)
class CheckinPoint:
    day: dt.date
    pain: int


@dataclass(frozen=True)
class ProgramWeek:
    week: int
    progress: Progress
    calendar_week: int
    weeks_checked_in: int


def program_week(
    started_on: dt.date,
    today: dt.date,
    checkins: Sequence[CheckinPoint],
    baseline_pain: float | None = None,
) -> ProgramWeek:
    """The plan's week and the reported progress at today (check-ins after today are ignored)."""
    calendar = max(1, (today - started_on).days // 7 + 1)
    known = sorted((c for c in checkins if started_on <= c.day <= today), key=lambda c: c.day)
    weeks = {(c.day - started_on).days // 7 for c in known}
    week = min(calendar, 1 + len(weeks))
    progress: Progress = "unknown"
    if known and (today - known[-1].day).days <= STALE_DAYS:
        before = known[-2].pain if len(known) > 1 else baseline_pain
        if before is not None:
            change = known[-1].pain - before
            progress = "better" if change <= -CHANGE else "worse" if change >= CHANGE else "same"
    return ProgramWeek(week=week, progress=progress, calendar_week=calendar, weeks_checked_in=len(weeks))
