"""The medicine diary (issue 14): what was taken and when, side effects, and the plan to cut
down and stop.

`record_medicines` is the one write pages and API share: the entry and its audit row are stored
and committed first, then the one follow-up flow runs (`services.followup.run_followup`, which
evaluates `care.evaluate_medicines` beside the diary rules: escalations stored once by key, the
case raised, a floor at a red-flag level, re-triage for a sign the triage policy covers). The
entry's own warning signs then hold the case at their level (sticky, until a clinician clears
it), telespine's automatic reply tells the person what to do, and the outcome says what they
are shown now. Like services.followup, nothing here raises for its own failure after the input
was checked: the outcome then has `failed` or `safety_net`, and the case is raised.

No dose is suggested anywhere here: `amount` is only what the person wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from telespine.care import ScreenedText, Screening
from telespine.care.auto_reply import shows_safety_net
from telespine.care.levels import is_red_flag_level, level_of
from telespine.care.medicine_diary import (
    NSAID_DAYS_RULE,
    MedicineDiaryEntry,
    MedicineReport,
    check_entry,
    evaluate_medicines,
    load_medicine_diary_rules,
)
from telespine.program.medicine_plan import StopPlan, stop_plan
from telespine.program.medicines import MedicineAnswers, medicine_advice
from telespine.services import followup
from telespine.store import cases, diary, medicines, repo, repo_program
from telespine.store.models import User, utcnow
from telespine.store.models_care import CareCase, CareMessage
from telespine.store.models_medicines import MedicineDiaryRecord
from telespine.triage.emergency import with_emergency_number
from telespine.triage.types import Audience, Disposition

log = logging.getLogger("telespine.care")

# The plan to cut down and stop is for the levels that get the self-care program.
PLAN_LEVELS = ("telemedicine", "routine")


class MedicineProblem(ValueError):
    """A medicine diary entry that does not fit (the form shows it; nothing was stored)."""


@dataclass
class MedicineOutcome:
    """What the person who wrote the entry is shown at once.

    tell: what to do about the entry's warning signs, most urgent first (in the audience's voice).
    safety_net: the emergency signs must be shown now (an emergency or same-day level, or a failure).
    """

    case_id: str
    shown: str
    safety_net: bool
    tell: list[str] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)
    level: str | None = None
    failed: bool = False
    raised: bool = False
    escalations: list[str] = field(default_factory=list)
    entry: MedicineDiaryRecord | None = None
    reply: CareMessage | None = None

    @property
    def emergency(self) -> bool:
        return self.shown == Disposition.EMERGENCY.value


# --- what the form asks ---------------------------------------------------------------------


def medicine_choices(audience: Audience) -> list[dict[str, Any]]:
    """The medicines the diary knows (id, label, nsaid, aspirin), in the data's order."""
    return [
        {"id": key, "label": kind.label, "nsaid": kind.nsaid, "aspirin": kind.aspirin}
        for key, kind in load_medicine_diary_rules().medicines.items()
    ]


def warning_questions(audience: Audience) -> list[dict[str, str]]:
    """The warning-sign questions in the audience's voice (every one is asked every time)."""
    return [
        {"id": s.id, "text": s.question.for_(audience)} for s in load_medicine_diary_rules().warning_signs
    ]


def aspirin_warning(audience: Audience) -> str:
    """Never aspirin under 16, in the audience's voice (from the diary's data)."""
    return load_medicine_diary_rules().limits.aspirin.tell.for_(audience)


