"""The standalone guide page in a real browser: no axe violations, readable at 390px, nothing external."""

from __future__ import annotations

from pathlib import Path

import pytest

from telespine.content import load_guide, render_html

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(chromium: object) -> object:
    return chromium  # the one shared Chromium of tests/conftest.py


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_guide_page_in_chromium(browser: object, tmp_path: Path, audience: str) -> None:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    page_file = tmp_path / f"back-pain.{audience}.html"
    page_file.write_text(render_html(load_guide("back-pain", audience)), encoding="utf-8")
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())

    # Only the page itself is fetched: no fonts, scripts, styles or images from elsewhere.
    assert requests == [page_file.as_uri()]
    # Readable on a narrow phone: nothing forces sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The skip link is the first thing the keyboard reaches and it becomes visible.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    box = page.locator("a.ts-skip").bounding_box()
    assert box is not None and box["y"] >= 0

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    context.close()
