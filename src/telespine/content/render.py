"""Renderers for a guide: terminal (Rich), Markdown, JSON and a standalone accessible HTML page."""

from __future__ import annotations

import io
import json
from typing import Any

import jinja2
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from telespine.triage.types import Disposition

from .emergency import DEFAULT_EMERGENCY_NUMBER
from .loader import load_sources
from .model import (
    ChecklistSection,
    FaqSection,
    Guide,
    ListSection,
    RedFlag,
    RedFlagsSection,
    Section,
    Source,
    SourcesSection,
    TextSection,
)

# The red-flag groups in the order a reader must see them: the most urgent first.
FLAG_ORDER = [Disposition.EMERGENCY, Disposition.URGENT, Disposition.PROMPT, Disposition.ROUTINE]

# The web app can embed guide sections with these templates (see docs/CONTRACTS.md).
PAGE_TEMPLATE = "content/guide_page.html.j2"
SECTIONS_TEMPLATE = "content/guide_sections.html.j2"


def template_loader() -> jinja2.BaseLoader:
    """A Jinja2 loader for content's templates, which are addressed as 'content/<name>'."""
    return jinja2.PrefixLoader({"content": jinja2.PackageLoader("telespine.content", "templates")})


_ENV = jinja2.Environment(
    loader=template_loader(),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def grouped_flags(section: RedFlagsSection) -> list[tuple[Disposition, list[RedFlag]]]:
    """Red flags grouped by action, most urgent group first, empty groups left out."""
    groups = [(d, [f for f in section.flags if f.action is d]) for d in FLAG_ORDER]
    return [(d, flags) for d, flags in groups if flags]


def references(guide: Guide) -> dict[str, Source]:
    """The full reference of every source key the guide cites."""
    registry = load_sources().sources
    return {key: registry[key] for key in guide.cited_sources()}


def listed_sources(guide: Guide) -> list[Source]:
    """The references of the guide's reference list ('sources' section), in its order."""
    registry = load_sources().sources
    return [registry[k] for k in guide.section("sources").sources]


def listed_keys(guide: Guide) -> list[str]:
    """The source keys of the guide's reference list, in its order."""
    return list(guide.section("sources").sources)


def section_citations(section: Section) -> list[str]:
    """The short names of the sources one section cites ('' for the reference list itself)."""
    if isinstance(section, SourcesSection):
        return []
    registry = load_sources().sources
    return [registry[key].label for key in section.sources]


def citation_line(section: Section) -> str:
    """'Sources: A; B.' under a section, or '' for the reference list itself."""
    labels = section_citations(section)
    return f"Sources: {'; '.join(labels)}." if labels else ""


def format_source(source: Source) -> str:
    """One reference as a line of text, led by the short name the citation lines use."""
    parts = [source.title, source.publisher]
    if source.year:
        parts.append(str(source.year))
    line = ". ".join(parts) + "."
    if source.short:
        line = f"{source.short}: {line}"
    return f"{line} {source.url}" if source.url else line


# --- Markdown -----------------------------------------------------------------------------


def _md_section(guide: Guide, section: Section) -> list[str]:
    out = [f"## {section.title}", ""]
    if isinstance(section, TextSection):
        for para in section.paragraphs:
            out += [para, ""]
    elif isinstance(section, ListSection):
        if section.intro:
            out += [section.intro, ""]
        out += [f"- {item}" for item in section.items] + [""]
        if section.outro:
            out += [section.outro, ""]
    elif isinstance(section, ChecklistSection):
        if section.intro:
            out += [section.intro, ""]
        out += [f"- [ ] {item}" for item in section.items] + [""]
    elif isinstance(section, RedFlagsSection):
        if section.intro:
            out += [section.intro, ""]
        for action, flags in grouped_flags(section):
            out += [f"### {guide.actions.for_(action)}", ""]
            out += [f"- {flag.text}" for flag in flags] + [""]
    elif isinstance(section, FaqSection):
        for faq in section.items:
            out += [f"### {faq.question}", "", faq.answer, ""]
    elif isinstance(section, SourcesSection):
        if section.intro:
            out += [section.intro, ""]
        for src in listed_sources(guide):
            title = f"[{src.title}]({src.url})" if src.url else src.title
            year = f", {src.year}" if src.year else ""
            short = f"**{src.short}**: " if src.short else ""
            out.append(f"- {short}{title}. {src.publisher}{year}.")
        out.append("")
    cite = citation_line(section)
    if cite:
        out += [f"_{cite}_", ""]
    return out


def render_markdown(guide: Guide, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """The guide as Markdown, with the emergency line at the top and the bottom."""
    guide = guide.filled(emergency_number)
    out = [f"# {guide.title}", "", f"> **{guide.emergency_line}**", ""]
    for section in guide.sections:
        out += _md_section(guide, section)
    out += ["---", "", f"**{guide.emergency_line}**", "", f"_Guide version {guide.version}._", ""]
    return "\n".join(out)


# --- JSON ---------------------------------------------------------------------------------


def guide_document(guide: Guide, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> dict[str, Any]:
    """The guide as a JSON-ready dict (each section keeps its `sources`), resolved under `references`."""
    guide = guide.filled(emergency_number)
    doc = guide.model_dump(mode="json")
    refs = references(guide).items()
    doc["references"] = {k: s.model_dump(mode="json", exclude_none=True) for k, s in refs}
    return doc


def render_json(guide: Guide, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """The guide as pretty-printed JSON."""
    return json.dumps(guide_document(guide, emergency_number), indent=2, ensure_ascii=False) + "\n"


# --- HTML ---------------------------------------------------------------------------------


def render_html(guide: Guide, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """A standalone, accessible HTML page with no external resources."""
    guide = guide.filled(emergency_number)
    template = _ENV.get_template(PAGE_TEMPLATE)
    return template.render(guide=guide, listed_sources=listed_sources(guide), references=references(guide))


def render_html_sections(
    guide: Guide, level: int = 2, emergency_number: str = DEFAULT_EMERGENCY_NUMBER
) -> str:
    """Only the guide's sections (headings start at `level`), for embedding in another page."""
    guide = guide.filled(emergency_number)
    template = _ENV.get_template(SECTIONS_TEMPLATE)
    module = template.make_module({})
    macro = getattr(module, "guide_sections")  # noqa: B009 -- Jinja modules are untyped
    return str(macro(guide, listed_sources(guide), level, references(guide)))


# --- Terminal (Rich) ----------------------------------------------------------------------


def _bullets(items: list[str], mark: str = "•") -> Padding:
    text = Text()
    for index, item in enumerate(items):
        if index:
            text.append("\n")
        text.append(f"{mark} ", style="bold")
        text.append(item)
    return Padding(text, (0, 0, 0, 2))


def _rich_section(guide: Guide, section: Section) -> list[RenderableType]:
    out: list[RenderableType] = [Text(""), Text(section.title.upper(), style="bold underline")]
    if isinstance(section, TextSection):
        for para in section.paragraphs:
            out.append(Text(para))
    elif isinstance(section, ListSection):
        if section.intro:
            out.append(Text(section.intro))
        out.append(_bullets(section.items))
        if section.outro:
            out.append(Text(section.outro))
    elif isinstance(section, ChecklistSection):
        if section.intro:
            out.append(Text(section.intro))
        out.append(_bullets(section.items, "[ ]"))
    elif isinstance(section, RedFlagsSection):
        if section.intro:
            out.append(Text(section.intro))
        for action, flags in grouped_flags(section):
            style = "bold red" if action is Disposition.EMERGENCY else "bold yellow"
            # The action goes inside the panel, not in its title: Rich cuts long titles short.
            body = Group(Text(guide.actions.for_(action), style=style), _bullets([f.text for f in flags]))
            out.append(Panel(body, border_style=style))
    elif isinstance(section, FaqSection):
        for faq in section.items:
            out += [Text(faq.question, style="bold"), Padding(Text(faq.answer), (0, 0, 0, 2))]
    elif isinstance(section, SourcesSection):
        if section.intro:
            out.append(Text(section.intro))
        out.append(_bullets([format_source(s) for s in listed_sources(guide)]))
    cite = citation_line(section)
    if cite:
        out.append(Text(cite, style="dim italic"))
    return out


def text_renderable(guide: Guide, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> RenderableType:
    """The guide as a Rich renderable, for printing to a terminal."""
    guide = guide.filled(emergency_number)
    emergency = Panel(Text(guide.emergency_line, style="bold"), border_style="bold red", title="Emergency")
    parts: list[RenderableType] = [Text(guide.title, style="bold"), emergency]
    for section in guide.sections:
        parts += _rich_section(guide, section)
    parts += [Text(""), emergency, Text(f"Guide version {guide.version}.", style="dim")]
    return Group(*parts)


def render_text(guide: Guide, width: int = 88, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """The guide as plain terminal text (no colour codes)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    console.print(text_renderable(guide, emergency_number))
    return buffer.getvalue()
