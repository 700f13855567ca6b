"""The one follow-up flow of pages and API: a message, a diary entry, a re-answered assessment,
the one-minute red-flag check, a clinician's override and a clinician's clearing of an
escalation.

Each function does the write, its audit row, screening, the merge, re-triage, escalation (the
case is raised, an escalation floor is set) and the safety-net outcome (what the person is
shown at once, the automatic reply). Routes parse, call one of these, and render.

Every path that could end in silence fails towards a person: the text is stored (and committed)
before it is screened, so a screening failure still reaches a clinician; a failure raises the
case and the person is shown the emergency safety net. Screening is CPU work: call these from a
sync route (FastAPI runs it in the threadpool) or through `run_in_threadpool`, never inside the
event loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telespine import care as care_rules  # module attributes: tests may replace screen_message
from telespine.care import DiaryEntry, ScreenedText, Screening, merge_findings, retriage
from telespine.care.auto_reply import (
    AutoReply,
    compose_reply,
    fallback_reply,
    shows_safety_net,
)
from telespine.care.checks import check_answers, check_updates
from telespine.care.levels import is_red_flag_level, level_of
from telespine.care.medicine_diary import (
    SIGN_RULE,
    MedicineReport,
    evaluate_medicines,
    load_medicine_diary_rules,
)
from telespine.care.screening.learned import TextKind
from telespine.content import emergency_advice
from telespine.services.audience import assessment_audience
from telespine.store import cases, diary, medicines, messages, repo
from telespine.store.models import Assessment, AssessmentVersion, User, utcnow
from telespine.store.models_care import (
    CareCase,
    CareMessage,
    DiaryRecord,
    DispositionOverride,
    EscalationFloor,
    EscalationRecord,
    RedFlagCheckRecord,
)
from telespine.triage.emergency import builtin_signs
from telespine.triage.types import Audience, Disposition, TriageResult

log = logging.getLogger("telespine.care")

RED_FLAG_RULES = frozenset({"care.diary_red_flag", "care.text_red_flag", SIGN_RULE})
RULE_SOURCE = {"care.diary_red_flag": "diary", "care.text_red_flag": "message", SIGN_RULE: "diary"}


class VersionConflict(Exception):
    """Another version of the assessment was saved at the same moment (the client may retry)."""


@dataclass
class Followup:
    """What the follow-up rules did: new escalations, the new result (when a version was saved),
    whether the case was raised, and whether the text needs a person (flagged)."""

    escalations: list[EscalationRecord]
    result: TriageResult | None
    raised: bool
    flagged: bool = False


@dataclass
class Outcome:
    """What the person who wrote is shown at once.

    shown: the level the patient or parent now sees (never below an escalation floor).
    safety_net: the emergency signs must be shown now (a red flag, a failure, or an emergency
    or same-day level reached by this write). failed: the write itself could not be saved.
    """

    case_id: str
    shown: str
    safety_net: bool
    signs: list[str] = field(default_factory=list)
    failed: bool = False
    flagged: bool = False
    raised: bool = False
    escalations: list[str] = field(default_factory=list)
    message: CareMessage | None = None
    reply: CareMessage | None = None
    diary_entry: DiaryRecord | None = None
    check: RedFlagCheckRecord | None = None
    version: AssessmentVersion | None = None
    result: TriageResult | None = None  # the new engine result when a version was saved

    @property
    def emergency(self) -> bool:
        return self.shown == Disposition.EMERGENCY.value


def audience_of(case: CareCase) -> Audience:
    """The one audience rule (services.audience): a child profile or an age under 18."""
    return assessment_audience(case.assessment)


def emergency_signs(audience: str, emergency_number: str) -> list[str]:
    """The emergency warning signs in the audience's voice (content never raises here)."""
    try:
        return list(
            emergency_advice(
                "pediatric" if audience == "pediatric" else "adult", emergency_number=emergency_number
            ).signs
        )
    except Exception as exc:
        log.error("emergency advice unavailable: %s", type(exc).__name__)
        return builtin_signs(audience)  # the one built-in emergency text, in the audience's voice


# --- screening ----------------------------------------------------------------------------


