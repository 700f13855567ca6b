"""Renderers: every format carries the disclaimer and the emergency line; the HTML page is accessible."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from telespine.content import (
    list_guides,
    load_guide,
    render_html,
    render_html_sections,
    render_json,
    render_markdown,
    render_text,
)
from telespine.content.model import Guide
from telespine.content.render import grouped_flags, template_loader

GUIDES = list_guides()
RENDERERS = {"text": render_text, "md": render_markdown, "json": render_json, "html": render_html}


def _guide(audience: str) -> Guide:
    return load_guide("back-pain", audience)


def _flat(text: str) -> str:
    """Whitespace-normalised text, so that line wrapping does not hide a phrase."""
    return " ".join(text.replace("│", " ").replace("&#39;", "'").split())


@pytest.mark.parametrize("fmt", list(RENDERERS))
@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_every_rendering_has_disclaimer_emergency_line_and_every_red_flag(fmt: str, audience: str) -> None:
    guide = _guide(audience)
    out = _flat(RENDERERS[fmt](guide))
    disclaimer = guide.section("disclaimer")
    assert _flat(disclaimer.paragraphs[0]) in out  # type: ignore[union-attr]
    assert _flat(guide.emergency_line) in out
    for flag in guide.red_flags.flags:
        assert _flat(flag.text) in out, flag.id
    for action, _ in grouped_flags(guide.red_flags):
        assert _flat(guide.actions.for_(action)) in out


def test_markdown_structure() -> None:
    md = render_markdown(_guide("adult"))
    lines = md.splitlines()
    assert lines[0] == "# Back pain: can a video or phone visit help?"
    assert sum(1 for line in lines if line.startswith("# ")) == 1
    assert "- [ ] " in md  # the visit checklist
    assert "## Warning signs" in md
    assert md.index("### Go to an emergency department") < md.index("### Get seen in person today")
    assert "[Low back pain and sciatica in over 16s" in md and "(https://www.nice.org.uk/guidance/ng59)" in md


def test_json_round_trips_and_resolves_references() -> None:
    guide = _guide("pediatric")
    doc = json.loads(render_json(guide))
    assert Guide.model_validate({k: v for k, v in doc.items() if k != "references"}) == guide
    assert set(doc["references"]) == set(guide.cited_sources())
    assert doc["references"]["nice-cg75"]["url"] == "https://www.nice.org.uk/guidance/cg75"


def test_text_rendering_is_plain_and_fits_the_width() -> None:
    out = render_text(_guide("adult"), width=60)
    assert "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 60


class _Page(HTMLParser):
    """Collects what the accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.ids: set[str] = set()
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.headings.append(int(tag[1]))
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data

    def first(self, tag: str) -> dict[str, str | None]:
        return next(attrs for name, attrs in self.tags if name == tag)

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _colour_pairs(css: str) -> list[tuple[str, str, str]]:
    """(selector, color, background) for every CSS rule that sets both."""
    pairs = []
    for block in css.split("}"):
        selector, _, body = block.partition("{")
        decls = {}
        for decl in body.split(";"):
            name, _, value = decl.partition(":")
            decls[name.strip()] = value.strip()
        if "color" in decls and "background" in decls:
            pairs.append((selector.strip(), decls["color"], decls["background"]))
    return pairs


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_html_page_is_accessible(audience: str) -> None:
    guide = _guide(audience)
    html = render_html(guide)
    page = _parse(html)
    assert page.first("html").get("lang") == "en"
    assert page.count("h1") == 1
    assert page.headings[0] == 1
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"
    skip = page.tags[[name for name, _ in page.tags].index("a")][1]
    assert skip.get("href") == "#main" and "main" in page.ids
    for landmark in ("header", "nav", "main", "footer"):
        assert page.count(landmark) == 1, landmark
    assert page.first("nav").get("aria-label")
    viewport = [a for n, a in page.tags if n == "meta" and a.get("name") == "viewport"]
    assert viewport and "width=device-width" in str(viewport[0].get("content"))
    for section in guide.sections:
        assert section.id in page.ids
    for label in page.tags:
        if label[0] == "input":
            assert label[1].get("type") == "checkbox"


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_html_page_loads_nothing_from_outside(audience: str) -> None:
    html = render_html(_guide(audience))
    page = _parse(html)
    for tag in ("script", "link", "img", "iframe", "object", "embed", "video", "audio", "source"):
        assert page.count(tag) == 0, tag
    assert "@import" not in page.style and "url(" not in page.style
    for name, attrs in page.tags:
        if name != "a":
            assert not any(str(v).startswith(("http:", "https:", "//")) for v in attrs.values()), name


def test_html_colours_have_good_contrast() -> None:
    page = _parse(render_html(_guide("adult")))
    pairs = _colour_pairs(page.style)
    assert len(pairs) >= 6
    for selector, fg, bg in pairs:
        assert _contrast(fg, bg) >= 4.5, f"{selector}: {fg} on {bg}"
    assert "@media" in page.style and "max-width" in page.style


def test_html_red_flags_are_prominent_and_emergency_comes_first() -> None:
    guide = _guide("adult")
    html = render_html(guide)
    main = html[html.index("<main") :]
    # The emergency line stands above the guide, and emergencies lead the warning signs.
    assert html.index(guide.emergency_line) < html.index("<main")
    assert main.index("ts-flags-emergency") < main.index("ts-flags-urgent") < main.index("ts-flags-prompt")
    assert main.index('id="red-flags"') < main.index('id="can-do"')
    assert "ts-red-flags" in html


def test_html_escapes_text() -> None:
    guide = _guide("adult")
    nasty = guide.model_copy(update={"title": "<script>alert(1)</script>"})
    html = render_html(nasty)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_sections_partial_can_start_at_another_heading_level() -> None:
    guide = _guide("pediatric")
    html = render_html_sections(guide, level=3)
    page = _parse(html)
    assert page.count("h1") == 0 and page.count("h2") == 0
    assert min(page.headings) == 3 and max(page.headings) == 4
    assert 'id="red-flags"' in html and "<main" not in html


def test_template_loader_serves_the_partial_to_other_apps() -> None:
    import jinja2

    env = jinja2.Environment(loader=template_loader(), autoescape=True)
    template = env.from_string(
        '{% from "content/guide_sections.html.j2" import emergency_note %}{{ emergency_note(guide) }}'
    )
    guide = _guide("adult")
    assert guide.emergency_line in template.render(guide=guide)
