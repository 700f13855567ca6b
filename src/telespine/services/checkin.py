"""The weekly check-in, remote monitoring uploads, progress and reminder unsubscribes (issue 14).

A check-in is pain, how much of the usual day was possible, pain medicine, the diary's red-flag
questions and whichever validated questionnaires are due on the plan's schedule
(`care/data/reminders.yaml`). It is written as a diary entry of the SAME case through the one
follow-up flow (`services.followup.add_diary_entry`: audit, screening of the note, re-triage,
escalation floors), with the questionnaire scores stored beside it; then the activity rule
(`care.activity_down_pain_up`) runs, and the person is shown what changed since last time.

An upload of a wearable export is parsed in full before anything is stored (a `WearableError`
changes nothing); its days are stored in one transaction and the activity rule runs.

Like services.followup, nothing here raises for its own failure after the input was checked:
the outcome then has `failed` or `safety_net`, and the case is raised.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from telespine.care import DiaryEntry, load_escalation_rules
from telespine.care.activity import evaluate_activity
from telespine.care.charts import Chart, pain_chart, score_chart, steps_chart
from telespine.care.reminders import load_reminder_rules
from telespine.care.wearables import Readable, StepsImport, WearableError, parse_upload
from telespine.instruments import INSTRUMENT_IDS, InstrumentError, ScoreRecord, load_instrument, score
from telespine.services import followup
from telespine.store import cases, diary, repo, repo_program, steps
from telespine.store.models import Profile, User, utcnow
from telespine.store.models_care import CareCase, ContactAddress, EscalationRecord, ReminderJob
from telespine.store.models_checkin import CheckinRecord, StepsUpload
from telespine.triage.types import Audience

log = logging.getLogger("telespine.care")

# The pain question of the check-in is the pain score (NRS) item: it is stored as an NRS record.
PAIN_INSTRUMENT = "nrs"
CHARTED = ("nrs", "peg", "startback")
MEDICINE_USE = ("none", "less_than_usual", "as_usual", "more_than_usual")


class CheckinProblem(ValueError):
    """Check-in answers that do not fit (the form shows the problem; nothing was stored)."""


# --- what the check-in asks -----------------------------------------------------------------


def _zone(case: CareCase) -> ZoneInfo:
    try:
        return ZoneInfo(case.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def due_questionnaires(
    case: CareCase,
    scores: Sequence[ScoreRecord],
    now: dt.datetime,
    enabled: frozenset[str] | None = None,
) -> list[str]:
    """The questionnaires due at the instant now on the plan's schedule (reminders.yaml): those
    of every reminder kind whose window is open and not yet complete, in schedule order, without
    the pain score (asked every time) and switched-off or other-audience instruments."""
    audience = followup.audience_of(case)
    zone = _zone(case)
    today = now.astimezone(zone).date()
    day_number = (today - case.treatment_started_on).days
    out: list[str] = []
    for schedule in load_reminder_rules().kinds.values():
        if schedule.done_by != "questionnaires" or day_number < schedule.first_day:
            continue
        steps_done = (day_number - schedule.first_day) // schedule.every_days
        due_on = case.treatment_started_on + dt.timedelta(
            days=schedule.first_day + steps_done * schedule.every_days
        )
        if today >= due_on + dt.timedelta(days=schedule.open_days):
            continue
        wanted = schedule.instruments[audience]
        taken = {s.instrument_id for s in scores if due_on <= s.taken_at.astimezone(zone).date() <= today}
        done = any(i in taken for i in wanted) if schedule.complete_when == "any" else set(wanted) <= taken
        if done:
            continue
        for inst in wanted:
            if inst == PAIN_INSTRUMENT or inst in out or (enabled is not None and inst not in enabled):
                continue
            if audience not in load_instrument(inst).audiences:
                continue
            out.append(inst)
    return out


def red_flag_questions(audience: Audience) -> list[dict[str, str]]:
    """The diary's red-flag questions (care escalation rules' red_flag_check) in the audience's voice."""
    return [
        {"id": q.id, "text": q.text_pediatric if audience == "pediatric" else q.text}
        for q in load_escalation_rules().red_flag_check
    ]


@dataclass
class CheckinAnswers:
    """What a check-in form or API body gave. Red-flag answers left out count as "unknown"."""

    pain: int
    function: int
    medicine_use: str
    red_flags: Mapping[str, str]
    questionnaires: Mapping[str, Mapping[str, int | str]] = field(default_factory=dict)
    note: str | None = None


@dataclass
class Change:
    """One line of "what changed since last time"."""

    label: str
    before: str | None
    now: str
    direction: str  # "better", "worse", "same", "new"


