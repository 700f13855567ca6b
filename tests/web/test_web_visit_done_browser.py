"""Issue 11, "Done means", end to end in real Chromium through the app's pages: the patient books a
free slot from her saved result page, patient and clinician join the video visit in two browser
contexts with a fake camera and microphone, the call connects (video frames decoded), the
clinician records the virtual exam and a changed plan and finishes the visit, and the patient
downloads the written plan (PDF) whose text carries those changes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from telespine.store.demo import demo_password
from telespine.web.testing import (
    CHROMIUM_ARGS,
    FAKE_MEDIA_ARGS,
    PC_CONNECTED,
    LiveServer,
    chromium_path,
    decoded_frames,
    make_test_settings,
)

pytestmark = pytest.mark.browser

EXERCISES = "Walk for 15 minutes twice a day and add the knee-to-chest stretch each morning."
SCHOOL_OR_WORK = "Back to the office on Monday with a break to stand every half hour."
REVIEW = "2027-01-20"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Iterator[tuple[str, str]]:
    """A live server on a seeded SQLite database; (its URL, alice's telemedicine assessment id)."""
    from telespine.store import repo
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.models import User
    from telespine.web.app import create_app

    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("visit-done") / "app.sqlite3")
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        alice = db.scalar(select(User).where(User.username == "alice"))
        assert alice is not None
        assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, alice).id])[0].id
    engine.dispose()
    with LiveServer(create_app(make_test_settings(url, require_totp=False))) as server:
        yield server.url, assessment


@pytest.fixture(scope="module")
def media_chromium() -> Iterator[Any]:
    """Debian's Chromium with a fake camera and microphone (one browser, two contexts)."""
    if not Path(chromium_path()).exists():
        pytest.skip(f"no Chromium at {chromium_path()}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=[*CHROMIUM_ARGS, *FAKE_MEDIA_ARGS]
        )
        yield browser
        browser.close()


def _signed_in(browser: Any, base: str, name: str) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(demo_password(name))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page, errors


def _axe(page: Any) -> None:
    """axe-core: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad


def test_book_join_connect_exam_changed_plan_and_the_patient_downloads_it(
    media_chromium: Any, live: tuple[str, str]
) -> None:
    base, assessment = live
    clinician, c_errors = _signed_in(media_chromium, base, "dr_dave")
    patient, p_errors = _signed_in(media_chromium, base, "alice")
    try:
        # the clinician's weekly hours (UTC, every day) make free slots
        clinician.goto(f"{base}/clinic/hours")
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
            clinician.get_by_label(day, exact=True).fill("00:00-23:59")
        clinician.get_by_role("button", name="Save the hours").click()
        clinician.wait_for_load_state()

        # the patient books the first free time from her saved result page (video)
        patient.goto(f"{base}/assessments/{assessment}")
        _axe(patient)  # the result page with its booking offer, at 390 px
        assert patient.evaluate("document.documentElement.scrollWidth") <= 390
        offer = patient.locator("#book-visit")
        first = offer.locator('input[name="slot"]').first
        first.check()
        offer.get_by_label("Video visit").check()
        offer.get_by_role("button", name="Book this time").click()
        patient.wait_for_url(re.compile(r"/care/visits/[0-9a-f]+\?flash=booked"))
        visit = re.search(r"/care/visits/([0-9a-f]+)", patient.url)
        assert visit is not None
        visit_id = visit.group(1)

        # both join through the pages; the clinician admits; the call connects with video frames
        patient.get_by_role("link", name="Check your camera and join the video visit").click()
        clinician.goto(f"{base}/care/visits/{visit_id}")
        clinician.get_by_role("link", name="Check your camera and join the video visit").click()
        for page in (patient, clinician):
            join = page.get_by_role("button", name="Join the visit")
            join.wait_for(state="visible")
            page.wait_for_function("() => !document.getElementById('join').disabled", timeout=15000)
            join.click()
        clinician.locator("#waiting-who", has_text="Alice Archer is waiting.").wait_for(timeout=15000)
        clinician.get_by_role("button", name="Let them in").click()
        for page in (patient, clinician):
            page.wait_for_function(PC_CONNECTED, timeout=30000)
        for page in (patient, clinician):
            stats = decoded_frames(page)
            assert stats["received"] > 0 and stats["decoded"] > 5, stats

        # during the call the clinician records the exam (in another tab) and a changed plan
        exam = clinician.context.new_page()
        exam.goto(f"{base}/care/visits/{visit_id}/exam")
        for step, result in (
            ("observation", "normal"),
            ("gait", "normal"),
            ("heel_walk", "normal"),
            ("toe_walk", "normal"),
            ("sit_to_stand", "slow"),
            ("lumbar_movement", "limited"),
            ("neural_tension", "not_done"),
        ):
            exam.locator(f'input[name="{step}"][value="{result}"]').check()
        exam.get_by_role("button", name="Save the exam").click()
        exam.locator(".flash", has_text="The exam is saved.").wait_for()
        assert "Not examined (unknown, not normal)" in exam.content()
        exam.get_by_label("Exercises (changed)").fill(EXERCISES)
        exam.get_by_label("Work or school").fill(SCHOOL_OR_WORK)
        exam.get_by_label("Next review (date)").fill(REVIEW)
        exam.get_by_role("button", name="Save the plan").click()
        exam.locator(".flash", has_text="The plan is saved.").wait_for()
        # finishing the visit locks the note and hands over the plan
        exam.goto(f"{base}/care/visits/{visit_id}")
        exam.get_by_role("button", name="Finish the visit and give the plan").click()
        exam.wait_for_load_state()
        assert "Status: finished" in exam.content()

        # the patient downloads the written plan from her visit page and it shows the changes
        patient.goto(f"{base}/care/visits/{visit_id}")
        with patient.expect_download() as download:
            patient.get_by_role("link", name="Download the written plan (PDF)").click()
        path = download.value.path()
        data = Path(path).read_bytes()
        assert data.startswith(b"%PDF")
        text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages).split())
        assert "Your plan from the tele-visit" in text
        for words in (EXERCISES, SCHOOL_OR_WORK, REVIEW, "Dave"):
            assert " ".join(words.split()) in text, (words, text[:1500])
        assert p_errors == [] and c_errors == [], (p_errors, c_errors)
    finally:
        patient.context.close()
        clinician.context.close()