def screen(
    text: str, audience: Audience, kind: TextKind = "message"
) -> tuple[dict[str, Any], Screening | None]:
    """Screen a text (CPU work: never call this in the event loop). Any failure becomes an
    error screening, which asks for a clinician; the Screening is None then."""
    from telespine.services import observe

    try:
        with observe.screening():  # the time only, for the metrics
            result = care_rules.screen_message(text, audience, kind=kind)
        doc: dict[str, Any] = result.model_dump(mode="json")
        return doc, result
    except Exception as exc:
        log.error("screening failed: %s", type(exc).__name__)
        return {
            "status": "error",
            "audience": audience,
            "flags": [],
            "modifiers": [],
            "ignored": [],
            "rules_version": "unavailable",
            "error": type(exc).__name__,
        }, None


def _flagged(doc: Mapping[str, Any], result: Screening | None) -> bool:
    """A person must read it: a red flag, a failure, or something the rules could not read."""
    if result is None:
        return True
    return bool(result.needs_review)


def _safety(result: Screening | None) -> bool:
    return result is None or shows_safety_net(result)


# --- the follow-up rules -----------------------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def reviewed_at(case: CareCase, floors: Sequence[EscalationFloor]) -> dt.datetime | None:
    """When a clinician last reviewed the case's red flags: the later of the last acknowledgement
    (red_flags_reviewed_at) and the last cleared floor; None when never."""
    times = [_aware(f.cleared_at) for f in floors if f.cleared_at is not None]
    if case.red_flags_reviewed_at is not None:
        times.append(_aware(case.red_flags_reviewed_at))
    return max(times) if times else None


def handled(
    created_at: dt.datetime, reviewed: dt.datetime | None, ref: str, fresh: Collection[str] = ()
) -> bool:
    """The one rule for every kind of report (diary check answers, diary note, message, medicine
    entry): a clinician reviewed it when it was stored at or before the review. Never by the day
    it is for (a missed day filled in after the review, or a text after a time-zone change, is
    new), and never the report this write has just stored (fresh: a review that came in between
    its save and its check has not seen it)."""
    return reviewed is not None and ref not in fresh and _aware(created_at) <= reviewed


def _diary_for_rules(
    rows: Sequence[DiaryRecord], reviewed: dt.datetime | None, fresh: Collection[str] = ()
) -> list[DiaryEntry]:
    """Diary entries for evaluate_case; a red-flag check a clinician has reviewed counts as "no"."""
    entries = diary.diary_entries(rows)
    if reviewed is None:
        return entries
    out = []
    for row, entry in zip(rows, entries, strict=True):
        if handled(row.created_at, reviewed, row.id, fresh):
            entry = entry.model_copy(update={"red_flag_check": dict.fromkeys(entry.red_flag_check, "no")})
        out.append(entry)
    return out


def _screened(
    db: Session, case: CareCase, reviewed: dt.datetime | None, fresh: Collection[str] = ()
) -> list[ScreenedText]:
    """Flagged patient messages and diary notes for evaluate_case (not those a clinician reviewed:
    handled()), each on the patient's local day it was written."""
    out: list[ScreenedText] = []
    audience = audience_of(case)
    for r in diary.diary_for_case(db, case):
        if r.note_screening is None and r.note is not None and r.note.strip():
            _screen_note(db, r, audience)  # a note saved before notes were screened (migration 0006)
        if not r.note_flagged or r.note_screening is None:
            continue
        if handled(r.created_at, reviewed, r.id, fresh):
            continue
        try:
            note_screening = Screening.model_validate(r.note_screening)
        except Exception as exc:  # an unreadable stored screening: the note was flagged anyway
            log.error("stored note screening unreadable: %s", type(exc).__name__)
            continue
        written = diary.local_today(case, _aware(r.created_at))  # the note is new that day
        out.append(ScreenedText(ref=r.id, day=written, source="diary_note", screening=note_screening))
    for m in messages.messages_for_case(db, case):
        if not m.from_patient or not m.flagged or m.screening is None:
            continue
        if handled(m.created_at, reviewed, m.id, fresh):
            continue
        try:
            screening = Screening.model_validate(m.screening)
        except Exception as exc:  # an unreadable stored screening: the message was flagged anyway
            log.error("stored message screening unreadable: %s", type(exc).__name__)
            continue
        # The patient's calendar day it was written (the rules count days in the case's zone; the
        # UTC date held back a red flag sent in the evening west of UTC as "tomorrow"). Whether it
        # was reviewed is handled() above, by time: never this day.
        day = diary.local_today(case, _aware(m.created_at))
        out.append(ScreenedText(ref=m.id, day=day, source="message", screening=screening))
    return out


