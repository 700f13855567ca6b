"""Issue 2: every section cites its sources in every rendering, not only in JSON."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from telespine.content import (
    list_guides,
    load_guide,
    load_sources,
    render_html,
    render_html_sections,
    render_json,
    render_markdown,
    render_text,
)
from telespine.content.model import Guide, SourcesSection

GUIDES = list_guides()


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").replace("&#39;", "'").replace("&amp;", "&").split())


def _labels(keys: list[str]) -> list[str]:
    registry = load_sources().sources
    return [registry[k].short or registry[k].title for k in keys]


def _between_titles(out: str, guide: Guide, upper: bool) -> dict[str, str]:
    """The rendered text of each section: from its title to the next section's title."""
    titles = [s.title.upper() if upper else s.title for s in guide.sections]
    parts: dict[str, str] = {}
    start = 0
    for index, section in enumerate(guide.sections):
        begin = out.index(_flat(titles[index]), start)
        end = out.index(_flat(titles[index + 1]), begin) if index + 1 < len(titles) else len(out)
        parts[section.id] = out[begin:end]
        start = begin + 1
    return parts


@pytest.mark.parametrize("fmt", ["text", "md"])
@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_text_and_markdown_cite_under_every_section(condition: str, audience: str, fmt: str) -> None:
    guide = load_guide(condition, audience)
    out = _flat(render_text(guide, width=100) if fmt == "text" else render_markdown(guide))
    parts = _between_titles(out, guide, upper=fmt == "text")
    for section in guide.sections:
        if isinstance(section, SourcesSection):
            assert "Sources:" not in parts[section.id]
            continue
        line = "Sources: " + "; ".join(_labels(section.sources)) + "."
        assert line in parts[section.id], f"{fmt} section {section.id} lacks {line!r}"


class _Citations(HTMLParser):
    """Per section: the hrefs of its citation line; and every element id on the page."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.in_cite = False
        self.cites: dict[str, list[str]] = {}
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "section":
            self.section = str(a["id"])
        elif tag == "p" and a.get("class") == "ts-cite":
            self.in_cite = True
            self.cites[self.section] = []
        elif tag == "a" and self.in_cite:
            self.cites[self.section].append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.in_cite = False


@pytest.mark.parametrize("embedded", [False, True])
@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_html_cites_under_every_section_with_links_into_the_reference_list(
    condition: str, audience: str, embedded: bool
) -> None:
    guide = load_guide(condition, audience)
    page = _Citations()
    page.feed(render_html_sections(guide, 2) if embedded else render_html(guide))
    for section in guide.sections:
        if isinstance(section, SourcesSection):
            assert section.id not in page.cites
            continue
        assert page.cites[section.id] == [f"#ref-{key}" for key in section.sources], section.id
        for key in section.sources:
            assert f"ref-{key}" in page.ids, f"#ref-{key} has no target"
    listed = guide.section("sources").sources
    assert {f"ref-{key}" for key in listed} <= page.ids


def test_html_citations_show_the_short_names() -> None:
    guide = load_guide("back-pain", "adult")
    html = _flat(render_html(guide))
    assert '<a href="#ref-nice-ng59">NICE NG59</a>' in html
    assert '<li id="ref-nice-ng59"><strong>NICE NG59</strong>:' in html


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_json_keeps_each_sections_sources_resolvable(condition: str, audience: str) -> None:
    guide = load_guide(condition, audience)
    doc = json.loads(render_json(guide))
    for section in doc["sections"]:
        assert section["sources"], section["id"]
        assert all(key in doc["references"] for key in section["sources"])