def parse_entry(doc: Mapping[str, Any]) -> MedicineDiaryEntry:
    """A medicine diary entry from a form or API body (raises MedicineProblem)."""
    try:
        entry = MedicineDiaryEntry.model_validate(dict(doc))
        check_entry(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "entry"
        raise MedicineProblem(f"{where}: {first['msg']}") from None
    except ValueError as exc:
        raise MedicineProblem(f"entry: {exc}") from None
    return entry


# --- the write ------------------------------------------------------------------------------


def _own_report(case: CareCase, entry: MedicineDiaryEntry, now: dt.datetime, number: str) -> MedicineReport:
    """The entry's own warning signs, whatever was reviewed before (a new entry always counts)."""
    return evaluate_medicines(cases.case_state(case), [entry], now, emergency_number=number)


def _entry_level(report: MedicineReport) -> str | None:
    levels = followup.sign_levels(report).values()
    return min(levels, key=level_of) if levels else None


def _hold(db: Session, case: CareCase, level: str, ref: str, by: User, now: dt.datetime) -> None:
    """Hold the case at least at this red-flag level (a floor, source "diary") until cleared."""
    floor = cases.case_levels(db, case).floor
    if floor is None or level_of(floor.level) > level_of(level):
        cases.add_floor(
            db,
            case,
            source="diary",
            level=level,
            reason="Warning sign (or not sure) in the medicine diary.",
            ref=ref,
            by=by,
            now=now,
        )


def _reply_body(audience: Audience, tell: Sequence[str], emergency_number: str) -> str:
    intro = with_emergency_number(load_medicine_diary_rules().reply.for_(audience), emergency_number)
    return "\n\n".join([intro, *tell])


def record_medicines(
    db: Session,
    case: CareCase,
    by: User,
    entry: MedicineDiaryEntry,
    *,
    emergency_number: str,
    now: dt.datetime | None = None,
) -> MedicineOutcome:
    """One medicine diary entry of the case. Raises MedicineProblem for an entry that does not
    fit (an unknown medicine or sign, a day after today), before anything is stored."""
    now = now or utcnow()
    try:
        check_entry(entry)
    except ValueError as exc:
        raise MedicineProblem(f"entry: {exc}") from None
    if entry.day > diary.local_today(case, now):
        raise MedicineProblem("day: the day cannot be after today")
    case_id, audience = case.id, followup.audience_of(case)
    signs = followup.emergency_signs(audience, emergency_number)
    try:
        own = _own_report(case, entry, now, emergency_number)
        level = _entry_level(own)
    except Exception as exc:  # the rules cannot run: store the entry, and fail towards a person
        log.error("medicine diary rules failed: %s", type(exc).__name__)
        own, level = None, Disposition.EMERGENCY.value
    try:
        row = medicines.add_medicine_row(db, case, by, entry, level, now)
        repo.audit(
            db,
            actor=by,
            action="create",
            object_type="medicine_diary_entry",
            object_id=row.id,
            profile_id=case.profile_id,
        )
        db.commit()
    except Exception:
        log.exception("saving a medicine diary entry failed")
        cases.raise_after_failure(
            db, case_id, "A medicine diary entry could not be saved: contact the patient."
        )
        return MedicineOutcome(
            case_id=case_id,
            shown=Disposition.EMERGENCY.value,
            safety_net=True,
            signs=signs,
            failed=True,
            raised=True,
        )
    try:
        if own is None:
            raise RuntimeError("medicine diary rules unavailable")
        screened: Screening | None = None
        texts: list[ScreenedText] = []
        has_text = bool(entry.other_effects and entry.other_effects.strip())
        if has_text and entry.other_effects is not None:
            # Side effects in the person's words are screened like a message or diary note (CPU
            # work: callers are sync routes or run this in the threadpool) and go through the same
            # text red-flag rule: re-triage, a floor at the new level, the case raised.
            _, screened = followup.screen(entry.other_effects, audience, "diary")
            if screened is not None:
                day = diary.local_today(case, now)  # written now, whatever day the entry is for
                texts.append(ScreenedText(ref=row.id, day=day, source="diary_note", screening=screened))
        follow = followup.run_followup(db, case, now, by=by, source="diary", screened=texts, fresh=(row.id,))
        raised = follow.raised
        if level is not None and is_red_flag_level(level):
            _hold(db, case, level, row.id, by, now)
        if own.escalations and not raised:
            # A sign (or "not sure") seen before on the same day still puts the case in front of a clinician.
            cases.raise_case(db, case, "Warning sign (or not sure) in the medicine diary.", now)
            raised = True
        text_net = False
        if has_text and (screened is None or screened.needs_review):
            # A person must read a flagged (or unscreenable) text, also when nothing was re-triaged.
            if not raised:
                cases.raise_case(db, case, "Other side effects in the medicine diary need review.", now)
                raised = True
            text_net = screened is None or shows_safety_net(screened)
        tell = list(own.tell)
        if any(e.rule_id == NSAID_DAYS_RULE for e in follow.escalations):
            tell.append(load_medicine_diary_rules().limits.nsaid_days.tell.for_(audience))
        reply = None
        if tell:
            reply = medicines.add_automatic_note(db, case, _reply_body(audience, tell, emergency_number), now)
        db.commit()
    except Exception:
        log.exception("follow-up of a medicine diary entry failed")
        cases.raise_after_failure(
            db, case_id, "A medicine diary entry could not be checked: contact the patient."
        )
        return MedicineOutcome(
            case_id=case_id,
            shown=Disposition.EMERGENCY.value,
            safety_net=True,
            signs=signs,
            raised=True,
            entry=row,
            level=Disposition.EMERGENCY.value,
        )
    shown = cases.patient_disposition(db, case)
    urgent = (
        text_net
        or level_of(shown) <= Disposition.URGENT.level
        or (level is not None and level_of(level) <= Disposition.URGENT.level)
    )
    return MedicineOutcome(
        case_id=case_id,
        shown=shown,
        safety_net=urgent,
        tell=tell,
        signs=signs if urgent else [],
        level=level,
        raised=raised,
        escalations=[e.rule_id for e in follow.escalations],
        entry=row,
        reply=reply,
    )


# --- reading it back ------------------------------------------------------------------------


@dataclass
class EntryResult:
    """What one stored entry called for, as shown after saving it."""

    row: MedicineDiaryRecord
    tell: list[str]
    level: str | None


def entry_result(db: Session, case: CareCase, entry_id: str, emergency_number: str) -> EntryResult | None:
    """One entry of this case and what its warning signs call for (None: not an entry of the case)."""
    row = medicines.get_medicine_row(db, case, entry_id)
    if row is None:
        return None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    try:
        report = _own_report(case, medicines.as_entry(row), created, emergency_number)
        tell = list(report.tell)
    except Exception as exc:  # fail towards the emergency level
        log.error("medicine diary rules failed: %s", type(exc).__name__)
        return EntryResult(row=row, tell=[], level=Disposition.EMERGENCY.value)
    return EntryResult(row=row, tell=tell, level=row.level)


@dataclass
class DiaryLine:
    """One stored entry as a page or the chart shows it."""

    row: MedicineDiaryRecord
    taken: list[dict[str, Any]]
    signs: list[tuple[str, str]]  # (sign question, answer) for every yes or unknown


def diary_lines(rows: Sequence[MedicineDiaryRecord], audience: Audience) -> list[DiaryLine]:
    """Stored entries (oldest first, as store.medicine_rows gives them) as lines with labels,
    newest first. Pages read them through services.records.medicine_lines (audited)."""
    rules = load_medicine_diary_rules()
    questions = {s.id: s.question.for_(audience) for s in rules.warning_signs}
    out = []
    for row in reversed(rows):
        taken = [
            {
                "label": rules.medicines[t["medicine"]].label
                if t["medicine"] in rules.medicines
                else t["medicine"],
                "taken_at": dt.datetime.fromisoformat(t["taken_at"]),
                "amount": t.get("amount"),
            }
            for t in row.taken
        ]
        marked = [(questions.get(k, k), str(v)) for k, v in row.warning_signs.items() if v != "no"]
        unanswered = [(q, "unknown") for k, q in questions.items() if k not in row.warning_signs]
        out.append(DiaryLine(row=row, taken=taken, signs=marked + unanswered))
    return out


def reduce_plan(db: Session, case: CareCase) -> StopPlan | None:
    """The dated plan to cut down and stop, from the medicine answers saved with the plan (missing
    answers are unknown: no anti-inflammatory dose), for the levels that get the program; None
    otherwise or when it cannot be made (the page then says to ask the care team)."""
    if cases.patient_disposition(db, case) not in PLAN_LEVELS:
        return None
    try:
        stored = repo_program.latest_plan_answers(db, case.assessment_id)
        raw = (stored.answers or {}).get("medicines") if stored is not None else None
        answers = MedicineAnswers.model_validate(raw or {})
        findings = case.assessment.latest.findings
        advice = medicine_advice(answers, findings, followup.audience_of(case))
        return stop_plan(advice, case.treatment_started_on)
    except Exception as exc:
        log.error("stop plan unavailable: %s", type(exc).__name__)
        return None