def _screen_note(db: Session, row: DiaryRecord, audience: Audience) -> Screening | None:
    """Screen a diary note like a message (a failure flags it for review); no note, no screening."""
    if row.note is None or not row.note.strip():
        return None
    doc, result = screen(row.note, audience, "diary")
    row.note_screening = doc
    row.note_flagged = _flagged(doc, result)
    db.flush()
    return result


def medicine_report(
    db: Session,
    case: CareCase,
    now: dt.datetime,
    reviewed: dt.datetime | None,
    fresh: Collection[str] = (),
) -> MedicineReport | None:
    """care.evaluate_medicines over the case's medicine diary (None when there is none).

    Warning signs of entries saved at or before a clinician's last review (handled()) count as
    handled (answered "no"); entries saved after it count, whatever day they are for.
    Raises when the rules cannot run: the caller raises the case.
    """
    rows = medicines.medicine_rows(db, case)
    if not rows:
        return None
    signs = [s.id for s in load_medicine_diary_rules().warning_signs]
    entries = []
    for row in rows:
        entry = medicines.as_entry(row)
        if handled(row.created_at, reviewed, row.id, fresh):
            entry = entry.model_copy(update={"warning_signs": dict.fromkeys(signs, "no")})
        entries.append(entry)
    return evaluate_medicines(cases.case_state(case), entries, now)


def sign_levels(report: MedicineReport) -> dict[str, str]:
    """The level each warning-sign escalation key calls for (a sign the triage policy covers:
    emergency for a yes, urgent when unknown, until re-triage has run; never less)."""
    out: dict[str, str] = {}
    for hit in report.hits:
        level = hit.level or ("emergency" if hit.answer == "yes" else "urgent")
        key = f"{report.case_id}:{SIGN_RULE}:{hit.day.isoformat()}:{hit.sign_id}"
        if key not in out or level_of(level) < level_of(out[key]):
            out[key] = level
    return out


