"""The medicine diary and its warning signs, as data, evaluated with an explicit clock. Pure.

An entry records what was taken and when, and answers the NSAID warning-sign questions
(`care/data/medicine_diary.yaml`). `evaluate_medicines(case, entries, now)` gives the level the
signs call for (a "yes" gives the sign's level, an unknown answer the next level down, never a
"no"), the escalations to store once by their key, the findings updates for signs the triage
policy covers (re-triage), and what to tell the person now. Callers raise the case's floor
(`telespine.care.levels`, source "diary") to `report.level`; only a clinician clears it.

No dose is ever suggested here: `amount` is only what the person wrote down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from telespine.care.diary import Answer, CaseState
from telespine.care.escalation import Action, Escalation
from telespine.care.findings_merge import FindingValue, load_merge_order, merge_findings
from telespine.triage.emergency import with_emergency_number
from telespine.triage.types import Audience, Disposition, audience_for_age

Level = Literal["emergency", "urgent", "prompt", "routine"]
LEVEL_ORDER: dict[str, int] = {d.value: d.level for d in Disposition}
SIGN_RULE = "care.medicine_warning_sign"
NSAID_DAYS_RULE = "care.nsaid_too_many_days"
ASPIRIN_RULE = "care.aspirin_under_16"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voiced(_Strict):
    adult: str
    pediatric: str

    def for_(self, audience: Audience) -> str:
        return self.adult if audience == "adult" else self.pediatric


class MedicineKind(_Strict):
    label: str
    nsaid: bool
    aspirin: bool


class WarningSign(_Strict):
    """A side effect to ask about: its level (or the findings it sets for re-triage) and what to say."""

    id: str = Field(pattern=r"^[a-z_]+$")
    question: Voiced
    level: Level | None = None
    unknown_level: Level | None = None
    sets: dict[str, bool | str] | None = None
    tell: Voiced
    rationale: str
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_route(self) -> WarningSign:
        if (self.sets is None) == (self.level is None):
            raise ValueError(f"{self.id}: give either a level or the findings it sets")
        if self.level is not None:
            if self.unknown_level is None:
                raise ValueError(f"{self.id}: an unknown answer needs a level too (never a no)")
            # unknown: at most one level less urgent than yes
            if LEVEL_ORDER[self.unknown_level] - LEVEL_ORDER[self.level] > 1:
                raise ValueError(f"{self.id}: unknown may be at most one level below yes")
        return self


class NsaidDays(_Strict):
    adult_days: int = Field(ge=1)
    child_days: int = Field(ge=1)
    window_days: int = Field(ge=1)
    tell: Voiced
    sources: list[str] = Field(min_length=1)


class AspirinLimit(_Strict):
    under_age: int = Field(ge=1)
    tell: Voiced
    sources: list[str] = Field(min_length=1)


class Limits(_Strict):
    nsaid_days: NsaidDays
    aspirin: AspirinLimit


class MedicineDiaryRules(_Strict):
    """The whole file (data/medicine_diary.yaml)."""

    version: str
    sources: list[str] = Field(min_length=1)
    medicines: dict[str, MedicineKind]
    warning_signs: list[WarningSign] = Field(min_length=1)
    limits: Limits
    reply: Voiced  # the first line of the automatic reply to an entry with a warning sign

    @model_validator(mode="after")
    def _check(self) -> MedicineDiaryRules:
        ids = [s.id for s in self.warning_signs]
        if len(ids) != len(set(ids)):
            raise ValueError("warning sign ids must be unique")
        order = load_merge_order()
        for sign in self.warning_signs:
            for finding, value in (sign.sets or {}).items():
                values = order.order_of(finding) if finding in order.findings else []
                if not any(type(v) is type(value) and v == value for v in values):
                    raise ValueError(f"{sign.id}: cannot set {finding}={value!r}")
                if "unknown" not in values:
                    raise ValueError(f"{sign.id}: {finding} has no 'unknown' value")
            for text in (sign.tell.adult, sign.tell.pediatric):
                if (sign.level == "emergency" or sign.sets) and "{emergency_number}" not in text:
                    raise ValueError(f"{sign.id}: an emergency sign must say {{emergency_number}}")
        return self


@cache
def load_medicine_diary_rules() -> MedicineDiaryRules:
    """The packaged medicine diary rules (cached); the aspirin age must match program's."""
    from telespine.program.medicines import load_medicine_texts

    text = resources.files("telespine.care").joinpath("data/medicine_diary.yaml").read_text(encoding="utf-8")
    rules = MedicineDiaryRules.model_validate(yaml.safe_load(text))
    program_age = load_medicine_texts().rules.children.no_aspirin_under_age
    if rules.limits.aspirin.under_age != program_age:
        raise ValueError(f"aspirin age {rules.limits.aspirin.under_age} differs from program's {program_age}")
    return rules


