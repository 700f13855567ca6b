"""Browser tests of the clinician workspace: a clinician works a case from the queue to a finished
visit; a parent's message with a red flag shows the safety net and raises the case to the top.

Same approach as test_web_browser.py: a real uvicorn server on a free loopback port, Debian's
Chromium headless at 390x844, axe-core with no serious or critical violation on every new page,
no sideways scroll, screenshots in test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telespine.store.demo import demo_password
from telespine.web.testing import LiveServer, make_test_settings
from telespine.web.testing import check_page as shared_check_page

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Iterator[str]:
    """The shared live server (web/testing.py) with a seeded temporary SQLite database."""
    from telespine.web.app import create_app

    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("care-browser") / "app.sqlite3")
    with LiveServer(create_app(make_test_settings(url))) as live:
        yield live.url


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


def _page(browser: Any) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    return p, errors


def check_page(page: Any, name: str) -> None:
    """axe, no sideways scroll at 390px, a screenshot (web/testing.py check_page)."""
    shared_check_page(page, name, ARTIFACTS)


def sign_in(page: Any, server: str, name: str) -> None:
    page.goto(f"{server}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(demo_password(name))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def queue_names(page: Any) -> list[str]:
    return [h.inner_text().split(":")[0] for h in page.locator("ol.queue > li h2").all()]


def test_clinician_works_a_case_from_queue_to_visit_note(server: str, browser: Any) -> None:
    page, errors = _page(browser)
    sign_in(page, server, "dr_dave")
    page.goto(f"{server}/clinic/queue")
    assert queue_names(page)[0] == "Dan Dixon"  # the emergency first
    check_page(page, "care-queue")
    page.get_by_role("button", name="Claim the case of Fay Fischer").click()
    page.wait_for_load_state()
    assert "You claimed this case." in page.content()
    assert page.get_by_role("heading", name="Case: Fay Fischer").is_visible()
    check_page(page, "care-chart")
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=11)).date().isoformat()
    page.get_by_label("Visit time (UTC)").fill(f"{soon}T11:20")
    page.get_by_label("Kind of visit").select_option("phone")
    page.get_by_role("button", name="Book the visit").click()
    page.wait_for_load_state()
    assert "The visit is booked." in page.content() and "Pre-visit summary" in page.content()
    assert "Reported at assessment" in page.get_by_label("Subjective").input_value()
    check_page(page, "care-visit")
    page.get_by_label("Objective").fill("Walks on heels and toes. Straight leg raise normal.")
    page.get_by_label("Plan").fill("Walking programme, review in two weeks in the diary.")
    page.get_by_role("button", name="Finish the visit and give the plan").click()
    page.wait_for_load_state()
    assert "The visit is finished" in page.content()
    assert page.get_by_role("link", name="Download the written plan (PDF)").is_visible()
    page.goto(f"{server}/care/feedback")
    check_page(page, "care-feedback")
    page.goto(f"{server}/clinic/queue")
    page.get_by_role("link", name="Alice Archer").click()
    page.wait_for_load_state()
    assert page.locator("#scores").is_visible() and page.locator("#diary table").is_visible()
    check_page(page, "care-chart-alice")
    page.context.close()
    assert errors == []


def test_red_flag_message_shows_safety_net_and_raises_the_case(server: str, browser: Any) -> None:
    patient, errors = _page(browser)
    sign_in(patient, server, "carol")
    patient.goto(f"{server}/care")
    check_page(patient, "care-mine")
    patient.get_by_role("link", name=re.compile("Sam Carter")).click()
    patient.wait_for_load_state()
    check_page(patient, "care-patient")
    patient.get_by_label("Write to your care team").fill(
        "Since this morning he cannot pee and his legs feel weak."
    )
    patient.get_by_role("button", name="Send message").click()
    patient.wait_for_load_state()
    # An emergency red flag: the emergency page at once, with only emergency things (issue 10)
    emergency = patient.locator("#emergency")
    assert "/emergency" in patient.url and emergency.is_visible()
    assert "Do not wait for a reply" in emergency.inner_text()
    assert "today" not in emergency.inner_text().lower()
    check_page(patient, "care-emergency")
    # Back on the follow-up page: the automatic reply, with the signs and the one-minute check
    patient.get_by_role("link", name="Back to the follow-up page").click()
    patient.wait_for_load_state()
    assert "not read in real time" in patient.locator("#messages").inner_text()
    patient.get_by_role("link", name="Answer the one-minute check").first.click()
    patient.wait_for_load_state()
    check_page(patient, "care-check")
    clinician, more = _page(browser)
    sign_in(clinician, server, "dr_dave")
    clinician.goto(f"{server}/clinic/queue")
    assert queue_names(clinician)[0] == "Sam Carter"
    first = clinician.locator("ol.queue > li").first
    assert "Raised" in first.inner_text()
    check_page(clinician, "care-queue-raised")
    patient.context.close()
    clinician.context.close()
    assert errors == [] and more == []