def run_followup(
    db: Session,
    case: CareCase,
    now: dt.datetime,
    by: User | None = None,
    source: str | None = None,
    screened: Sequence[ScreenedText] = (),
    fresh: Collection[str] = (),
) -> Followup:
    """Run telespine.care.evaluate_case and act on new escalations, once per key.

    A report a clinician reviewed (stored at or before reviewed_at()) is skipped; fresh: ids of
    the diary entry, message or medicine entry this write has just stored, which always count.

    screened: texts screened by the caller that are not stored as a message or diary note (the
    medicine diary's "other side effects"); they go through the same text red-flag rule as the
    case's flagged messages and notes (re-triage, a floor, the case raised).

    retriage: a new assessment version when the findings change, the case is raised, and a red
    flag that leaves a red-flag level (emergency, urgent, prompt) sets an escalation floor;
    review and alert: the case is raised with the rule's title. A failure of the evaluation
    itself raises the case for review (never silence).
    """
    all_floors = cases.floors_for_case(db, case)
    reviewed = reviewed_at(case, all_floors)
    try:
        report = care_rules.evaluate_case(
            cases.case_state(case),
            _diary_for_rules(diary.diary_for_case(db, case), reviewed, fresh),
            cases.scores_for_case(db, case),
            now,
            screened=[*_screened(db, case, reviewed, fresh), *screened],
        )
    except Exception as exc:
        log.error("evaluate_case failed: %s", type(exc).__name__)
        cases.raise_case(db, case, "Follow-up rules could not run: review the diary and messages.", now)
        return Followup(escalations=[], result=None, raised=True)
    try:
        med = medicine_report(db, case, now, reviewed, fresh)
    except Exception as exc:
        log.error("evaluate_medicines failed: %s", type(exc).__name__)
        cases.raise_case(db, case, "Medicine diary rules could not run: review the medicine diary.", now)
        return Followup(escalations=[], result=None, raised=True)
    every = [*report.escalations, *(med.escalations if med is not None else [])]
    keys = [e.key for e in every]
    known = (
        set(db.scalars(select(EscalationRecord.key).where(EscalationRecord.key.in_(keys))).all())
        if keys
        else set()
    )
    new: list[EscalationRecord] = []
    updates: dict[str, Any] = {}
    for esc in every:
        if esc.key in known:
            continue
        record = cases.store_escalation(db, case, esc, now)
        if record is None:
            continue  # another worker stored (and acts on) this one
        new.append(record)
        if esc.action == "retriage":
            updates = merge_findings(updates, esc.updates)
    result: TriageResult | None = None
    raised_now = False
    if report.retriage is not None:
        # Every unreviewed red flag, also one whose key was stored before (e.g. a second flag on
        # the same day): merging is idempotent, so only something new changes the findings.
        for esc in report.escalations:
            if esc.action == "retriage" and esc.rule_id in RED_FLAG_RULES:
                updates = merge_findings(updates, esc.updates)
    new_red = [r for r in new if r.action == "retriage" and r.rule_id in RED_FLAG_RULES]
    if updates:
        latest = case.assessment.latest
        done = retriage(latest.findings, updates, flagged=True)
        changed = done.changed or done.result.disposition.value != latest.disposition
        if changed:
            if not new:
                cases.raise_case(db, case, "New red flag for a case already reviewed today.", now)
                raised_now = True
            # Made by the system, not the person whose entry set it off: by None, with the trigger.
            fired = sorted({e.rule_id for e in report.escalations if e.action == "retriage"})
            origin = source or next((RULE_SOURCE[r.rule_id] for r in new_red), "message")
            trigger = f"{origin}:{','.join(fired)}"
            made = repo.add_version(
                db,
                assessment=case.assessment,
                by=None,
                findings=done.findings_after,
                result=done.result,
                trigger=trigger,
            )
            repo.audit(
                db,
                actor=None,
                action="retriage",
                object_type="assessment_version",
                object_id=case.assessment_id,
                profile_id=case.profile_id,
                detail=f"by the system; version {made.version}; trigger {made.trigger}",
            )
            result = done.result
        level = done.result.disposition.value
        if (new_red or changed) and is_red_flag_level(level):
            origin = source or next((RULE_SOURCE[r.rule_id] for r in new_red), "message")
            cases.add_floor(
                db,
                case,
                source=origin,
                level=level,
                reason=(new_red[0].title if new_red else "Red flag in follow-up data")[:300],
                ref=new_red[0].key[:64] if new_red else None,
                now=now,
            )
    if med is not None:
        # A medicine warning sign at a red-flag level holds the case there, like a diary red flag
        # (the GI signs are not in the triage policy, so their level comes from the diary rules).
        levels = sign_levels(med)
        held = [(levels[r.key], r) for r in new if r.rule_id == SIGN_RULE and r.key in levels]
        held = [(lvl, r) for lvl, r in held if is_red_flag_level(lvl)]
        if held:
            lvl, record = min(held, key=lambda p: level_of(p[0]))
            cases.add_floor(
                db, case, source="diary", level=lvl, reason=record.title[:300], ref=record.key[-64:], now=now
            )
    if new:
        worst = min(new, key=lambda r: {"retriage": 0, "alert": 1, "review": 2}.get(r.action, 0))
        cases.raise_case(db, case, worst.title, now)
    return Followup(escalations=new, result=result, raised=bool(new) or raised_now)


# --- messages -----------------------------------------------------------------------------


