"""Browser walk of issue 14 (Debian Chromium, shared `chromium` fixture): a patient does three
weekly check-ins on a frozen clock (`app.state.clock`, read by `current_time`; never a sleep), uploads a
step export, and the charts on the case page show the trend; a parent checks in for a child.
The charts are read from the page: the SVG's description and the table beside it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telespine.store.demo import demo_password
from telespine.web.testing import LiveServer, make_test_settings

pytestmark = pytest.mark.browser

START = dt.date(2026, 3, 2)
PASSWORD = "walker-password-2026"
CALM = {"age_years": 45, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 6}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Iterator[dict[str, Any]]:
    from telespine.store import repo, repo_care
    from telespine.store.db import make_engine, make_sessionmaker, session_scope
    from telespine.triage import triage
    from telespine.web.app import create_app

    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("checkin-browser") / "app.sqlite3")
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        from sqlalchemy import select

        from telespine.store.models import User

        alice = db.scalar(select(User).where(User.username == "alice"))
        clinic = alice.clinic if alice is not None else None
        user = repo.create_user(db, username="walker", password=PASSWORD, role="patient", clinic=clinic)
        a = repo.save_assessment(
            db, profile=repo.ensure_self_profile(db, user), by=user, findings=CALM, result=triage(CALM)
        )
        case = repo_care.ensure_case(db, a)
        case.treatment_started_on = START
        case.timezone = "America/New_York"
        case_id = case.id
    engine.dispose()
    clock = [dt.datetime.now(dt.UTC)]
    app = create_app(make_test_settings(url))
    app.state.clock = lambda: clock[0]  # read by web.pages.checkin.current_time
    with LiveServer(app) as server:
        yield {"url": server.url, "case": case_id, "clock": clock}


def _sign_in(page: Any, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _check_in(page: Any, pain: int, peg: int | None) -> None:
    page.locator("#start-checkin").click()
    page.wait_for_url(re.compile(r"/checkin$"))
    page.locator("#pain").fill(str(pain))
    page.locator("#function").fill(str(10 - pain))
    for fieldset in page.locator("fieldset").all():
        radio = fieldset.locator('input[type=radio][value="no"]')
        if radio.count():
            radio.first.check()
    if peg is not None:
        for name in ("pain", "enjoyment", "activity"):
            page.locator(f'[name="q_peg__{name}"]').fill(str(peg))
    page.get_by_role("button", name="Send my check-in").click()
    page.wait_for_url(re.compile(r"/checkins/\w+"))


def _axe(page: Any, name: str) -> None:
    """axe-core: no serious or critical violation; no sideways scroll at 390 px."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name


def _rows(page: Any, table_id: str) -> list[list[str]]:
    return [
        [c.strip() for c in row.locator("th, td").all_inner_texts()]
        for row in page.locator(f"#{table_id} tbody tr").all()
    ]  # "#changes" is the section: its only table


def test_a_patient_does_three_weekly_checkins_and_sees_the_trend(site: dict[str, Any], chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    url, case, clock = site["url"], site["case"], site["clock"]
    _sign_in(page, url, "walker", PASSWORD)
    for week, pain in ((1, 7), (2, 5), (3, 3)):
        # 03:00 UTC is the evening before in New York (day 7, 14, 21 there): tables show the local day.
        clock[0] = dt.datetime.combine(START + dt.timedelta(days=7 * week + 1), dt.time(3), tzinfo=dt.UTC)
        page.goto(f"{url}/care/cases/{case}")
        if week == 1:
            page.locator("#start-checkin").click()
            page.wait_for_url(re.compile(r"/checkin$"))
            _axe(page, "checkin-form")
            page.goto(f"{url}/care/cases/{case}")
        _check_in(page, pain, peg=pain)
        assert page.locator("h1").inner_text() == f"Check-in {week} is saved"
    _axe(page, "checkin-done")
    rows = _rows(page, "changes")
    assert rows[0] == ["Your pain", "5", "3", "Better"]
    assert rows[1] == ["PEG score", "5", "3", "Better"]
    # A step export: two weeks of walking more.
    page.goto(f"{url}/care/cases/{case}/steps")
    csv = "Date,Step count\n" + "".join(
        f"{(START + dt.timedelta(days=d)).isoformat()},{3000 + 250 * d}\n" for d in range(1, 21)
    )
    page.locator("#file").set_input_files(
        {"name": "Daily activity metrics.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Upload").click()
    assert "Saved: 20 days" in page.locator("#upload-done").inner_text()
    _axe(page, "steps-upload")
    # The charts on the case page (loaded by htmx), read as a screen reader would.
    page.goto(f"{url}/care/cases/{case}")
    page.locator(".progress-charts").wait_for()
    assert "America/New York" in page.locator("#progress").inner_text()
    peg = _rows(page, "peg-chart-table")
    assert [r[1] for r in peg] == ["7", "5", "3"]
    assert [r[0][:6] for r in peg] == ["09 Mar", "16 Mar", "23 Mar"]  # local days, not UTC
    desc = page.locator("#peg-chart-desc").text_content() or ""
    assert "(down)" in desc
    assert [r[1] for r in _rows(page, "nrs-chart-table")] == ["7", "5", "3"]
    diary = _rows(page, "diary-chart-table")
    assert [r[1] for r in diary] == ["7", "5", "3"]
    steps = _rows(page, "steps-chart-table")
    assert len(steps) == 20 and steps[0][1] == "3,250" and steps[-1][1] == "8,000"
    assert "(up)" in (page.locator("#steps-chart-desc").text_content() or "")
    weeks = _rows(page, "weeks")
    assert [w[2] for w in weeks[1:4]] == ["1", "1", "1"]  # a check-in in each of weeks 2 to 4
    _axe(page, "checkin-progress")
    assert errors == []
    Path("test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path="test-artifacts/checkin-progress.png", full_page=True)
    context.close()


def test_a_parent_checks_in_for_a_child(site: dict[str, Any], chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    url, clock = site["url"], site["clock"]
    clock[0] = dt.datetime.now(dt.UTC)
    _sign_in(page, url, "carol", demo_password("carol"))
    page.goto(f"{url}/care")
    page.locator("a[href^='/care/cases/']", has_text=re.compile("Sam", re.I)).first.click()
    page.wait_for_load_state()
    page.locator("#start-checkin").click()
    page.wait_for_url(re.compile(r"/checkin$"))
    text = page.locator("main").inner_text()
    assert "Check-in for Sam" in text and "Your child's pain today" in text
    assert "your child" in text.lower()
    page.locator("#pain").fill("2")
    page.locator("#function").fill("9")
    for fieldset in page.locator("fieldset").all():
        radio = fieldset.locator('input[type=radio][value="no"]')
        if radio.count():
            radio.first.check()
    page.get_by_role("button", name="Send my check-in").click()
    page.wait_for_url(re.compile(r"/checkins/\w+"))
    assert "Your child's care team can see this check-in" in page.locator("main").inner_text()
    first = page.locator("#changes tbody tr").first.locator("th, td").all_inner_texts()
    assert first[0] == "Your child's pain" and first[2] == "2"
    page.get_by_role("link", name="See the charts").click()
    page.locator(".progress-charts").wait_for()
    diary = _rows(page, "diary-chart-table")
    assert diary and diary[-1][1] == "2"
    assert "Your child's diary" in (page.locator("#diary-chart-table caption").inner_text())
    context.close()
