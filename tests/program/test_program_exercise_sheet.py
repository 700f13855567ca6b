"""The written plan's exercise sheet, checked in the PDF: the steps as text, the pictures as drawings.

WeasyPrint draws inline SVG as vector paths in the page's content stream (no image XObject), so
the test reads the content stream with pypdf and looks for stroked paths in the pictures'
line colour (#1d4e89) on the pages that carry the exercise steps.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from telespine.program.exercises import load_library
from telespine.program.plan import build_plan, parse_answers, render_html, render_pdf, safety_net_plan
from telespine.triage import triage

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
ADULT = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 6, "pain_score": 5}
CHILD = {"age_years": 10, "location": "low_back", "onset": "gradual", "duration_days": 6, "pain_score": 4}
FIGURE_RGB = [round(c / 255, 3) for c in (0x1D, 0x4E, 0x89)]


def flat(text: str) -> str:
    return " ".join(text.split())


def page_facts(pdf: bytes) -> list[tuple[str, int]]:
    """(text, number of stroked paths in the figure colour) for each page."""
    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for page in reader.pages:
        stroke_rgb: list[float] | None = None
        figure_strokes = 0
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"RG":
                stroke_rgb = [round(float(x), 3) for x in operands]
            elif op in (b"S", b"s", b"B", b"b") and stroke_rgb == FIGURE_RGB:
                figure_strokes += 1
        out.append((flat(page.extract_text()), figure_strokes))
    return out


@pytest.fixture(scope="module", params=["adult", "pediatric"])
def sheet(request: pytest.FixtureRequest) -> tuple[str, list[tuple[str, int]]]:
    findings = ADULT if request.param == "adult" else CHILD
    plan = build_plan(findings, triage(findings), parse_answers({}), NOW)
    return request.param, page_facts(render_pdf(plan))


def test_sheet_has_every_step_and_dose_as_text(sheet: tuple[str, list[tuple[str, int]]]) -> None:
    audience, pages = sheet
    text = " ".join(t for t, _ in pages)
    heading = "Exercise sheet for your child" if audience == "pediatric" else "Your exercise sheet"
    assert heading in text
    for e in load_library().for_audience(audience):  # type: ignore[arg-type]
        assert e.name in text
        for step in e.steps:
            assert flat(step) in text, step
        assert flat(e.dose_at(1).text()) in text
        assert flat(e.easier) in text and flat(e.harder) in text
    assert "How it builds up over the weeks" in text


def test_each_exercise_page_carries_its_drawing(sheet: tuple[str, list[tuple[str, int]]]) -> None:
    audience, pages = sheet
    exercises = load_library().for_audience(audience)  # type: ignore[arg-type]
    sheet_pages = [(t, n) for t, n in pages if any(flat(e.steps[0]) in t for e in exercises)]
    assert sheet_pages
    for e in exercises:
        # the page that starts the exercise's steps also holds the strokes of its picture
        page = next((t, n) for t, n in sheet_pages if flat(e.steps[0]) in t)
        assert page[1] >= 4, e.id
    # the figure strokes are on the sheet only (the colour is used for nothing else that strokes)
    assert sum(n for t, n in pages) == sum(n for t, n in sheet_pages)
    assert sum(n for _, n in sheet_pages) >= 4 * len(exercises)


def test_plans_without_a_program_have_no_sheet_and_no_drawings() -> None:
    emergency = {"age_years": 40, "saddle_numbness": True}
    for plan in (
        safety_net_plan(NOW, "adult"),
        build_plan(emergency, triage(emergency), parse_answers({}), NOW),
    ):
        pages = page_facts(render_pdf(plan))
        assert all(n == 0 for _, n in pages)
        assert "exercise sheet" not in " ".join(t for t, _ in pages).lower()


def test_html_sheet_inlines_each_picture_with_its_title() -> None:
    plan = build_plan(ADULT, triage(ADULT), parse_answers({}), NOW)
    html = render_html(plan)
    assert html.count("<svg") == len(load_library().for_audience("adult"))
    assert 'id="exercise-sheet"' in html and "<title>" in html
    assert "&lt;svg" not in html  # inlined, not escaped


def test_sheet_renders_alone_for_a_web_page() -> None:
    from telespine.program import Choices, generate_program
    from telespine.program.plan import render_exercise_sheet
    from telespine.triage.types import Disposition

    prog = generate_program(
        CHILD, [], Choices(), "pediatric", Disposition.TELEMEDICINE, week=3, progress="better"
    )
    assert prog is not None
    html = str(render_exercise_sheet(prog))
    assert html.startswith("<section") and html.count("<svg") == len(prog.exercises)
    assert "Exercise sheet for your child" in html and "Building up (week 3)" in html
    assert "Your child lies on their back" in html
