"""The program page (issue 14), on SQLite and PostgreSQL: each exercise shows its picture (an
<img> of the packaged SVG with its text alternative), numbered steps and dose; the saved plan's
week and level follow the case's check-ins, not only the calendar."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from telespine.program.exercises import load_library, picture_title, stage_for
from telespine.services import checkin
from telespine.store import repo, repo_care, repo_program
from telespine.store.db import make_engine, make_sessionmaker, session_scope
from telespine.store.models import User
from telespine.triage import triage
from telespine.web.testing import csrf_from

Client = Any
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 7}
PASSWORD = "weeks-password-2026"


def _patient(url: str, name: str, checkin_days: list[tuple[int, int]]) -> tuple[str, dt.date]:
    """A patient whose plan started 22 days ago, with check-ins (day, pain); the assessment id."""
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=22)
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            alice = db.scalar(select(User).where(User.username == "alice"))
            user = repo.create_user(
                db, username=name, password=PASSWORD, role="patient", clinic=alice.clinic if alice else None
            )
            a = repo.save_assessment(
                db, profile=repo.ensure_self_profile(db, user), by=user, findings=CALM, result=triage(CALM)
            )
            repo_program.add_plan_answers(
                db, assessment=a, by=user, answers={"choices": {"goal": "Walk the dog"}}
            )
            case = repo_care.ensure_case(db, a)
            case.treatment_started_on = start
            db.flush()
            flags = dict.fromkeys((q["id"] for q in checkin.red_flag_questions("adult")), "no")
            for day, pain in checkin_days:
                when = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(12), tzinfo=dt.UTC)
                out = checkin.checkin(
                    db,
                    case,
                    user,
                    checkin.CheckinAnswers(pain, 10 - pain, "as_usual", flags),
                    emergency_number="911",
                    now=when,
                )
                assert out.checkin is not None and not out.safety_net
            return a.id, start
    finally:
        engine.dispose()


def _login(make_client: Callable[..., Client], url: str, name: str) -> Client:
    client = make_client(url)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    return client


def test_the_program_page_shows_each_exercise_with_its_picture_steps_and_dose(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    assessment, _ = _patient(seeded_url, "pictures", [])
    web = _login(make_client, seeded_url, "pictures")
    page = web.get(f"/assessments/{assessment}/program")
    assert page.status_code == 200
    adult = [e for e in load_library().exercises if e.audience == "adult"]
    for e in adult:
        card = page.text.split(f'id="exercise-{e.id}"', 1)[1].split("</div>", 1)[0]
        img = re.search(r'<img class="exercise-picture" src="([^"]+)" alt="([^"]+)"', card)
        assert img is not None, e.id
        assert img.group(1) == f"/program/pictures/{e.picture}"
        assert html_lib.unescape(img.group(2)) == picture_title(e.picture)
        assert card.count("<li>") >= 2 and "How much:" in card
        svg = web.get(img.group(1))
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith("<svg") and "<script" not in svg.text
    assert 'id="exercise-stage"' in page.text and "(week 1)" in page.text
    assert web.get("/program/pictures/../plan.yaml").status_code == 404
    assert web.get("/program/pictures/nothing.svg").status_code == 404


def test_the_saved_plan_week_follows_the_check_ins(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    # Weekly check-ins with less pain each time: week 4 of the plan (22 days in), level 2.
    steady, _ = _patient(seeded_url, "steady", [(0, 7), (7, 6), (14, 5), (21, 4)])
    web = _login(make_client, seeded_url, "steady")
    stage = (
        web.get(f"/assessments/{steady}/program").text.split('id="exercise-stage"', 1)[1].split("</p>", 1)[0]
    )
    assert "(week 4)" in stage and stage_for(4, "better", "adult").level_name in stage
    assert stage_for(4, "better", "adult").level == 2
    # Only one check-in, in the first week: the plan waits at week 2 whatever the calendar says.
    paused, _ = _patient(seeded_url, "paused", [(1, 7)])
    web = _login(make_client, seeded_url, "paused")
    stage = (
        web.get(f"/assessments/{paused}/program").text.split('id="exercise-stage"', 1)[1].split("</p>", 1)[0]
    )
    assert "(week 2)" in stage and stage_for(2, "unknown", "adult").level_name in html_lib.unescape(stage)