class MedicineTaken(_Strict):
    """One medicine taken at one time; amount is only what the person wrote (never checked as a dose)."""

    medicine: str = Field(min_length=1, max_length=40)
    taken_at: AwareDatetime
    amount: str | None = Field(default=None, max_length=60)


class MedicineDiaryEntry(_Strict):
    """One day of the medicine diary: what was taken and the answers to the warning signs."""

    day: dt.date
    taken: list[MedicineTaken] = Field(default=[], max_length=30)
    warning_signs: dict[str, Answer]
    other_effects: str | None = Field(default=None, max_length=1000)


def check_entry(entry: MedicineDiaryEntry, rules: MedicineDiaryRules | None = None) -> None:
    """Raise ValueError for a medicine or a question the diary does not know."""
    config = rules if rules is not None else load_medicine_diary_rules()
    unknown = sorted({t.medicine for t in entry.taken} - set(config.medicines))
    if unknown:
        raise ValueError(f"unknown medicine {unknown[0]!r}")
    extra = sorted(set(entry.warning_signs) - {s.id for s in config.warning_signs})
    if extra:
        raise ValueError(f"unknown warning sign {extra[0]!r}")


class SignHit(_Strict):
    """A warning sign answered yes or unknown."""

    sign_id: str
    day: dt.date
    answer: Answer
    level: Level | None
    tell: str
    rationale: str
    sources: list[str]


class MedicineReport(_Strict):
    """What the medicine diary calls for at one instant."""

    case_id: str
    today: dt.date
    rules_version: str
    level: Disposition | None
    hits: list[SignHit]
    escalations: list[Escalation]
    updates: dict[str, FindingValue]
    tell: list[str]

    @property
    def needs_review(self) -> bool:
        return bool(self.escalations)


def _action(level: Level | None) -> Action:
    if level is None:
        return "retriage"
    return "review" if level == "routine" else "alert"


