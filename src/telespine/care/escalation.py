"""Diary escalation rules as data, evaluated by a pure function with an explicit clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from importlib import resources
from statistics import fmean
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telespine.care.diary import Answer, CaseState, DiaryEntry
from telespine.care.findings_merge import FindingValue, load_merge_order, merge_findings
from telespine.care.retriage import Retriage, retriage
from telespine.care.screening import Screening, screen_message
from telespine.datafile import load_yaml_text
from telespine.instruments import ScoreRecord, clinically_important_improvement
from telespine.instruments.scoring import IMPROVEMENT_INSTRUMENTS
from telespine.triage.types import Audience

Action = Literal["retriage", "review", "alert"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckQuestion(_Strict):
    """One question of the short red-flag check and the findings a "yes" sets."""

    id: str
    text: str
    text_pediatric: str
    sets: dict[str, bool | str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class Improvement(_Strict):
    """What counts as a clinically important improvement of pain from baseline."""

    min_points: float = Field(gt=0)
    min_fraction: float = Field(gt=0, lt=1)
    window_days: int = Field(ge=1)
    min_entries: int = Field(ge=1)


class _Rule(_Strict):
    id: str = Field(pattern=r"^care\.[a-z0-9_]+$")
    action: Action
    title: str
    rationale: str
    sources: list[str] = Field(min_length=1)


class RedFlagCheckRule(_Rule):
    """A yes or unknown answer in a diary entry not yet reviewed."""

    kind: Literal["red_flag_check"]


class NoImprovementRule(_Rule):
    """after_weeks or more into treatment without a clinically important improvement."""

    kind: Literal["no_improvement"]
    after_weeks: int = Field(ge=1)
    improvement: Improvement


class WeeksWithoutImprovementRule(_Rule):
    """Like no_improvement, and sets weeks_on_treatment_without_improvement for re-triage."""

    kind: Literal["weeks_without_improvement"]
    after_weeks: int = Field(ge=1)
    improvement: Improvement


class ScreenedTextRule(_Rule):
    """A message or diary note whose screening affirmed a red flag (or failed)."""

    kind: Literal["screened_text"]
    failed_action: Action


class RisingRunRule(_Rule):
    """Pain higher than the day before on `entries` consecutive daily entries."""

    kind: Literal["rising_run"]
    entries: int = Field(ge=2)
    max_age_days: int = Field(ge=0)


class PainDurationRule(_Rule):
    """The pain has lasted longer than the case's findings say: their duration_days plus the
    days since they were given. Fires (once per level) when that longer duration makes the case
    more urgent under the policy; not while the last resolved_window_days days hold at least
    resolved_min_entries diary entries, all scoring pain 0 (the pain has stopped). Fewer entries,
    or none, count as pain that goes on."""

    kind: Literal["pain_duration"]
    resolved_window_days: int = Field(ge=1)
    resolved_min_entries: int = Field(ge=1)


class MeanRiseRule(_Rule):
    """Mean pain over the last window_days at least min_rise above baseline."""

    kind: Literal["mean_rise"]
    window_days: int = Field(ge=1)
    min_entries: int = Field(ge=1)
    min_rise: float = Field(gt=0)


Rule = Annotated[
    RedFlagCheckRule
    | ScreenedTextRule
    | NoImprovementRule
    | WeeksWithoutImprovementRule
    | RisingRunRule
    | MeanRiseRule
    | PainDurationRule,
    Field(discriminator="kind"),
]


class EscalationRules(_Strict):
    """The whole rule file (data/escalation.yaml)."""

    version: str
    sources: list[str] = Field(min_length=1)
    red_flag_check: list[CheckQuestion] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> EscalationRules:
        order = load_merge_order()
        ids = [q.id for q in self.red_flag_check]
        if len(ids) != len(set(ids)):
            raise ValueError("red-flag check question ids must be unique")
        for question in self.red_flag_check:
            for finding, value in question.sets.items():
                values = order.order_of(finding) if finding in order.findings else []
                if not any(type(v) is type(value) and v == value for v in values):
                    raise ValueError(f"question {question.id!r}: cannot set {finding}={value!r}")
                if "unknown" not in values:
                    raise ValueError(f"question {question.id!r}: {finding} has no 'unknown' value")
        rule_ids = [r.id for r in self.rules]
        if len(rule_ids) != len(set(rule_ids)):
            raise ValueError("rule ids must be unique")
        return self

    def check_answers(self, entry: DiaryEntry) -> None:
        """Raise ValueError unless the entry answers exactly the questions of the check."""
        expected = {q.id for q in self.red_flag_check}
        given = set(entry.red_flag_check)
        if given != expected:
            missing, extra = sorted(expected - given), sorted(given - expected)
            raise ValueError(f"red-flag check answers: missing {missing}, unknown {extra}")


@cache
def load_escalation_rules() -> EscalationRules:
    """The packaged escalation rules (cached)."""
    text = resources.files("telespine.care").joinpath("data/escalation.yaml").read_text(encoding="utf-8")
    return EscalationRules.model_validate(load_yaml_text(text, "escalation.yaml"))


class ScreenedText(_Strict):
    """A patient message or diary note, screened by the caller with screen_message().

    ref is the stored message's id: it makes the escalation key unique per message.
    """

    ref: str = Field(min_length=1, max_length=200)
    day: dt.date
    source: Literal["message", "diary_note"]
    screening: Screening


def screen_note(entry: DiaryEntry, ref: str, audience: Audience) -> ScreenedText | None:
    """Screen a diary entry's free-text note for evaluate_case(); None when there is no note."""
    if entry.note is None or not entry.note.strip():
        return None
    return ScreenedText(
        ref=ref,
        day=entry.day,
        source="diary_note",
        screening=screen_message(entry.note, audience, kind="diary"),
    )


