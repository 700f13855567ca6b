"""An automatic re-triage is recorded as the system with its trigger, never as the patient whose
message or diary entry set it off (issue 13): the version has no author and a trigger, and the
audit log has a `retriage` row with no actor. SQLite and PostgreSQL (seeded_url)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from telespine.store.db import make_engine, make_sessionmaker
from telespine.store.models import AuditEvent, User
from telespine.web.testing import bearer

CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
RED_FLAG = "Since this morning I wet myself and I can't feel my groin."


def test_a_red_flag_message_re_triages_as_the_system_with_its_trigger(
    make_client: Callable[..., Any], seeded_url: str
) -> None:
    alice, dave = bearer(make_client, seeded_url, "alice"), bearer(make_client, seeded_url, "dr_dave")
    made = alice.post("/api/v1/assessments", json={"findings": CALM})
    assert made.status_code == 201
    assessment = made.json()["id"]
    case = next(c["id"] for c in dave.get("/api/v1/queue").json() if c["assessment_id"] == assessment)
    assert alice.post(f"/api/v1/cases/{case}/messages", json={"body": RED_FLAG}).status_code == 201
    versions = alice.get(f"/api/v1/assessments/{assessment}").json()["versions"]
    engine = make_engine(seeded_url)
    try:
        with make_sessionmaker(engine)() as db:
            alice_id = db.scalar(select(User.id).where(User.username == "alice"))
            query = select(AuditEvent).where(
                AuditEvent.object_id == assessment, AuditEvent.action == "retriage"
            )
            events = list(db.scalars(query).all())
    finally:
        engine.dispose()
    first, *later = versions
    assert first["created_by_id"] == alice_id and first["trigger"] is None  # her own answers
    assert later, "the red flag made a new version"
    last = later[-1]
    assert last["created_by_id"] is None  # the system, not alice
    assert last["trigger"].startswith("message:") and "care.text_red_flag" in last["trigger"]
    assert last["disposition"] in ("emergency", "urgent")
    (event,) = events
    assert (event.actor_id, event.actor_username, event.object_type) == (None, None, "assessment_version")
    assert event.detail == f"by the system; version {last['version']}; trigger {last['trigger']}"
    assert "groin" not in (event.detail or "") and "wet" not in (event.detail or "")
