"""Browser tests: Playwright drives Debian's Chromium against a real uvicorn server.

Each main page is checked with axe-core (no serious or critical violation), at a 390px-wide
phone viewport without sideways scrolling, and saved as a screenshot in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telespine.store.demo import demo_password
from telespine.web.testing import LiveServer, make_test_settings
from telespine.web.testing import check_page as shared_check_page

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CALM = ["no", "none", "normal", "low_back", "gradual"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Iterator[str]:
    """A uvicorn server in a thread, on a free loopback port, with a seeded temporary SQLite database."""
    from telespine.web.app import create_app

    url = migrated_templates.seeded_sqlite_copy(tmp_path_factory.mktemp("browser") / "app.sqlite3")
    with LiveServer(create_app(make_test_settings(url))) as live:
        yield live.url


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    # Script errors and Content-Security-Policy violations show up here.
    assert errors == []


def check_page(page: Any, name: str) -> None:
    """axe, no sideways scroll at 390px, a screenshot (web/testing.py check_page)."""
    shared_check_page(page, name, ARTIFACTS)


def answer_by_keyboard(
    page: Any, special: dict[str, str], age: str = "35", check_first: bool = False
) -> None:
    """Answer questions with the keyboard only (focus, Space to choose, Enter to submit) until done."""
    for _ in range(100):
        if "/assess/q" not in page.url:
            return
        qid = page.locator('input[name="question_id"]').get_attribute("value")
        number = page.locator('input[type="number"]')
        if number.count():
            number.focus()
            page.keyboard.type(special.get(qid, age if qid == "age_years" else "1"))
            if check_first:
                check_page(page, "question-number")
        else:
            options = page.locator('input[name="answer"]').evaluate_all("els => els.map(e => e.value)")
            value = special.get(qid) or next(o for o in [*CALM, options[0]] if o in options)
            page.locator(f'input[name="answer"][value="{value}"]').focus()
            page.keyboard.press("Space")
            if check_first:
                check_page(page, "question-choice")
                check_first = False
        with page.expect_navigation():
            page.keyboard.press("Enter")
    raise AssertionError("the questionnaire did not finish")


def start(page: Any, server: str, who: str = "self") -> None:
    page.goto(f"{server}/assess")
    page.locator(f'input[name="who"][value="{who}"]').check()
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/assess/q")


def test_home_and_guides_pages(page: Any, server: str) -> None:
    page.goto(server + "/")
    assert page.get_by_role("link", name="Call 911").count() >= 1
    page.keyboard.press("Tab")  # the first stop is the skip link, and it moves focus to the content
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Start the check"
    check_page(page, "home")
    page.goto(server + "/guides")
    check_page(page, "guides")
    page.get_by_label("Search words").fill("fever")
    page.wait_for_selector("#search-results li")  # htmx live search
    page.goto(server + "/guides/back-pain/adult")
    check_page(page, "guide-back-pain-adult")


def test_assessment_ends_in_telemedicine(page: Any, server: str) -> None:
    page.goto(server + "/assess")
    check_page(page, "assess-start")
    start(page, server)
    answer_by_keyboard(page, {}, check_first=True)
    assert page.url.endswith("/assess/result")
    assert page.locator(".disposition.telemedicine").count() == 1
    assert page.locator("#prepare").count() == 1
    check_page(page, "result-telemedicine")


def test_assessment_ends_in_an_emergency(page: Any, server: str) -> None:
    start(page, server)
    answer_by_keyboard(page, {"bladder": "retention"})
    assert page.url.endswith("/assess/emergency")
    assert page.get_by_role("heading", name="This is an emergency. Get help now.").count() == 1
    assert page.get_by_role("link", name="Call 911").count() == 1  # the big button, beside the banner link
    check_page(page, "emergency")


@pytest.mark.parametrize(
    ("special", "disposition"),
    [
        ({"fever": "yes"}, "prompt"),
        ({"walking_difficulty": "yes"}, "urgent"),
        ({"leg_numbness": "stable"}, "routine"),
    ],
)
def test_every_result_page_is_accessible(
    page: Any, server: str, special: dict[str, str], disposition: str
) -> None:
    start(page, server)
    answer_by_keyboard(page, special)
    assert page.url.endswith("/assess/result")
    assert page.locator(f".disposition.{disposition}").count() == 1
    has_visit = page.get_by_role("link", name="Request a tele-visit").count() > 0
    assert has_visit == (disposition == "routine")  # never offered when care in person comes first
    check_page(page, f"result-{disposition}")


def test_pediatric_guide_page(page: Any, server: str) -> None:
    page.goto(server + "/guides/back-pain/pediatric")
    assert "child" in page.locator("h1").inner_text().lower()
    check_page(page, "guide-back-pain-pediatric")


def test_child_assessment(page: Any, server: str) -> None:
    start(page, server, "child")
    answer_by_keyboard(page, {}, age="8")
    assert "for your child" in page.locator("h1").inner_text()
    check_page(page, "result-child")


def test_sign_up_save_log_out_log_in_and_find_it(page: Any, server: str) -> None:
    start(page, server)
    answer_by_keyboard(page, {})
    page.get_by_role("link", name="create an account").click()
    check_page(page, "signup")
    page.get_by_label("User name").fill("browser_pat")
    page.get_by_label("Your name").fill("Pat Browser")
    page.get_by_label("Password").fill("walking helps my back")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/assess/result")
    page.get_by_role("button", name="Save this result").click()
    page.wait_for_url("**/assessments/*")
    saved = page.url.split("?")[0]
    check_page(page, "assessment-saved")
    page.get_by_role("button", name="Sign out (browser_pat)").click()
    page.wait_for_url(server + "/")
    page.goto(server + "/login")
    check_page(page, "login")
    page.get_by_label("User name").fill("browser_pat")
    page.get_by_label("Password").fill("walking helps my back")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")
    check_page(page, "account")
    page.locator(f'a[href="{saved.removeprefix(server)}"]').click()
    page.wait_for_url(saved)
    assert page.locator(".disposition.telemedicine").count() == 1


def test_clinician_and_admin_pages(page: Any, server: str) -> None:
    for user, path, name in (("dr_dave", "/clinic", "clinic"), ("admin", "/admin/audit", "audit")):
        page.context.clear_cookies()
        page.goto(server + "/login")
        page.get_by_label("User name").fill(user)
        page.get_by_label("Password").fill(demo_password(user))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(server + path)
        assert page.locator("h1").count() == 1
        check_page(page, name)
