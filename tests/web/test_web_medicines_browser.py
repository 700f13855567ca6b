"""Browser walk of the medicine diary (issue 14; Debian Chromium, shared `chromium` fixture): a
patient records an anti-inflammatory with a warning-sign side effect and sees the emergency
result at once (and the case page keeps it); a parent records a child's medicine and the pages
name no adult dose and warn against aspirin; the lessons open and are marked read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from telespine.content.checks import dose_problems
from telespine.store.demo import demo_password
from telespine.web.testing import LiveServer, make_test_settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Iterator[str]:
    from telespine.web.app import create_app

    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("medicines-browser") / "app.sqlite3")
    with LiveServer(create_app(make_test_settings(url))) as server:
        yield server.url


def _sign_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(demo_password(name))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _axe(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name


def _answer_all_no(page: Any) -> None:
    for radio in page.locator('input[type=radio][name^="ws_"][value="no"]').all():
        radio.check()


def test_a_patient_records_a_warning_sign_and_sees_the_emergency_result(site: str, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, site, "alice")
    page.goto(f"{site}/care")
    page.locator("a[href^='/care/cases/']").first.click()
    page.wait_for_load_state()
    case_url = page.url.split("?")[0].split("#")[0]
    page.locator("#open-medicines").click()
    page.wait_for_url(re.compile(r"/medicines$"))
    _axe(page, "medicine-form")
    page.locator("#med_1").select_option("ibuprofen")
    page.locator("#time_1").fill("08:15")
    page.locator("#amount_1").fill("one tablet")
    _answer_all_no(page)
    page.locator('input[name="ws_vomiting_blood"][value="yes"]').check()
    page.get_by_role("button", name="Save the medicine diary").click()
    page.wait_for_url(re.compile(r"/medicines/\w+$"))
    assert page.locator("h1").inner_text() == "This may be an emergency. Get help now."
    result = page.locator("#medicine-result").inner_text()
    assert "Vomiting blood can mean bleeding in the stomach" in result and "Stop taking" in result
    assert page.locator("a.big-call").get_attribute("href", timeout=2000).startswith("tel:")
    _axe(page, "medicine-result")
    # The case page now shows the emergency advice and keeps it (an escalation floor).
    page.goto(case_url)
    assert "emergency" in (page.locator("#disposition").get_attribute("class") or "")
    assert page.locator("#held").count() == 1
    # The diary (loaded by htmx) lists the entry with its level.
    page.locator("#medicine-entries").wait_for()
    row = page.locator("#medicine-entries tbody tr").first.inner_text()
    assert "Ibuprofen at 08:15 (one tablet)" in row and "Emergency" in row
    # A lesson: open it and mark it read.
    page.locator("#lesson-list a").first.click()
    page.wait_for_url(re.compile(r"/lessons/\w+$"))
    page.locator("#mark-read").click()
    assert "You marked this lesson as read" in page.locator("#lesson-read").inner_text()
    assert errors == []
    context.close()


def test_a_parents_entry_for_a_child_shows_no_adult_dose(site: str, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in(page, site, "carol")
    page.goto(f"{site}/care")
    page.locator("a[href^='/care/cases/']", has_text=re.compile("Sam", re.I)).first.click()
    page.wait_for_load_state()
    page.locator("#open-medicines").click()
    page.wait_for_url(re.compile(r"/medicines$"))
    main = page.locator("main").inner_text()
    assert (
        "Your child's medicine diary" in main and "under 16" in page.locator("#aspirin-warning").inner_text()
    )
    assert dose_problems(main) == []
    page.locator("#med_1").select_option("paracetamol")
    page.locator("#time_1").fill("19:00")
    page.locator("#amount_1").fill("as the pharmacist said")
    _answer_all_no(page)
    page.get_by_role("button", name="Save the medicine diary").click()
    page.wait_for_url(re.compile(r"/medicines/\w+$"))
    done = page.locator("main").inner_text()
    assert page.locator("h1").inner_text() == "Your medicine diary is saved"
    assert "Your child's care team can see the diary" in done and dose_problems(done) == []
    page.get_by_role("link", name="Back to the medicine diary").click()
    page.locator("#medicine-entries").wait_for()
    after = page.locator("main").inner_text()
    assert "Paracetamol at 19:00" in after and dose_problems(after) == []
    _axe(page, "medicine-diary-child")
    context.close()