def _reply(
    db: Session,
    msg: CareMessage,
    result: Screening | None,
    audience: Audience,
    signs: list[str],
    emergency_number: str,
    now: dt.datetime,
) -> CareMessage | None:
    try:
        reply: AutoReply = compose_reply(msg.body, result, audience, signs, emergency_number)
    except Exception as exc:  # the reply data is broken: still a reply with the number and the check
        log.error("automatic reply unavailable: %s", type(exc).__name__)
        reply = fallback_reply(audience, emergency_number)
    try:
        with db.begin_nested():
            return messages.add_auto_reply(db, msg, reply.body, reply.offers_check, now)
    except Exception as exc:
        log.error("automatic reply not stored: %s", type(exc).__name__)
        return None


def post_message(
    db: Session,
    case: CareCase,
    author: User,
    body: str,
    *,
    emergency_number: str,
    now: dt.datetime | None = None,
) -> Outcome:
    """A message. A patient's (or parent's) is stored and committed first, then screened; a red
    flag re-triages, raises the case and sets a floor; every one gets the automatic reply.

    Callers check who may write. Never raises for a failure of its own: the Outcome then has
    failed=True (nothing could be stored) or safety_net=True, and the case is raised.
    """
    now = now or utcnow()
    case_id, audience = case.id, audience_of(case)
    try:
        msg = messages.add_message(db, case, author, body, now)
        _audit_write(db, author, "message", msg.id, case)
        db.commit()
    except Exception:
        log.exception("saving a message failed")
        cases.raise_after_failure(db, case_id, "A message could not be saved: contact the patient.")
        return _failed(case_id, audience, emergency_number)
    if not msg.from_patient:
        return Outcome(
            case_id=case.id, shown=cases.patient_disposition(db, case), safety_net=False, message=msg
        )
    signs = emergency_signs(audience, emergency_number)
    try:
        doc, result = screen(msg.body, audience)
        messages.set_screening(db, msg, doc, _flagged(doc, result))
        follow = run_followup(db, case, now, by=author, source="message", fresh=(msg.id,))
        if msg.flagged and not follow.raised:
            # evaluate_case found nothing new (or only something to read): a clinician must read it
            cases.raise_case(db, case, "A message needs review.", now)
            follow.raised = True
        reply = _reply(db, msg, result, audience, signs, emergency_number, now)
        db.commit()
    except Exception:
        # The message is stored: raise the case so a person reads it, and show the safety net.
        log.exception("follow-up of a message failed")
        cases.raise_after_failure(
            db, case_id, "A message could not be checked: read it and contact the patient."
        )
        return _unchecked(case_id, signs)
    shown = cases.patient_disposition(db, case)
    safety = _safety(result) or (level_of(shown) <= Disposition.URGENT.level and follow.result is not None)
    return Outcome(
        case_id=case.id,
        shown=shown,
        safety_net=safety,
        signs=signs,
        flagged=msg.flagged,
        raised=follow.raised,
        escalations=[e.rule_id for e in follow.escalations],
        message=msg,
        reply=reply,
        result=follow.result,
    )


def _audit_write(db: Session, by: User, object_type: str, object_id: str, case: CareCase) -> None:
    """The audit row of a follow-up write (who wrote which kind of record of which profile)."""
    kind, profile_id = object_type, case.profile_id
    repo.audit(db, actor=by, action="create", object_type=kind, object_id=object_id, profile_id=profile_id)


def _unchecked(case_id: str, signs: list[str], diary_entry: DiaryRecord | None = None) -> Outcome:
    """A write that is stored but whose follow-up failed: the case is raised, the safety net shows."""
    return Outcome(
        case_id=case_id,
        shown=Disposition.EMERGENCY.value,
        safety_net=True,
        signs=signs,
        flagged=True,
        raised=True,
        diary_entry=diary_entry,
    )


def _failed(case_id: str, audience: str, emergency_number: str) -> Outcome:
    return Outcome(
        case_id=case_id,
        shown=Disposition.EMERGENCY.value,
        safety_net=True,
        signs=emergency_signs(audience, emergency_number),
        failed=True,
        raised=True,
    )


# --- diary ------------------------------------------------------------------------------