class Escalation(_Strict):
    """One rule that fired: what to do, why, and a key that is stable across evaluations."""

    rule_id: str
    action: Action
    title: str
    rationale: str
    sources: list[str]
    key: str
    details: str
    updates: dict[str, FindingValue] = {}


class EscalationReport(_Strict):
    """Everything the rules found for a case at one instant."""

    case_id: str
    evaluated_at: dt.datetime
    today: dt.date
    rules_version: str
    escalations: list[Escalation]
    retriage: Retriage | None

    @property
    def needs_review(self) -> bool:
        """True when anything fired (every action involves a clinician)."""
        return bool(self.escalations) or (self.retriage is not None and self.retriage.needs_review)


def _answers_to_updates(
    entry: DiaryEntry, questions: Sequence[CheckQuestion]
) -> tuple[dict[str, FindingValue], list[str]]:
    updates: dict[str, Any] = {}
    asked: list[str] = []
    for question in questions:
        answer: Answer = entry.red_flag_check.get(question.id, "unknown")  # unanswered is not "no"
        if answer == "no":
            continue
        asked.append(f"{question.id}={answer}")
        new = question.sets if answer == "yes" else dict.fromkeys(question.sets, "unknown")
        updates = merge_findings(updates, new)
    return updates, asked


def _baseline_pain(case: CaseState, entries: Sequence[DiaryEntry]) -> float | None:
    if case.baseline_pain is not None:
        return case.baseline_pain
    first = min((e for e in entries if e.day >= case.treatment_started_on), key=lambda e: e.day, default=None)
    return float(first.pain) if first is not None else None


def _window(entries: Sequence[DiaryEntry], today: dt.date, days: int) -> list[DiaryEntry]:
    start = today - dt.timedelta(days=days - 1)
    return [e for e in entries if start <= e.day <= today]


def _improved(
    case: CaseState,
    entries: Sequence[DiaryEntry],
    scores: Sequence[ScoreRecord],
    today: dt.date,
    rule: Improvement,
) -> tuple[bool | None, str]:
    """True/False when pain did/did not improve enough; None when there is too little data."""
    verdicts: list[bool] = []
    notes: list[str] = []
    baseline = _baseline_pain(case, entries)
    recent = _window(entries, today, rule.window_days)
    if baseline is not None and len(recent) >= rule.min_entries:
        current = fmean(e.pain for e in recent)
        fall = baseline - current
        verdicts.append(fall >= rule.min_points or (baseline > 0 and fall >= rule.min_fraction * baseline))
        notes.append(f"diary pain {baseline:g} -> {current:.1f} (mean of {len(recent)} entries)")
    for instrument in IMPROVEMENT_INSTRUMENTS:
        records = sorted((s for s in scores if s.instrument_id == instrument), key=lambda s: s.taken_at)
        if len(records) >= 2:
            first, last = records[0], records[-1]
            verdicts.append(clinically_important_improvement(first, last))
            notes.append(f"{instrument} {first.primary:g} -> {last.primary:g}")
    if not verdicts:
        return None, "not enough diary or questionnaire data to judge improvement"
    return any(verdicts), "; ".join(notes)


def _rising_run(
    entries: Sequence[DiaryEntry], today: dt.date, rule: RisingRunRule
) -> list[DiaryEntry] | None:
    # Several entries on one day: the worst pain of the day counts (order-independent, and safer).
    by_day: dict[dt.date, DiaryEntry] = {}
    for e in entries:
        if e.day <= today and (e.day not in by_day or e.pain > by_day[e.day].pain):
            by_day[e.day] = e
    if not by_day:
        return None
    last = max(by_day)
    if (today - last).days > rule.max_age_days:
        return None
    run = [by_day[last]]
    while len(run) < rule.entries:
        before = by_day.get(run[-1].day - dt.timedelta(days=1))
        if before is None or before.pain >= run[-1].pain:
            return None
        run.append(before)
    # The first entry of the run must itself be a rise over the day before it.
    anchor = by_day.get(run[-1].day - dt.timedelta(days=1))
    if anchor is None or anchor.pain >= run[-1].pain:
        return None
    return [*reversed([*run, anchor])]


