"""S7: every page and API text shows only the configured emergency number (TELESPINE_EMERGENCY_NUMBER)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import telespine.web
from telespine.triage import questionnaire
from telespine.web import clinical
from telespine.web.testing import csrf_from

Client = Any
NUMBERS = re.compile(r"(?<![\w-])(911|999|112|111|000)(?![\w-])")
WEB = Path(telespine.web.__file__).parent


def _visible(html: str) -> str:
    """The text a person reads (tags and attribute values such as tokens removed), plus tel: links."""
    links = " ".join(re.findall(r'href="tel:([^"]*)"', html))
    return re.sub(r"<[^>]*>", " ", html) + " " + links


def _numbers(text: str) -> set[str]:
    return set(NUMBERS.findall(text))


def test_templates_never_write_out_an_emergency_number() -> None:
    for path in sorted((WEB / "templates").glob("*.html")):
        assert _numbers(path.read_text("utf-8")) == set(), path.name


@pytest.fixture
def client(make_client: Callable[..., Client], seeded_url: str) -> Client:
    return make_client(seeded_url, emergency_number="112")


def _start(client: Client) -> str:
    token = csrf_from(client.get("/assess").text)
    client.post("/assess/start", data={"who": "self", "csrf_token": token})
    client.post("/assess/q", data={"question_id": "age_years", "answer": "40", "csrf_token": token})
    return token


def test_pages_show_only_the_configured_number(client: Client) -> None:
    for path in (
        "/",
        "/guides",
        "/guides/back-pain/adult",
        "/guides/back-pain/pediatric",
        "/guides/search?q=fever",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert _numbers(_visible(page.text)) == {"112"}, path
    token = _start(client)
    r = client.post(
        "/assess/q", data={"question_id": "saddle_numbness", "answer": "yes", "csrf_token": token}
    )
    assert r.url.path == "/assess/emergency"
    assert 'href="tel:112"' in r.text and _numbers(_visible(r.text)) == {"112"}


def test_the_safety_net_page_shows_only_the_configured_number(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _start(client)

    def broken(*args: object, **kwargs: object) -> Any:
        raise KeyError("questions.yaml is broken")

    monkeypatch.setattr(questionnaire, "next_question", broken)
    page = client.get("/assess/q")
    assert "We could not finish the check" in page.text
    assert _numbers(_visible(page.text)) == {"112"}


def test_advice_placeholder_is_filled_even_without_a_number(client: Client) -> None:
    # Pages of other parts may call clinical.advice_for/guide_for without the number: the
    # templates then fill the placeholder with the configured number, never with a default.
    advice = clinical.advice_for("adult")
    assert clinical.EMERGENCY_PLACEHOLDER in advice["emergency"]["what"]
    templates = client.app.state.templates
    html = templates.env.from_string("{{ text }}").render(text=advice["emergency"]["what"])
    assert "112" in html and clinical.EMERGENCY_PLACEHOLDER not in html
    guide = clinical.guide_for("pediatric")
    assert guide is not None
    line = templates.env.from_string("{{ g.emergency_line }}").render(g=guide)
    assert _numbers(line) == {"112"}


def test_api_guide_texts_use_the_configured_number(client: Client) -> None:
    doc = client.get("/api/v1/guides/back-pain/adult").text
    assert _numbers(doc) == {"112"}
    hits = client.get("/api/v1/guides/search", params={"q": "emergency department"}).text
    assert "911" not in _numbers(hits)
