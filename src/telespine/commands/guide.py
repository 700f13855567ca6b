"""`telespine guide`: show a condition guide in a format, list the guides, or search them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from telespine.content import (
    DEFAULT_EMERGENCY_NUMBER,
    GuideError,
    UnknownGuideError,
    list_guides,
    load_guide,
    render_html,
    render_json,
    render_markdown,
    render_text,
    search_guides,
    text_renderable,
)
from telespine.content.safety import emergency_advice
from telespine.content.search import HIGHLIGHT_END, HIGHLIGHT_START
from telespine.triage.types import Audience

FORMATS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "md": render_markdown,
    "json": render_json,
    "html": render_html,
}
SEARCH_FORMATS = ["text", "json"]
AUDIENCE_CHOICES = ["adult", "pediatric"]


def emergency_number() -> str:
    """The emergency number the guides name: TELESPINE_EMERGENCY_NUMBER, else 911."""
    value = os.environ.get("TELESPINE_EMERGENCY_NUMBER", "").strip()
    return value or DEFAULT_EMERGENCY_NUMBER


def _guides_dir() -> Path | None:
    """An alternative guides folder (TELESPINE_GUIDES_DIR), used by tests and by content authors."""
    value = os.environ.get("TELESPINE_GUIDES_DIR")
    return Path(value) if value else None


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _list(console: Console, guides_dir: Path | None) -> None:
    table = Table(title="Guides")
    table.add_column("condition")
    table.add_column("audience")
    for condition, audience in list_guides(guides_dir):
        table.add_row(condition, audience)
    console.print(table)
    console.print("Show one with: telespine guide CONDITION --audience AUDIENCE --format FORMAT")


def _snippet(snippet: str) -> Text:
    """The snippet with the matched words in bold."""
    text = Text()
    rest = snippet
    while HIGHLIGHT_START in rest:
        before, _, tail = rest.partition(HIGHLIGHT_START)
        word, _, rest = tail.partition(HIGHLIGHT_END)
        text.append(before)
        text.append(word, style="bold")
    text.append(rest)
    return text


def _search(
    console: Console,
    query: str,
    guides_dir: Path | None,
    audience: str | None,
    condition: str | None,
    fmt: str,
) -> None:
    if condition is not None:
        conditions = sorted({c for c, _ in list_guides(guides_dir)})
        if condition not in conditions:
            raise UnknownGuideError("condition", condition, conditions)
    hits = search_guides(
        query,
        guides_dir,
        audience=cast(Audience | None, audience),
        emergency_number=emergency_number(),
        condition=condition,
    )
    if fmt == "json":
        doc = {
            "query": query,
            "condition": condition,
            "audience": audience,
            "hits": [hit.model_dump(mode="json") for hit in hits],
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    if not hits:
        console.print(f"No guide section matches {query!r}.")
        return
    for hit in hits:
        console.print(
            Text(f"{hit.condition} ({hit.audience}) #{hit.section_id}: {hit.section_title}", style="bold")
        )
        console.print(_snippet(hit.snippet))
        console.print()


def guide(
    condition: str | None = typer.Argument(None, help="The condition, e.g. back-pain. Omit to list guides."),
    audience_opt: str | None = typer.Option(
        None, "--audience", "-a", help="adult or pediatric (a guide: default adult; a search: default both)."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text, md, json or html (search: text or json)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead of the screen."),
    search: str | None = typer.Option(
        None, "--search", "-s", help="Search the guides (only CONDITION's, if given) for these words."
    ),
) -> None:
    """Show a back-pain guide, list the guides, or search them."""
    console = Console()
    guides_dir = _guides_dir()
    number = emergency_number()
    audience = audience_opt or "adult"
    try:
        if audience_opt is not None and audience_opt not in AUDIENCE_CHOICES:
            raise _fail(f"unknown audience {audience_opt!r}; choose one of: {', '.join(AUDIENCE_CHOICES)}")
        if search is not None:
            if fmt not in SEARCH_FORMATS:
                raise _fail(f"unknown search format {fmt!r}; choose one of: {', '.join(SEARCH_FORMATS)}")
            _search(console, search, guides_dir, audience_opt, condition, fmt)
            return
        if condition is None:
            _list(console, guides_dir)
            return
        if fmt not in FORMATS:
            raise _fail(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        loaded = load_guide(condition, audience, guides_dir, number)
    except UnknownGuideError as exc:
        raise _fail(str(exc)) from None
    except GuideError as exc:
        # A broken guide must never leave the reader without the emergency advice.
        typer.echo(f"Error: guide data is broken: {exc}", err=True)
        advice = emergency_advice(audience, condition or "back-pain", guides_dir, number)
        typer.echo(advice.line, err=True)
        for sign in advice.signs:
            typer.echo(f"- {sign}", err=True)
        raise typer.Exit(1) from None
    if out is not None:
        try:
            out.write_text(FORMATS[fmt](loaded, emergency_number=number), encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc.strerror or exc}", 1) from None
        console.print(f"Wrote {out}")
    elif fmt == "text":
        console.print(text_renderable(loaded, emergency_number=number))
    else:
        # Machine formats go out verbatim: no Rich markup or wrapping.
        typer.echo(FORMATS[fmt](loaded, emergency_number=number), nl=False)


def register(app: typer.Typer) -> None:
    """Add the `guide` command."""
    app.command("guide")(guide)