def _lasting_duration(
    case: CaseState, entries: Sequence[DiaryEntry], today: dt.date, rule: PainDurationRule
) -> int | float | None:
    """The pain's duration in days today, or None when it cannot be counted or has stopped."""
    given = case.findings.get("duration_days")
    if case.findings_on is None or isinstance(given, bool) or not isinstance(given, int | float):
        return None
    elapsed = (today - case.findings_on).days
    recent = _window(entries, today, rule.resolved_window_days)
    stopped = len(recent) >= rule.resolved_min_entries and all(e.pain == 0 for e in recent)
    if elapsed <= 0 or stopped:
        return None
    return given + elapsed


def evaluate_case(
    case: CaseState,
    entries: Sequence[DiaryEntry],
    scores: Sequence[ScoreRecord],
    now: dt.datetime,
    rules: EscalationRules | None = None,
    screened: Sequence[ScreenedText] = (),
) -> EscalationReport:
    """Apply every escalation rule to a case at the instant now; pure (no clock, no I/O).

    screened: messages and diary notes already run through screen_message() by the caller
    (kept outside so that this function stays cheap and needs no NLP model).

    Entries dated after the patient's today are ignored (a clock skew must not fire rules early).
    Raises ValueError for an entry whose red-flag check does not match the rules.
    """
    ruleset = rules if rules is not None else load_escalation_rules()
    today = case.local_date(now)
    for entry in entries:
        ruleset.check_answers(entry)
    known = sorted((e for e in entries if e.day <= today), key=lambda e: (e.day, e.pain, e.function))
    weeks = (today - case.treatment_started_on).days // 7
    fired: list[Escalation] = []

    def fire(
        rule: _Rule,
        anchor: dt.date | str,
        details: str,
        sets: dict[str, FindingValue] | None = None,
        action: Action | None = None,
    ) -> None:
        part = anchor.isoformat() if isinstance(anchor, dt.date) else anchor
        fired.append(
            Escalation(
                rule_id=rule.id,
                action=action or rule.action,
                title=rule.title,
                rationale=rule.rationale,
                sources=list(rule.sources),
                key=f"{case.case_id}:{rule.id}:{part}",
                details=details,
                updates=sets or {},
            )
        )

    for rule in ruleset.rules:
        if isinstance(rule, RedFlagCheckRule):
            for entry in known:  # answers a clinician reviewed come in as "no" (services.followup)
                found, answers = _answers_to_updates(entry, ruleset.red_flag_check)
                if found:
                    fire(rule, entry.day, f"diary of {entry.day.isoformat()}: {', '.join(answers)}", found)
        elif isinstance(rule, ScreenedTextRule):
            for text in sorted(screened, key=lambda t: (t.day, t.ref)):
                if text.day > today:  # the caller leaves out texts a clinician reviewed
                    continue
                result = text.screening
                if result.status != "ok":  # a failure or a message in another language
                    fire(
                        rule,
                        text.ref,
                        f"{text.source} of {text.day}: screening failed ({result.error}); read it yourself",
                        action=rule.failed_action,
                    )
                elif result.flags:
                    said = ", ".join(f"{m.concept} ({m.text!r})" for m in result.flags)
                    fire(rule, text.ref, f"{text.source} of {text.day}: {said}", result.findings_update())
        elif isinstance(rule, NoImprovementRule | WeeksWithoutImprovementRule):
            if weeks < rule.after_weeks:
                continue
            improved, note = _improved(case, known, scores, today, rule.improvement)
            if improved:
                continue
            mark = case.treatment_started_on + dt.timedelta(weeks=rule.after_weeks)
            weeks_finding: dict[str, FindingValue] = (
                {"weeks_on_treatment_without_improvement": weeks}
                if isinstance(rule, WeeksWithoutImprovementRule)
                else {}
            )
            fire(rule, mark, f"week {weeks} of treatment: {note}", weeks_finding)
        elif isinstance(rule, RisingRunRule):
            run = _rising_run(known, today, rule)
            if run is not None:
                fire(rule, run[-1].day, f"pain {' -> '.join(str(e.pain) for e in run)} up to {run[-1].day}")
        elif isinstance(rule, MeanRiseRule):
            baseline = _baseline_pain(case, known)
            recent = _window(known, today, rule.window_days)
            if baseline is None or len(recent) < rule.min_entries:
                continue
            mean = fmean(e.pain for e in recent)
            if mean - baseline >= rule.min_rise:
                fire(rule, today, f"mean pain {mean:.1f} over {len(recent)} entries, baseline {baseline:g}")
        elif isinstance(rule, PainDurationRule):
            days = _lasting_duration(case, known, today, rule)
            if days is None:
                continue
            longer = retriage(case.findings, {"duration_days": days})
            if longer.result.disposition.level < longer.previous.disposition.level:
                level = longer.result.disposition.value  # the key: once per level reached
                fire(rule, level, f"pain for {days} days by {today.isoformat()}", {"duration_days": days})

    updates_all: dict[str, Any] = {}
    for escalation in fired:
        if escalation.action == "retriage":
            updates_all = merge_findings(updates_all, escalation.updates)
    done = retriage(case.findings, updates_all, flagged=True) if updates_all else None
    return EscalationReport(
        case_id=case.case_id,
        evaluated_at=now,
        today=today,
        rules_version=ruleset.version,
        escalations=fired,
        retriage=done,
    )