def add_diary_entry(
    db: Session,
    case: CareCase,
    by: User,
    entry: DiaryEntry,
    *,
    emergency_number: str,
    now: dt.datetime | None = None,
) -> Outcome:
    """A validated diary entry: stored and committed, then its note screened and the escalation
    rules run at once. A yes or "not sure" in the check, or a red flag (or failed screening) in
    the note, raises the case and shows the safety net."""
    now = now or utcnow()
    case_id, audience = case.id, audience_of(case)
    try:
        row = diary.add_diary_row(db, case, by, entry, now)
        _audit_write(db, by, "diary_entry", row.id, case)
        db.commit()
    except Exception:
        log.exception("saving a diary entry failed")
        cases.raise_after_failure(db, case_id, "A diary entry could not be saved: contact the patient.")
        return _failed(case_id, audience, emergency_number)
    signs = emergency_signs(audience, emergency_number)
    red_check = any(v != "no" for v in entry.red_flag_check.values())
    try:
        result = _screen_note(db, row, audience)
        follow = run_followup(db, case, now, by=by, source="diary", fresh=(row.id,))
        if not follow.raised and red_check:
            # A warning sign (or "not sure") always puts the case in front of a clinician again.
            cases.raise_case(db, case, "Red flag (or not sure) in today's diary.", now)
            follow.raised = True
        if row.note_flagged and not follow.raised:
            cases.raise_case(db, case, "A diary note needs review.", now)
            follow.raised = True
        db.commit()
    except Exception:
        log.exception("follow-up of a diary entry failed")
        cases.raise_after_failure(db, case_id, "A diary entry could not be checked: contact the patient.")
        return _unchecked(case_id, signs, diary_entry=row)
    shown = cases.patient_disposition(db, case)
    note_net = row.note_flagged and (result is None or shows_safety_net(result))
    urgent = follow.result is not None and follow.result.disposition.level <= Disposition.URGENT.level
    return Outcome(
        case_id=case.id,
        shown=shown,
        safety_net=red_check or note_net or urgent,
        signs=signs,
        flagged=row.note_flagged,
        raised=follow.raised,
        escalations=[e.rule_id for e in follow.escalations],
        diary_entry=row,
        result=follow.result,
    )


# --- the one-minute red-flag check --------------------------------------------------------


