"""Browser tests of the self-care plan: Playwright drives Debian's Chromium against a real server.

Three people finish an assessment that ends in telemedicine, build their plan and download the
PDF, whose text is checked with pypdf: an adult with low STarT Back risk and no medicine cautions,
an adult with high risk and kidney disease, and a parent of a child. Every new page passes axe-core
(no serious or critical violation) at 390px without sideways scrolling; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from telespine.web.testing import LiveServer, make_test_settings
from telespine.web.testing import check_page as shared_check_page

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CALM = ["no", "none", "normal", "low_back", "gradual"]
MEDICINE_FIELDS = [
    "pregnancy",
    "stomach_ulcer_or_bleeding",
    "kidney_disease",
    "heart_disease",
    "liver_disease",
    "blood_thinners",
    "asthma_worse_with_nsaids",
    "other_pain_medicines",
]
STARTBACK_ITEMS = [
    "q1_leg_pain",
    "q2_neck_shoulder",
    "q3_walking",
    "q4_dressing",
    "q5_activity_safe",
    "q6_worry",
    "q7_catastrophising",
    "q8_enjoyment",
]
IBUPROFEN_DOSE = "200 mg to 400 mg"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, migrated_templates: Any) -> Iterator[str]:
    """A uvicorn server in a thread, on a free loopback port, with a temporary SQLite database."""
    from telespine.web.app import create_app

    url = migrated_templates.sqlite_copy(tmp_path_factory.mktemp("program-browser") / "app.sqlite3")
    with LiveServer(create_app(make_test_settings(url))) as live:
        yield live.url


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=1, accept_downloads=True
    )
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert errors == []  # script errors and Content-Security-Policy violations


def check_page(page: Any, name: str) -> None:
    """axe, no sideways scroll at 390px, a screenshot (web/testing.py check_page)."""
    shared_check_page(page, name, ARTIFACTS)


def assess(page: Any, server: str, who: str = "self", age: str = "35") -> None:
    """Start an assessment and give calm answers (keyboard only) until the result page."""
    page.goto(f"{server}/assess")
    page.locator(f'input[name="who"][value="{who}"]').check()
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/assess/q")
    for _ in range(100):
        if "/assess/q" not in page.url:
            break
        qid = page.locator('input[name="question_id"]').get_attribute("value")
        number = page.locator('input[type="number"]')
        if number.count():
            number.focus()
            page.keyboard.type(age if qid == "age_years" else "1")
        else:
            options = page.locator('input[name="answer"]').evaluate_all("els => els.map(e => e.value)")
            value = next(o for o in [*CALM, options[0]] if o in options)
            page.locator(f'input[name="answer"][value="{value}"]').focus()
            page.keyboard.press("Space")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.url.endswith("/assess/result")
    assert page.locator(".disposition.telemedicine").count() == 1


def answer_medicines_by_keyboard(page: Any, answers: dict[str, str]) -> None:
    """Choose each medicine answer with the keyboard (focus, Space) and submit with Enter."""
    page.wait_for_url("**/assess/plan/medicines")
    for field, value in answers.items():
        page.locator(f'input[name="{field}"][value="{value}"]').focus()
        page.keyboard.press("Space")
        assert page.locator(f'input[name="{field}"][value="{value}"]').is_checked()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def answer_choices(page: Any, answers: dict[str, str]) -> None:
    for name, value in answers.items():
        page.locator(f'input[name="{name}"][value="{value}"]').check()
    page.get_by_role("button", name="Next").click()


def skip(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Skip this questionnaire").click()


def download_pdf_text(page: Any) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the plan (PDF)").click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))


def test_adult_low_risk_no_cautions(page: Any, server: str) -> None:
    assess(page, server)
    page.get_by_role("link", name="Build my plan").click()
    check_page(page, "program-medicines")
    answer_medicines_by_keyboard(page, dict.fromkeys(MEDICINE_FIELDS, "no"))
    page.wait_for_url("**/assess/plan/q/startback")
    assert page.get_by_text("Keele University").count() == 1  # the licence notice
    check_page(page, "program-startback")
    answer_choices(page, {**dict.fromkeys(STARTBACK_ITEMS, "disagree"), "q9_bothersome": "slightly"})
    page.wait_for_url("**/assess/plan/q/peg")
    page.get_by_label(re.compile("your pain on average")).fill("4")
    page.get_by_label(re.compile("enjoyment of life")).fill("3")
    page.get_by_label(re.compile("general activity")).fill("2")
    check_page(page, "program-peg")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submit from the focused number field, by keyboard
    page.wait_for_url("**/assess/plan/q/phq2")
    skip(page)
    page.wait_for_url("**/assess/plan/q/gad2")
    skip(page)
    page.wait_for_url("**/assess/plan/choices")
    page.get_by_label("Activity 1").fill("cycling")
    page.get_by_label("What would you like to be able to do again?").fill("Cycle to work again")
    page.locator('input[name="work_or_school"][value="desk_work"]').check()
    page.locator('input[name="smokes"][value="no"]').check()
    check_page(page, "program-choices")
    page.get_by_role("button", name="See my plan").click()
    page.wait_for_url("**/assess/program")
    main = page.locator("main").inner_text()
    assert "manage it yourself" in main and "low risk" in main
    assert IBUPROFEN_DOSE in page.locator("#medicine-ibuprofen").inner_text()
    assert "cycling" in main
    check_page(page, "program-adult-low-risk")
    text = download_pdf_text(page)
    assert "manage it yourself" in text and IBUPROFEN_DOSE in text and "Keele University" in text


def test_adult_high_risk_with_kidney_disease(page: Any, server: str) -> None:
    assess(page, server)
    page.get_by_role("link", name="Build my plan").click()
    answer_medicines_by_keyboard(page, {**dict.fromkeys(MEDICINE_FIELDS, "no"), "kidney_disease": "yes"})
    page.wait_for_url("**/assess/plan/q/startback")
    answer_choices(page, {**dict.fromkeys(STARTBACK_ITEMS, "agree"), "q9_bothersome": "extremely"})
    page.wait_for_url("**/assess/plan/q/peg")
    page.get_by_role("link", name="Back", exact=True).click()  # going back keeps the answers
    page.wait_for_url("**/assess/plan/q/startback")
    assert page.locator('input[name="q9_bothersome"][value="extremely"]').is_checked()
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/assess/plan/q/peg")
    for _ in range(3):
        skip(page)
    page.wait_for_url("**/assess/plan/choices")
    page.get_by_role("button", name="See my plan").click()
    page.wait_for_url("**/assess/program")
    main = page.locator("main").inner_text()
    assert "psychologically informed care" in main
    ibuprofen = page.locator("#medicine-ibuprofen").inner_text()
    assert "Ask a pharmacist or doctor" in ibuprofen and "mg" not in ibuprofen
    assert "Kidney disease" in ibuprofen
    check_page(page, "program-adult-high-risk")
    text = download_pdf_text(page)
    assert "psychologically informed care" in text
    assert "Ask a pharmacist or doctor" in text and IBUPROFEN_DOSE not in text


def test_parent_of_a_child(page: Any, server: str) -> None:
    assess(page, server, who="child", age="10")
    page.get_by_role("link", name="Build my child's plan").click()
    assert page.get_by_text("Does your child have a kidney problem?").count() == 1
    answer_medicines_by_keyboard(page, dict.fromkeys(MEDICINE_FIELDS, "no"))
    page.wait_for_url("**/assess/plan/q/nrs")  # children: the pain score only, no STarT Back
    page.get_by_label(re.compile("how bad has your child's back pain been")).fill("3")
    check_page(page, "program-child-pain-score")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/assess/plan/choices")
    assert page.get_by_role("heading", name="What your child likes to do").count() == 1
    page.locator('input[name="work_or_school"][value="school"]').check()
    page.get_by_role("button", name="See my plan").click()
    page.wait_for_url("**/assess/program")
    main = page.locator("main").inner_text()
    assert "Your child's self-care plan" in main
    assert "aspirin" in main and " mg" not in main
    check_page(page, "program-child")
    text = download_pdf_text(page)
    assert "aspirin" in text and "your child" in text.lower()
    assert IBUPROFEN_DOSE not in text and " mg " not in text


def test_sign_up_and_save_the_plan(page: Any, server: str) -> None:
    assess(page, server)
    page.get_by_role("link", name="Build my plan").click()
    answer_medicines_by_keyboard(page, {**dict.fromkeys(MEDICINE_FIELDS, "no"), "blood_thinners": "unknown"})
    page.wait_for_url("**/assess/plan/q/startback")
    skip(page)
    page.wait_for_url("**/assess/plan/q/peg")
    page.get_by_label(re.compile("your pain on average")).fill("6")
    page.get_by_label(re.compile("enjoyment of life")).fill("5")
    page.get_by_label(re.compile("general activity")).fill("7")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for _ in range(2):
        skip(page)
    page.get_by_role("button", name="See my plan").click()
    page.wait_for_url("**/assess/program")
    page.get_by_role("link", name="create an account").click()
    page.get_by_label("User name").fill("plan_pat")
    page.get_by_label("Password").fill("walking helps my back")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/assess/program")  # the answers were kept
    page.get_by_role("button", name="Save my plan").click()
    page.wait_for_url("**/assessments/*/program?flash=saved")
    main = page.locator("main").inner_text()
    assert "Your plan and your questionnaire scores are saved." in main
    assert "We do not yet know how likely" in main  # STarT Back skipped: not assessed, never low
    ibuprofen = page.locator("#medicine-ibuprofen").inner_text()
    assert "Not sure about blood thinners" in ibuprofen and "mg" not in ibuprofen
    assert "PEG" in main and "6 out of 10" in main
    check_page(page, "program-saved")
    text = download_pdf_text(page)
    assert "We do not yet know how likely" in text and IBUPROFEN_DOSE not in text
