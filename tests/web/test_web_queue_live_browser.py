"""The live queue in Chromium (issue 11): the clinician's queue page stays open while, in other
browser contexts, a patient books a visit from her result page and another patient sends a
red-flag message; the queue shows both, with the notice in its polite live region, without
reloading (a marker set on the page's window survives)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from telespine.store.demo import demo_password
from telespine.web.testing import LiveServer, make_test_settings

pytestmark = pytest.mark.browser
RED_FLAG = "Since this morning I wet myself and I can't feel my groin."


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any
) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server on seeded SQLite; (URL, {alice's assessment, bob's case, alice's case})."""
    from telespine.store import repo, repo_care
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.store.models import User
    from telespine.web.app import create_app

    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("queue-live") / "app.sqlite3")
    engine = make_engine(url)
    ids: dict[str, str] = {}
    with session_scope(make_sessionmaker(engine)) as db:
        for name in ("alice", "bob"):
            user = db.scalar(select(User).where(User.username == name))
            assert user is not None
            assessment = repo.assessments_for_profiles(db, [repo.ensure_self_profile(db, user).id])[0]
            case = repo_care.case_for_assessment(db, assessment.id)
            assert case is not None
            ids[f"{name}_assessment"], ids[f"{name}_case"] = assessment.id, case.id
    engine.dispose()
    with LiveServer(create_app(make_test_settings(url, require_totp=False))) as server:
        yield server.url, ids


def _signed_in(browser: Any, base: str, name: str) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(demo_password(name))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page, errors


def test_queue_shows_a_booking_and_a_red_flag_without_reloading(
    chromium: Any, live: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from telespine.web.pages import queue_live

    monkeypatch.setattr(queue_live, "POLL_SECONDS", 1)  # poll every second instead of every ten
    base, ids = live
    dave, d_errors = _signed_in(chromium, base, "dr_dave")
    alice, a_errors = _signed_in(chromium, base, "alice")
    bob, b_errors = _signed_in(chromium, base, "bob")
    try:
        dave.goto(f"{base}/clinic/hours")
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
            dave.get_by_label(day, exact=True).fill("00:00-23:59")
        dave.get_by_role("button", name="Save the hours").click()
        dave.wait_for_load_state()
        dave.goto(f"{base}/clinic/queue")
        dave.evaluate("() => { window.__sameQueuePage = true; }")
        alice_entry = dave.locator(f"#case-{ids['alice_case']}")
        assert "Visit booked:" not in alice_entry.inner_text()

        # alice books from her saved result page
        alice.goto(f"{base}/assessments/{ids['alice_assessment']}")
        alice.locator("#book-visit").get_by_role("button", name="Book this time").click()
        alice.wait_for_url("**/care/visits/*")
        alice_entry.get_by_text("Visit booked:").wait_for(timeout=15000)
        news = dave.locator("#queue-news")
        news.get_by_text("Visit booked: Alice Archer").wait_for(timeout=15000)
        assert news.get_attribute("aria-live") == "polite" and news.get_attribute("role") == "status"

        # bob sends a red-flag message from his follow-up page
        bob.goto(f"{base}/care/cases/{ids['bob_case']}")
        bob.get_by_label("Write to your care team").fill(RED_FLAG)
        bob.get_by_role("button", name="Send message").click()
        bob.wait_for_load_state()
        news.get_by_text("Raised: Bob Baker.").wait_for(timeout=15000)
        bob_entry = dave.locator(f"#case-{ids['bob_case']}")
        assert "Raised " in bob_entry.inner_text()
        assert dave.evaluate("() => window.__sameQueuePage === true")  # never reloaded
        assert d_errors == [] and a_errors == [] and b_errors == [], (d_errors, a_errors, b_errors)
    finally:
        for page in (dave, alice, bob):
            page.context.close()
