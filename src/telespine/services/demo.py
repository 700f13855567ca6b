"""Seeding the demo data (telespine.store.demo): users, example assessments and, in clinic A,
cases at every urgency with diary entries, messages and scores, made through the same services
as real data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from telespine.services import followup  # the one follow-up flow (demo data is made like real data)
from telespine.store import repo
from telespine.store.demo import CHILD_NAME, CLINIC_NAMES, DEMO_FINDINGS, DEMO_USERS, Triage
from telespine.store.models import User


def seed_demo(db: Session, triage: Triage | None = None) -> dict[str, User]:
    """Create the demo clinics and users (and, given a triage function, example assessments)."""
    clinics = {key: repo.create_clinic(db, name) for key, name in CLINIC_NAMES.items()}
    users: dict[str, User] = {}
    for d in DEMO_USERS:
        users[d.username] = repo.create_user(
            db,
            username=d.username,
            password=d.password,
            role=d.role,
            display_name=d.display_name,
            clinic=clinics[d.clinic] if d.clinic else None,
        )
    child = repo.add_child(db, users["carol"], CHILD_NAME, birth_year=2014)
    if triage is not None:
        for key, findings in DEMO_FINDINGS.items():
            owner = users["carol"] if key == "carol-child" else users[key]
            profile = child if key == "carol-child" else repo.ensure_self_profile(db, owner)
            repo.save_assessment(db, profile=profile, by=owner, findings=findings, result=triage(findings))
        seed_care_demo(db, users, clinics["A"], triage)
    db.commit()
    return users


# Extra clinic A patients so that the queue shows a case at every urgency (alice: telemedicine,
# bob: prompt). They have no demo login: only their records are shown to the clinicians.
CARE_DEMO_PATIENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "demo_dan": ("Dan Dixon", {"saddle_numbness": True, "bladder": "retention", "pain_score": 8}),
    "demo_eve": ("Eve Evans", {"fever": True, "pain_score": 9}),
    "demo_fay": ("Fay Fischer", {"leg_numbness": "stable"}),
}


def seed_care_demo(db: Session, users: dict[str, User], clinic: Any, triage: Triage) -> None:
    """Cases at every urgency in clinic A, with diary entries, messages and scores for alice."""
    import datetime as dt
    import secrets

    from telespine.store import repo_care

    now = dt.datetime.now(dt.UTC)
    for username, (name, extra) in CARE_DEMO_PATIENTS.items():
        owner = repo.create_user(
            db,
            username=username,
            password=secrets.token_urlsafe(24),
            role="patient",
            display_name=name,
            clinic=clinic,
        )
        findings = {
            "age_years": 47,
            "location": "low_back",
            "onset": "gradual",
            "duration_days": 4,
            "pain_score": 5,
            **extra,
        }
        repo.save_assessment(
            db,
            profile=repo.ensure_self_profile(db, owner),
            by=owner,
            findings=findings,
            result=triage(findings),
        )
    alice = users["alice"]
    assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, alice).id])[0]
    case = repo_care.ensure_case(db, assessment)
    case.treatment_started_on = (now - dt.timedelta(days=10)).date()
    repo_care.set_contact(db, alice, "alice@example.org")
    no_flags: dict[str, Any] = {
        "saddle_numbness": "no",
        "bladder_bowel": "no",
        "leg_weakness": "no",
        "leg_numbness": "no",
        "walking": "no",
        "fever": "no",
        "chest_breathing_fainting": "no",
    }
    import os

    from telespine.care import DiaryEntry
    from telespine.triage.emergency import DEFAULT_EMERGENCY_NUMBER, EMERGENCY_NUMBER_ENV

    number = os.environ.get(EMERGENCY_NUMBER_ENV, DEFAULT_EMERGENCY_NUMBER)
    for back, pain in ((6, 6), (5, 5), (4, 5), (3, 4), (2, 4), (1, 3)):
        entry = DiaryEntry(
            day=(now - dt.timedelta(days=back)).date(),
            pain=pain,
            function=10 - pain,
            medicine_use="as_usual",
            red_flag_check=no_flags,
        )
        followup.add_diary_entry(
            db, case, alice, entry, emergency_number=number, now=now - dt.timedelta(days=back)
        )
    followup.post_message(
        db,
        case,
        alice,
        "The exercises help. No numbness, just stiff in the morning.",
        emergency_number=number,
        now=now - dt.timedelta(days=2),
    )
    followup.post_message(
        db,
        case,
        users["dr_dave"],
        "Good to hear. Keep the walks going.",
        emergency_number=number,
        now=now - dt.timedelta(days=1),
    )
    _demo_scores(db, alice, assessment, now)


def _demo_scores(db: Session, owner: User, assessment: Any, now: Any) -> None:
    """PEG scores falling over two weeks (only when the program part's score table exists)."""
    import datetime as dt

    try:
        from telespine.instruments import score
        from telespine.store import repo_program
    except ImportError:
        return
    records = [
        score("peg", {"pain": p, "enjoyment": p, "activity": p}, now - dt.timedelta(days=d))
        for d, p in ((14, 7), (7, 5), (1, 4))
    ]
    repo_program.add_scores(
        db, profile=repo.ensure_self_profile(db, owner), by=owner, records=records, assessment=assessment
    )