@dataclass
class CheckinOutcome:
    case_id: str
    shown: str
    safety_net: bool
    signs: list[str] = field(default_factory=list)
    failed: bool = False
    checkin: CheckinRecord | None = None
    changes: list[Change] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)

    @property
    def emergency(self) -> bool:
        return self.shown == "emergency"


def _check_numbers(answers: CheckinAnswers) -> None:
    for name, value in (("pain", answers.pain), ("function", answers.function)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise CheckinProblem(f"{name}: give a whole number from 0 to 10")
    if answers.medicine_use not in MEDICINE_USE:
        raise CheckinProblem("medicine_use: choose one of the answers")


def _scores_for(
    case: CareCase,
    answers: CheckinAnswers,
    due: Sequence[str],
    now: dt.datetime,
    enabled: frozenset[str] | None,
) -> list[ScoreRecord]:
    """The pain score and every due questionnaire, scored (raises CheckinProblem). A due
    questionnaire may be left out whole (skipped), never half answered."""
    pain_item = load_instrument(PAIN_INSTRUMENT).items[0].id
    records = [score(PAIN_INSTRUMENT, {pain_item: answers.pain}, now)]
    extra = set(answers.questionnaires) - set(due)
    if extra:
        raise CheckinProblem(f"{sorted(extra)[0]}: this questionnaire is not due now")
    for inst in due:
        responses = answers.questionnaires.get(inst)
        if not responses:
            continue
        try:
            records.append(score(inst, dict(responses), now, enabled_instruments=enabled))
        except InstrumentError as exc:
            raise CheckinProblem(f"{inst}: please answer every question ({exc})") from None
    return records


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _direction(before: float, after: float, lower_is_better: bool = True) -> str:
    if abs(after - before) < 1e-9:
        return "same"
    better = after < before if lower_is_better else after > before
    return "better" if better else "worse"


LEVEL_ORDER = {"emergency": 1, "urgent": 2, "prompt": 3, "routine": 4, "telemedicine": 5}


def changes_since(previous: CheckinRecord | None, current: CheckinRecord, pediatric: bool) -> list[Change]:
    """Pain, each questionnaire and the advice level, compared with the check-in before."""
    who = "Your child's pain" if pediatric else "Your pain"
    out = []
    if previous is None:
        out.append(Change(who, None, str(current.pain), "new"))
    else:
        out.append(
            Change(who, str(previous.pain), str(current.pain), _direction(previous.pain, current.pain))
        )
    labels = {
        "peg": "PEG score",
        "startback": "STarT Back score",
        "phq2": "Mood (PHQ-2)",
        "gad2": "Worry (GAD-2)",
    }
    for inst, label in labels.items():
        if inst not in current.scores:
            continue
        after = float(current.scores[inst])
        before = previous.scores.get(inst) if previous is not None else None
        if before is None:
            out.append(Change(label, None, _fmt(after), "new"))
        else:
            out.append(Change(label, _fmt(float(before)), _fmt(after), _direction(float(before), after)))
    if previous is not None:
        a, b = LEVEL_ORDER.get(previous.shown, 1), LEVEL_ORDER.get(current.shown, 1)
        out.append(
            Change(
                "Advice",
                previous.shown,
                current.shown,
                "same" if a == b else ("worse" if b < a else "better"),
            )
        )
    return out


def checkin(
    db: Session,
    case: CareCase,
    by: User,
    answers: CheckinAnswers,
    *,
    emergency_number: str,
    now: dt.datetime | None = None,
    enabled: frozenset[str] | None = None,
) -> CheckinOutcome:
    """One check-in of the case (never a new case or assessment). Raises CheckinProblem for
    answers that do not fit, before anything is stored."""
    now = now or utcnow()
    _check_numbers(answers)
    audience = followup.audience_of(case)
    asked = [q["id"] for q in red_flag_questions(audience)]
    unknown_ids = set(answers.red_flags) - set(asked)
    if unknown_ids:
        raise CheckinProblem(f"{sorted(unknown_ids)[0]}: not a question of the check-in")
    check = {
        q: (answers.red_flags.get(q) if answers.red_flags.get(q) in ("yes", "no", "unknown") else "unknown")
        for q in asked
    }
    note = (answers.note or "").strip()[:4000] or None
    day = now.astimezone(_zone(case)).date()
    due = due_questionnaires(case, cases.scores_for_case(db, case), now, enabled)
    records = _scores_for(case, answers, due, now, enabled)
    entry = DiaryEntry(
        day=day,
        pain=answers.pain,
        function=answers.function,
        medicine_use=answers.medicine_use,  # type: ignore[arg-type]
        red_flag_check=check,  # type: ignore[arg-type]
        note=note,
    )
    case_id = case.id
    earlier = steps.checkins_for_case(db, case)
    previous = earlier[-1] if earlier else None
    # The scores go in with the diary entry (add_diary_entry commits both, then runs the rules,
    # which read the scores too).
    repo_program.add_scores(
        db, profile=case.assessment.profile, by=by, records=records, assessment=case.assessment
    )
    out = followup.add_diary_entry(db, case, by, entry, emergency_number=emergency_number, now=now)
    if out.failed or out.diary_entry is None:
        return CheckinOutcome(
            case_id=case_id, shown="emergency", safety_net=True, signs=out.signs, failed=True
        )
    try:
        activity = run_activity(db, case, now)
        shown = cases.patient_disposition(db, case)
        row = steps.add_checkin(
            db,
            case,
            by,
            day=day,
            pain=answers.pain,
            scores={r.instrument_id: float(r.primary) for r in records if r.instrument_id != PAIN_INSTRUMENT},
            shown=shown,
            diary_entry_id=out.diary_entry.id,
            now=now,
        )
        repo.audit(
            db,
            actor=by,
            action="create",
            object_type="checkin",
            object_id=row.id,
            profile_id=case.profile_id,
        )
        db.commit()
    except Exception:
        log.exception("saving a check-in failed")
        cases.raise_after_failure(db, case_id, "A check-in could not be saved: contact the patient.")
        return CheckinOutcome(
            case_id=case_id,
            shown="emergency",
            safety_net=True,
            signs=followup.emergency_signs(audience, emergency_number),
            failed=True,
        )
    return CheckinOutcome(
        case_id=case_id,
        shown=shown,
        safety_net=out.safety_net,
        signs=out.signs,
        checkin=row,
        changes=changes_since(previous, row, audience == "pediatric"),
        escalations=[*out.escalations, *(e.rule_id for e in activity)],
    )


# --- the activity rule ----------------------------------------------------------------------


def run_activity(db: Session, case: CareCase, now: dt.datetime) -> list[EscalationRecord]:
    """care.activity_down_pain_up on the case's steps and diary: each new escalation stored
    once by key (like the diary rules) and the case raised. A failure raises the case too."""
    try:
        found = evaluate_activity(
            cases.case_state(case),
            steps.steps_for_profile(db, case.profile_id),
            diary.diary_entries(diary.diary_for_case(db, case)),
            now,
        )
    except Exception as exc:
        log.error("activity rule failed: %s", type(exc).__name__)
        cases.raise_case(db, case, "The activity rule could not run: review the steps and diary.", now)
        return []
    new: list[EscalationRecord] = []
    for esc in found:
        if db.scalar(select(EscalationRecord.id).where(EscalationRecord.key == esc.key)) is not None:
            continue
        record = cases.store_escalation(db, case, esc, now)
        if record is None:
            continue  # another request stored it first
        new.append(record)
        cases.raise_case(db, case, esc.title, now)
    return new


# --- remote monitoring uploads --------------------------------------------------------------


@dataclass
class UploadOutcome:
    ok: bool
    error: str | None = None
    error_kind: str | None = None
    upload: StepsUpload | None = None
    escalations: list[str] = field(default_factory=list)


def upload_steps(
    db: Session,
    case: CareCase,
    by: User,
    stream: Readable,
    *,
    now: dt.datetime | None = None,
) -> UploadOutcome:
    """Parse a wearable export (the whole file before anything is stored), store its days in one
    transaction, audit it and run the activity rule. A file that cannot be read changes nothing.
    CPU and file work: call it from a sync route or run_in_threadpool."""
    now = now or utcnow()
    try:
        result: StepsImport = parse_upload(stream, timezone=case.timezone)
    except WearableError as exc:
        return UploadOutcome(ok=False, error=str(exc), error_kind=exc.kind)
    except Exception as exc:  # a parser bug: still nothing stored, and a plain message
        log.error("wearable upload failed: %s", type(exc).__name__)
        return UploadOutcome(
            ok=False, error="We could not read this file. Nothing was saved.", error_kind="malformed"
        )
    profile: Profile = case.assessment.profile
    try:
        upload = steps.save_import(db, profile, by, result, now)
        repo.audit(
            db,
            actor=by,
            action="create",
            object_type="steps_upload",
            object_id=upload.id,
            profile_id=profile.id,
            detail=f"{upload.days} days",
        )
        found = run_activity(db, case, now)
        db.commit()
    except Exception:
        log.exception("storing steps failed")
        db.rollback()
        return UploadOutcome(
            ok=False, error="The steps could not be saved. Please try again later.", error_kind="store"
        )
    return UploadOutcome(ok=True, upload=upload, escalations=[e.rule_id for e in found])


# --- progress: charts, tables and the plan's goals ------------------------------------------


@dataclass
class WeekRow:
    week: int
    starts: dt.date
    checkins: int
    diary_days: int
    mean_pain: str
    mean_steps: str


@dataclass
class Progress:
    charts: list[Chart]
    goal: str | None
    activities: list[str]
    weeks: list[WeekRow]
    timezone: str


def progress(
    db: Session,
    case: CareCase,
    viewer_timezone: str,
    now: dt.datetime | None = None,
    clinician: bool = False,
) -> Progress:
    """Dated charts (diary, pain score, PEG, STarT Back, steps) with their tables, in the
    viewer's zone, and the plan's goal with what was done week by week. Reads only."""
    now = now or utcnow()
    try:
        ZoneInfo(viewer_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        viewer_timezone = "UTC"
    # The parent reads "your child"; a clinician reads plain titles.
    pediatric = followup.audience_of(case) == "pediatric" and not clinician
    entries = diary.diary_entries(diary.diary_for_case(db, case))
    scores = cases.scores_for_case(db, case)
    day_steps = steps.steps_for_profile(db, case.profile_id)
    charts = [pain_chart(entries, pediatric=pediatric)]
    for inst in CHARTED:
        if inst in INSTRUMENT_IDS and any(s.instrument_id == inst for s in scores):
            charts.append(score_chart(scores, inst, viewer_timezone))
    charts.append(steps_chart(day_steps))
    goal, activities = None, []
    record = repo_program.latest_plan_answers(db, case.assessment_id)
    if record is not None:
        choices: Any = (record.answers or {}).get("choices") or {}
        goal = choices.get("goal") or None
        activities = [str(a) for a in choices.get("favourite_activities") or []]
    checkins = steps.checkins_for_case(db, case)
    start = case.treatment_started_on
    today = now.astimezone(_zone(case)).date()
    weeks = []
    for n in range(max(0, (today - start).days // 7) + 1):
        first, last = start + dt.timedelta(days=7 * n), start + dt.timedelta(days=7 * n + 6)
        pains = [e.pain for e in entries if first <= e.day <= last]
        walked = [d.steps for d in day_steps if first <= d.day <= last]
        weeks.append(
            WeekRow(
                week=n + 1,
                starts=first,
                checkins=sum(1 for c in checkins if first <= c.day <= last),
                diary_days=len({e.day for e in entries if first <= e.day <= last}),
                mean_pain=_fmt(fmean(pains)) if pains else "-",
                mean_steps=f"{fmean(walked):,.0f}" if walked else "-",
            )
        )
    return Progress(charts=charts, goal=goal, activities=activities, weeks=weeks, timezone=viewer_timezone)


# --- reminder unsubscribes ------------------------------------------------------------------

UNSUBSCRIBE_CONTEXT = b"telespine reminder unsubscribe v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: str, user_id: str) -> str:
    key = hmac.new(secret.encode("utf-8"), UNSUBSCRIBE_CONTEXT, hashlib.sha256).digest()
    return _b64(hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).digest())


def unsubscribe_token(secret: str, user_id: str) -> str:
    """A signed token naming the account whose reminders it stops (no expiry: old e-mails work)."""
    return f"{user_id}.{_mac(secret, user_id)}"


def user_of_token(secret: str, token: str) -> str | None:
    """The account id of a valid token, else None."""
    user_id, _, mac = token.partition(".")
    if not user_id or not mac or len(token) > 200:
        return None
    if not hmac.compare_digest(_mac(secret, user_id).encode("ascii"), mac.encode("utf-8", "replace")):
        return None
    return user_id


def unsubscribe_url(public_url: str, secret: str, user_id: str) -> str:
    return f"{public_url.rstrip('/')}/care/unsubscribe?t={unsubscribe_token(secret, user_id)}"


def unsubscribe(db: Session, user_id: str) -> bool:
    """Turn reminders off for the account at once: the contact row and every reminder still
    waiting to be sent (the worker also checks before each send). False for an unknown account."""
    user = db.get(User, user_id)
    if user is None:
        return False
    contact = db.get(ContactAddress, user_id)
    if contact is not None:
        contact.reminders = False
    profile_ids = list(db.scalars(select(Profile.id).where(Profile.owner_id == user_id)).all())
    if profile_ids:
        case_ids = select(CareCase.id).where(CareCase.profile_id.in_(profile_ids))
        db.execute(
            update(ReminderJob)
            .where(ReminderJob.case_id.in_(case_ids), ReminderJob.status.in_(("pending", "claimed")))
            .values(status="cancelled")
            .execution_options(synchronize_session=False)
        )
    repo.audit(db, actor=user, action="unsubscribe", object_type="contact", object_id=user_id)
    db.commit()
    return True


def reminders_wanted(db: Session, case_id: str) -> tuple[bool, str | None]:
    """(still wanted, owner id) for a reminder job's case: the worker asks right before sending."""
    case = db.get(CareCase, case_id)
    if case is None:
        return False, None
    owner = case.assessment.profile.owner_id
    contact = db.get(ContactAddress, owner)
    return (contact is not None and contact.reminders), owner