def evaluate_medicines(
    case: CaseState,
    entries: Sequence[MedicineDiaryEntry],
    now: dt.datetime,
    rules: MedicineDiaryRules | None = None,
    emergency_number: str = "911",
) -> MedicineReport:
    """Apply the medicine diary rules at the instant now; entries after the patient's today are ignored."""
    config = rules if rules is not None else load_medicine_diary_rules()
    today = case.local_date(now)
    age = case.findings["age_years"]
    audience = audience_for_age(age)
    for entry in entries:
        check_entry(entry, config)
    known = sorted((e for e in entries if e.day <= today), key=lambda e: e.day)
    hits: list[SignHit] = []
    escalations: list[Escalation] = []
    updates: dict[str, Any] = {}
    tell: list[tuple[int, str]] = []

    for entry in known:  # signs a clinician reviewed come in as "no" (services.followup)
        for sign in config.warning_signs:
            answer: Answer = entry.warning_signs.get(sign.id, "unknown")  # unanswered is not "no"
            if answer == "no":
                continue
            level = sign.level if answer == "yes" else sign.unknown_level
            text = with_emergency_number(sign.tell.for_(audience), emergency_number)
            hits.append(
                SignHit(
                    sign_id=sign.id,
                    day=entry.day,
                    answer=answer,
                    level=level,
                    tell=text,
                    rationale=sign.rationale,
                    sources=list(sign.sources),
                )
            )
            sets: dict[str, FindingValue] = {}
            if sign.sets is not None:
                sets = dict(sign.sets) if answer == "yes" else dict.fromkeys(sign.sets, "unknown")
                updates = merge_findings(updates, sets)
            escalations.append(
                Escalation(
                    rule_id=SIGN_RULE,
                    action=_action(level),
                    title=f"Medicine warning sign: {sign.id}",
                    rationale=sign.rationale,
                    sources=list(sign.sources),
                    key=f"{case.case_id}:{SIGN_RULE}:{entry.day.isoformat()}:{sign.id}",
                    details=f"medicine diary of {entry.day.isoformat()}: {sign.id}={answer}"
                    + (f" (level {level})" if level else " (re-triage)"),
                    updates=sets,
                )
            )
            tell.append((LEVEL_ORDER[level] if level else 1, text))

    limit = config.limits.nsaid_days
    window_start = today - dt.timedelta(days=limit.window_days - 1)
    nsaid_days = sorted(
        {
            e.day
            for e in known
            if e.day >= window_start and any(config.medicines[t.medicine].nsaid for t in e.taken)
        }
    )
    allowed = limit.adult_days if audience == "adult" else limit.child_days
    if len(nsaid_days) > allowed:
        escalations.append(
            Escalation(
                rule_id=NSAID_DAYS_RULE,
                action="review",
                title="Anti-inflammatory medicine taken on many days",
                rationale=f"NSAIDs on more than {allowed} days within {limit.window_days} days.",
                sources=list(limit.sources),
                key=f"{case.case_id}:{NSAID_DAYS_RULE}:{nsaid_days[allowed].isoformat()}",
                details=f"NSAID on {len(nsaid_days)} days from {nsaid_days[0]} to {nsaid_days[-1]}",
            )
        )
        tell.append((LEVEL_ORDER["routine"], limit.tell.for_(audience)))

    aspirin = config.limits.aspirin
    if isinstance(age, int | float) and age < aspirin.under_age:
        days = sorted({e.day for e in known if any(config.medicines[t.medicine].aspirin for t in e.taken)})
        if days:
            escalations.append(
                Escalation(
                    rule_id=ASPIRIN_RULE,
                    action="alert",
                    title="Aspirin given to someone under 16",
                    rationale="Aspirin under 16 risks Reye's syndrome; advise stopping and an alternative.",
                    sources=list(aspirin.sources),
                    key=f"{case.case_id}:{ASPIRIN_RULE}:{days[0].isoformat()}",
                    details=f"aspirin recorded on {', '.join(d.isoformat() for d in days)}",
                )
            )
            tell.append((LEVEL_ORDER["prompt"], aspirin.tell.for_(audience)))

    levels = [h.level for h in hits if h.level is not None]
    if any(h.level is None and h.answer == "yes" for h in hits):
        levels.append("emergency")  # a sign the policy covers: re-triage will confirm; until then, the worst
    elif any(h.level is None for h in hits):
        levels.append("urgent")  # unknown answer to such a sign (policy v2 property 3)
    worst = Disposition(min(levels, key=lambda v: LEVEL_ORDER[v])) if levels else None
    ordered: list[str] = []
    for _, text in sorted(tell, key=lambda p: p[0]):
        if text not in ordered:
            ordered.append(text)
    return MedicineReport(
        case_id=case.case_id,
        today=today,
        rules_version=config.version,
        level=worst,
        hits=hits,
        escalations=escalations,
        updates=updates,
        tell=ordered,
    )
