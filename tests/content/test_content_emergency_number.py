"""S7: one configured emergency number everywhere; the data only holds the {emergency_number} placeholder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from telespine.content import (
    EMERGENCY_PLACEHOLDER,
    emergency_advice,
    list_guides,
    load_guide,
    render_html,
    render_html_sections,
    render_json,
    render_markdown,
    render_text,
    search_guides,
)
from telespine.content.loader import PACKAGE_DIR, load_guide_file

NUMBERS = {"911", "999", "112", "111", "000"}
GUIDES = list_guides()
RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "md": render_markdown,
    "json": render_json,
    "html": render_html,
    "sections": render_html_sections,
}


def _numbers_in(text: str) -> set[str]:
    """Emergency numbers written as whole words (the placeholder and keys such as seed-000 are not)."""
    text = text.replace(EMERGENCY_PLACEHOLDER, " ")
    cleaned = "".join(ch if ch.isalnum() or ch == "-" else " " for ch in text)
    return NUMBERS & set(cleaned.split())


def test_no_data_file_writes_out_an_emergency_number() -> None:
    files = sorted([*PACKAGE_DIR.rglob("*.yaml"), *PACKAGE_DIR.rglob("*.j2"), PACKAGE_DIR / "safety.py"])
    assert len(files) >= 6
    for path in files:
        found = _numbers_in(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name} names {found}; use {EMERGENCY_PLACEHOLDER}"


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_the_guides_name_the_number_through_the_placeholder(condition: str, audience: str) -> None:
    raw = load_guide_file(PACKAGE_DIR / "guides" / f"{condition}.{audience}.yaml")
    assert EMERGENCY_PLACEHOLDER in raw.emergency_line
    assert EMERGENCY_PLACEHOLDER in raw.actions.emergency


@pytest.mark.parametrize("fmt", list(RENDERERS))
@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_every_renderer_uses_only_the_configured_number(fmt: str, audience: str) -> None:
    guide = load_guide("back-pain", audience)  # filled with the default number
    out = RENDERERS[fmt](guide, emergency_number="000")
    assert "call 000" in out
    assert _numbers_in(out) == {"000"}, f"{fmt} shows {_numbers_in(out)}"
    assert "emergency_number" not in out
    default = RENDERERS[fmt](guide)
    assert "call 911" in default and _numbers_in(default) == {"911"}


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_loaded_guides_never_show_the_placeholder(audience: str) -> None:
    guide = load_guide("back-pain", audience)
    assert "call 911" in guide.emergency_line and EMERGENCY_PLACEHOLDER not in guide.model_dump_json()
    other = load_guide("back-pain", audience, emergency_number="000")
    assert "call 000" in other.emergency_line and "000" in other.actions.emergency
    assert guide.filled("112").emergency_line == guide.emergency_line.replace("911", "112")


def test_a_changed_copy_keeps_its_change_when_filled_again() -> None:
    guide = load_guide("back-pain", "adult")
    changed = guide.model_copy(update={"title": "Changed"})
    assert changed.filled("000").title == "Changed"
    assert changed.filled("000") == changed  # already filled: nothing left to replace


def test_braces_in_a_number_cannot_break_the_text() -> None:
    out = render_markdown(load_guide("back-pain", "adult"), emergency_number="{0} {x}")
    assert "call {0} {x}" in out


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_emergency_advice_uses_the_number_from_the_guide_and_in_the_fallback(
    audience: str, tmp_path: Path
) -> None:
    advice = emergency_advice(audience, emergency_number="000")
    assert advice.from_guide and "call 000" in advice.line and _numbers_in(advice.line) == {"000"}
    fallback = emergency_advice(audience, guides_dir=tmp_path, emergency_number="000")
    assert not fallback.from_guide and "call 000" in fallback.line
    assert _numbers_in(" ".join([fallback.line, *fallback.signs])) == {"000"}
    if audience == "pediatric":
        assert "your child" in fallback.line and all("child" in s.lower() for s in fallback.signs)


def test_search_snippets_use_the_number() -> None:
    hits = search_guides("emergency department call", emergency_number="000")
    assert hits and not any(_numbers_in(h.snippet) - {"000"} for h in hits)


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_cli_reads_the_number_from_the_environment(
    guide_app: typer.Typer, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setenv("TELESPINE_EMERGENCY_NUMBER", "000")
    result = CliRunner().invoke(guide_app, ["guide", "back-pain", "-a", "pediatric", "-f", fmt])
    assert result.exit_code == 0
    assert "call 000" in result.stdout and _numbers_in(result.stdout) == {"000"}
    monkeypatch.delenv("TELESPINE_EMERGENCY_NUMBER")
    result = CliRunner().invoke(guide_app, ["guide", "back-pain", "-f", fmt])
    assert "call 911" in result.stdout and _numbers_in(result.stdout) == {"911"}