def red_flag_check(
    db: Session,
    case: CareCase,
    by: User,
    raw_answers: Mapping[str, Any],
    *,
    emergency_number: str,
    message_id: str | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """The structured check offered in the automatic reply: the answers go through the triage
    engine (merged into the case's findings, never less urgent), and the person sees the result
    at once. A yes or "not sure" raises the case and sets a floor at a red-flag level.

    Raises care.checks.CheckAnswerError for answers that do not fit (a 422).
    """
    now = now or utcnow()
    answers = check_answers(raw_answers)
    if message_id is not None and messages.get_message(db, case, message_id) is None:
        message_id = None  # not a message of this case: the answers still count
    audience = audience_of(case)
    signs = emergency_signs(audience, emergency_number)
    updates = check_updates(answers)
    latest = case.assessment.latest
    try:
        new_version = None
        level = cases.patient_disposition(db, case)
        if updates:
            done = retriage(latest.findings, updates, flagged=True)
            if done.changed or done.result.disposition.value != latest.disposition:
                new_version = repo.add_version(
                    db, assessment=case.assessment, by=by, findings=done.findings_after, result=done.result
                )
            level = done.result.disposition.value
            if is_red_flag_level(level):
                cases.add_floor(
                    db,
                    case,
                    source="check",
                    level=level,
                    reason="Red flag (or not sure) in the check.",
                    by=by,
                    now=now,
                )
            cases.raise_case(db, case, "Red flag (or not sure) in the red-flag check.", now)
        row = diary.add_check(db, case, by, answers, level, message_id, now)
        _audit_write(db, by, "red_flag_check", row.id, case)
        db.commit()
    except Exception:
        log.exception("the red-flag check failed")
        cases.raise_after_failure(db, case.id, "A red-flag check could not be saved: contact the patient.")
        return _failed(case.id, audience, emergency_number)
    shown = cases.patient_disposition(db, case)
    return Outcome(
        case_id=case.id,
        shown=shown,
        safety_net=bool(updates) or level_of(shown) <= Disposition.URGENT.level,
        signs=signs,
        flagged=bool(updates),
        raised=bool(updates),
        check=row,
        version=new_version,
    )


# --- a re-answered assessment -------------------------------------------------------------


def add_assessment_version(
    db: Session,
    assessment: Assessment,
    by: User,
    findings: dict[str, Any],
    result: TriageResult,
    *,
    emergency_number: str = "911",
) -> Outcome:
    """The patient's new answers: always stored as a new version, but they never lower a level
    raised before. A red-flag level the case had (the previous result, a red flag, an override)
    becomes or stays a floor; a new red-flag result sets one (source "resurvey") and raises the case.

    Raises VersionConflict when another version was saved at the same moment.
    """
    case = cases.case_for_assessment(db, assessment.id)
    before = cases.case_levels(db, case) if case is not None else None
    previous = assessment.latest
    if case is not None and before is not None and is_red_flag_level(previous.disposition):
        floor = before.floor
        if floor is None or level_of(floor.level) > level_of(previous.disposition):
            # The level the patient was told holds until a clinician reviews the new answers.
            cases.add_floor(
                db,
                case,
                source="assessment",
                ref=str(previous.version),
                level=previous.disposition,
                reason=f"Result of version {previous.version} before the patient answered again.",
                now=_aware(previous.created_at),
            )
    try:
        version = repo.add_version(db, assessment=assessment, by=by, findings=findings, result=result)
    except IntegrityError:
        db.rollback()
        raise VersionConflict from None
    raised = False
    if case is not None and before is not None:
        new = result.disposition.value
        if is_red_flag_level(new) or result.safety_net:
            cases.add_floor(
                db,
                case,
                source="resurvey",
                ref=str(version.version),
                level=new,
                reason="Result of a new survey.",
                by=by,
            )
        if level_of(new) < level_of(before.patient):
            cases.raise_case(db, case, "A new survey gave a more urgent result.")
            raised = True
    repo.audit(
        db,
        actor=by,
        action="create",
        object_type="assessment_version",
        object_id=assessment.id,
        profile_id=assessment.profile_id,
        detail=f"version {version.version}",
    )
    db.commit()
    shown = cases.patient_disposition(db, case) if case is not None else version.disposition
    audience = assessment_audience(assessment)
    return Outcome(
        case_id=case.id if case is not None else "",
        shown=shown,
        safety_net=level_of(shown) <= Disposition.URGENT.level,
        signs=emergency_signs(audience, emergency_number)
        if level_of(shown) <= Disposition.URGENT.level
        else [],
        raised=raised,
        version=version,
    )


# --- clinicians: override and clearing ----------------------------------------------------


def override(
    db: Session, case: CareCase, clinician: User, to: Disposition, reason: str
) -> DispositionOverride:
    """A clinician's change of disposition, audited. One that makes the level more urgent than
    the engine's result is also a floor: it holds after the patient's next version."""
    engine = case.assessment.latest.disposition
    row = cases.override_disposition(db, case, clinician, to, reason)
    if level_of(to.value) < level_of(engine):
        cases.add_floor(
            db,
            case,
            source="override",
            ref=str(row.id),
            level=to.value,
            reason="A clinician made the result more urgent.",
            by=clinician,
        )
    repo.audit(
        db,
        actor=clinician,
        action="override",
        object_type="case",
        object_id=case.id,
        profile_id=case.profile_id,
    )
    db.commit()
    return row


class NothingToClear(Exception):
    """The case has no active escalation floor."""


def clear_escalation(
    db: Session, case: CareCase, clinician: User, reason: str, now: dt.datetime | None = None
) -> list[EscalationFloor]:
    """A clinician reviewed the escalation and clears it with a reason (audited). The red flags
    seen so far count as handled; a new one raises the case again."""
    now = now or utcnow()
    rows = cases.clear_floors(db, case, clinician, reason, now)
    if not rows:
        raise NothingToClear
    cases.acknowledge(db, case, now)
    repo.audit(
        db,
        actor=clinician,
        action="clear_escalation",
        object_type="case",
        object_id=case.id,
        profile_id=case.profile_id,
        detail=f"{len(rows)} floors",
    )
    db.commit()
    return rows
