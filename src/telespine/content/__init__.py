"""telespine.content: back-pain guides as strict data, their renderers and full-text search."""

from __future__ import annotations

from pathlib import Path

from telespine.triage.types import Audience

from .emergency import DEFAULT_EMERGENCY_NUMBER, EMERGENCY_PLACEHOLDER
from .errors import GuideError, UnknownGuideError
from .loader import GUIDES_DIR, discover, load_guide, load_sources
from .model import Guide, RedFlag, Source
from .render import (
    PAGE_TEMPLATE,
    SECTIONS_TEMPLATE,
    listed_sources,
    references,
    render_html,
    render_html_sections,
    render_json,
    render_markdown,
    render_text,
    template_loader,
    text_renderable,
)
from .safety import EmergencyAdvice, emergency_advice
from .search import SearchHit, search_guides
from .text import patient_text


def list_guides(guides_dir: Path | None = None) -> list[tuple[str, Audience]]:
    """Every (condition, audience) pair that has a guide file, sorted."""
    return discover(guides_dir)


__all__ = [
    "DEFAULT_EMERGENCY_NUMBER",
    "EMERGENCY_PLACEHOLDER",
    "GUIDES_DIR",
    "PAGE_TEMPLATE",
    "SECTIONS_TEMPLATE",
    "EmergencyAdvice",
    "Guide",
    "GuideError",
    "RedFlag",
    "SearchHit",
    "Source",
    "UnknownGuideError",
    "emergency_advice",
    "list_guides",
    "listed_sources",
    "load_guide",
    "load_sources",
    "patient_text",
    "references",
    "render_html",
    "render_html_sections",
    "render_json",
    "render_markdown",
    "render_text",
    "search_guides",
    "template_loader",
    "text_renderable",
]
