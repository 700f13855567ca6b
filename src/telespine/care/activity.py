"""Escalation rules read from daily step counts, as data, evaluated with an explicit clock. Pure.

`evaluate_activity(case, steps, entries, now)` returns the escalations to store (each with a
stable `key`, once per rule and local week), in the same `Escalation` shape as the diary rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from importlib import resources
from statistics import fmean
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from telespine.care.diary import CaseState, DiaryEntry
from telespine.care.escalation import Action, Escalation
from telespine.care.wearables import DailySteps


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityFallRule(_Strict):
    """A sustained fall in steps together with a rise in diary pain."""

    id: str = Field(pattern=r"^care\.[a-z0-9_]+$")
    kind: Literal["activity_fall_with_pain_rise"]
    action: Action
    title: str
    rationale: str
    recent_days: int = Field(ge=3, le=28)
    baseline_days: int = Field(ge=3, le=56)
    min_recent_step_days: int = Field(ge=1)
    min_baseline_step_days: int = Field(ge=1)
    min_fall_fraction: float = Field(gt=0, lt=1)
    min_recent_pain_entries: int = Field(ge=1)
    min_pain_rise: float = Field(gt=0)
    sources: list[str] = Field(min_length=1)


class ActivityRules(_Strict):
    """The rule file (data/activity.yaml)."""

    version: str
    sources: list[str] = Field(min_length=1)
    rules: list[ActivityFallRule] = Field(min_length=1)


@cache
def load_activity_rules() -> ActivityRules:
    """The packaged activity rules (cached)."""
    text = resources.files("telespine.care").joinpath("data/activity.yaml").read_text(encoding="utf-8")
    return ActivityRules.model_validate(yaml.safe_load(text))


def _between(day: dt.date, first: dt.date, last: dt.date) -> bool:
    return first <= day <= last


def evaluate_activity(
    case: CaseState,
    steps: Sequence[DailySteps],
    entries: Sequence[DiaryEntry],
    now: dt.datetime,
    rules: ActivityRules | None = None,
) -> list[Escalation]:
    """The activity escalations at the instant now; days after the patient's today are ignored."""
    config = rules if rules is not None else load_activity_rules()
    today = case.local_date(now)
    fired: list[Escalation] = []
    for rule in config.rules:
        recent_first = today - dt.timedelta(days=rule.recent_days - 1)
        base_last = recent_first - dt.timedelta(days=1)
        base_first = base_last - dt.timedelta(days=rule.baseline_days - 1)
        by_day: dict[dt.date, int] = {}
        for s in steps:
            if s.day <= today:
                by_day[s.day] = max(by_day.get(s.day, 0), s.steps)  # two uploads of one day: the larger
        recent = [n for d, n in by_day.items() if _between(d, recent_first, today)]
        base = [n for d, n in by_day.items() if _between(d, base_first, base_last)]
        if len(recent) < rule.min_recent_step_days or len(base) < rule.min_baseline_step_days:
            continue
        base_mean, recent_mean = fmean(base), fmean(recent)
        if base_mean <= 0 or (base_mean - recent_mean) < rule.min_fall_fraction * base_mean:
            continue
        recent_pain = [e.pain for e in entries if _between(e.day, recent_first, today)]
        base_pain = [e.pain for e in entries if _between(e.day, base_first, base_last)]
        if len(recent_pain) < rule.min_recent_pain_entries:
            continue
        if base_pain:
            before = fmean(base_pain)
        elif case.baseline_pain is not None:
            before = case.baseline_pain
        else:
            continue
        now_pain = fmean(recent_pain)
        if now_pain - before < rule.min_pain_rise:
            continue
        week = today - dt.timedelta(days=today.weekday())  # once per local week
        fired.append(
            Escalation(
                rule_id=rule.id,
                action=rule.action,
                title=rule.title,
                rationale=rule.rationale,
                sources=list(rule.sources),
                key=f"{case.case_id}:{rule.id}:{week.isoformat()}",
                details=(
                    f"steps {base_mean:.0f}/day ({len(base)} days to {base_last.isoformat()}) -> "
                    f"{recent_mean:.0f}/day ({len(recent)} days to {today.isoformat()}); "
                    f"pain {before:.1f} -> {now_pain:.1f} ({len(recent_pain)} entries)"
                ),
            )
        )
    return fired
