"""Plain text of guide sections, for search and for measuring the reading grade."""

from __future__ import annotations

from .model import (
    ChecklistSection,
    FaqSection,
    Guide,
    ListSection,
    RedFlagsSection,
    Section,
    SourcesSection,
    TextSection,
)


def _sentence(text: str) -> str:
    """End a list item with a full stop so that readability tools count it as a sentence."""
    text = text.strip()
    return text if text.endswith((".", "?", "!", ":")) else text + "."


def section_sentences(guide: Guide, section: Section) -> list[str]:
    """The patient-facing sentences of one section (no source titles: they are not ours)."""
    parts: list[str] = [_sentence(section.title)]
    if isinstance(section, TextSection):
        parts += section.paragraphs
    elif isinstance(section, ListSection):
        parts += [section.intro, *section.items, section.outro]
    elif isinstance(section, ChecklistSection):
        parts += [section.intro, *section.items]
    elif isinstance(section, RedFlagsSection):
        parts.append(section.intro)
        for flag in section.flags:
            parts += [flag.text, guide.actions.for_(flag.action)]
    elif isinstance(section, FaqSection):
        for faq in section.items:
            parts += [faq.question, faq.answer]
    elif isinstance(section, SourcesSection):
        parts.append(section.intro)
    return [_sentence(p) for p in parts if p.strip()]


def section_plain_text(guide: Guide, section: Section) -> str:
    """One section as plain text."""
    return " ".join(section_sentences(guide, section))


def patient_text(guide: Guide) -> str:
    """All the text a patient or parent reads in the guide, as one block."""
    parts = [_sentence(guide.title), _sentence(guide.emergency_line)]
    parts += [section_plain_text(guide, s) for s in guide.sections]
    return " ".join(parts)
