"""The guide schema: strict pydantic models for one condition guide and the source registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from telespine.triage.types import Audience, Disposition

from .emergency import DEFAULT_EMERGENCY_NUMBER, fill_all

# A slug: lowercase words joined by single hyphens (checked by hand: no regex rule languages).
Slug = Annotated[str, Field(min_length=1, max_length=60)]
SourceKey = Annotated[str, Field(min_length=1, max_length=60)]
Text = Annotated[str, Field(min_length=1)]

# The sections every guide has, in reading order, and the kind each one must be. Other parts
# of telespine (the web app, the written plan) link to sections by these ids.
REQUIRED_SECTIONS: dict[str, str] = {
    "summary": "text",
    "red-flags": "red_flags",
    "can-do": "list",
    "cannot-do": "list",
    "what-is-it": "text",
    "how-telemedicine-helps": "list",
    "in-person": "list",
    "prepare": "checklist",
    "after-visit": "list",
    "faqs": "faqs",
    "sources": "sources",
    "disclaimer": "text",
}


def is_slug(value: str) -> bool:
    """True for lowercase ASCII words (letters, digits) joined by single hyphens."""
    parts = value.split("-")
    return all(p and all(c.isascii() and (c.islower() or c.isdigit()) for c in p) for p in parts)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SectionBase(_Strict):
    id: Slug
    title: Text
    sources: list[SourceKey] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_id(self) -> _SectionBase:
        if not is_slug(self.id):
            raise ValueError(f"section id {self.id!r} is not a slug (lowercase words joined by '-')")
        return self


class TextSection(_SectionBase):
    """Paragraphs of prose."""

    kind: Literal["text"]
    paragraphs: list[Text] = Field(min_length=1)


class ListSection(_SectionBase):
    """An optional lead-in sentence and a bulleted list."""

    kind: Literal["list"]
    intro: str = ""
    items: list[Text] = Field(min_length=1)
    outro: str = ""


class ChecklistSection(_SectionBase):
    """A list the reader ticks off (rendered with check boxes where the format allows)."""

    kind: Literal["checklist"]
    intro: str = ""
    items: list[Text] = Field(min_length=1)


class RedFlag(_Strict):
    """A warning sign, the action it calls for, and the triage rule ids it stands for."""

    id: Slug
    text: Text
    action: Disposition
    rules: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> RedFlag:
        if not is_slug(self.id):
            raise ValueError(f"red flag id {self.id!r} is not a slug")
        if self.action is Disposition.TELEMEDICINE:
            raise ValueError(f"red flag {self.id!r}: a red flag cannot call for telemedicine")
        for rule in self.rules:
            prefix, _, name = rule.partition(".")
            if prefix not in ("adult", "child") or not name:
                raise ValueError(f"red flag {self.id!r}: {rule!r} is not an adult.* or child.* rule id")
        return self


class RedFlagsSection(_SectionBase):
    """Warning signs, grouped by the action they call for when rendered."""

    kind: Literal["red_flags"]
    intro: str = ""
    flags: list[RedFlag] = Field(min_length=1)


class Faq(_Strict):
    question: Text
    answer: Text


class FaqSection(_SectionBase):
    kind: Literal["faqs"]
    items: list[Faq] = Field(min_length=1)


class SourcesSection(_SectionBase):
    """The reference list; its `sources` are the keys it lists (resolved from sources.yaml)."""

    kind: Literal["sources"]
    intro: str = ""


Section = Annotated[
    TextSection | ListSection | ChecklistSection | RedFlagsSection | FaqSection | SourcesSection,
    Field(discriminator="kind"),
]


class ActionTexts(_Strict):
    """What the reader is told to do for each disposition, in the guide's own voice."""

    emergency: Text
    urgent: Text
    prompt: Text
    routine: Text
    telemedicine: Text

    def for_(self, disposition: Disposition) -> str:
        """The text for one disposition."""
        text: str = getattr(self, disposition.value)
        return text


class Guide(_Strict):
    """One condition guide for one audience."""

    schema_version: Literal[1]
    condition: Slug
    audience: Audience
    title: Text
    version: Text
    reviewed: Text
    emergency_line: Text
    actions: ActionTexts
    sections: list[Section] = Field(min_length=len(REQUIRED_SECTIONS))
    # The guide as written in its file (texts still holding the emergency-number placeholder);
    # None on that raw guide itself. Lets a filled guide be filled again with another number.
    _raw: Guide | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_sections(self) -> Guide:
        if not is_slug(self.condition):
            raise ValueError(f"condition {self.condition!r} is not a slug")
        seen: set[str] = set()
        for section in self.sections:
            if section.id in seen:
                raise ValueError(f"section id {section.id!r} appears twice")
            seen.add(section.id)
            want = REQUIRED_SECTIONS.get(section.id)
            if want is not None and section.kind != want:
                raise ValueError(f"section {section.id!r} must be of kind {want!r}, not {section.kind!r}")
        missing = [sid for sid in REQUIRED_SECTIONS if sid not in seen]
        if missing:
            raise ValueError(f"missing sections: {', '.join(missing)}")
        flag_ids = [f.id for f in self.red_flags.flags]
        if len(set(flag_ids)) != len(flag_ids):
            raise ValueError("red flag ids must be unique")
        return self

    def filled(self, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> Guide:
        """This guide with every text's emergency-number placeholder replaced by emergency_number."""
        raw = self._raw or self
        guide = Guide.model_validate(fill_all(raw.model_dump(mode="json"), emergency_number))
        guide._raw = raw
        return guide

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Guide:
        """A copy; a changed copy forgets the raw text, so filling it again cannot undo the change."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy._raw = None
        return copy

    def __eq__(self, other: object) -> bool:
        """Guides are equal when their fields are; the remembered raw text does not count."""
        if not isinstance(other, Guide):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = BaseModel.__hash__

    def section(self, section_id: str) -> Section:
        """The section with this id; KeyError when there is none."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    @property
    def red_flags(self) -> RedFlagsSection:
        """The red-flags section (always present)."""
        for section in self.sections:
            if isinstance(section, RedFlagsSection):
                return section
        raise KeyError("red-flags")  # unreachable: the validator requires it

    def cited_sources(self) -> list[str]:
        """Every source key the guide cites, in first-cited order."""
        keys: dict[str, None] = {}
        for section in self.sections:
            keys.update(dict.fromkeys(section.sources))
        return list(keys)


class Source(_Strict):
    """One reference: title, publisher, and url and year where known."""

    title: Text
    publisher: Text
    short: str | None = Field(default=None, min_length=1, max_length=40)  # for "Sources:" lines
    url: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)

    @model_validator(mode="after")
    def _check_url(self) -> Source:
        if self.url is not None and not self.url.startswith("https://"):
            raise ValueError(f"url {self.url!r} must start with https://")
        return self

    @property
    def label(self) -> str:
        """The short name shown under each section that cites this source."""
        return self.short or self.title


class SourceRegistry(_Strict):
    """The document of sources.yaml."""

    version: Text
    sources: dict[SourceKey, Source] = Field(min_length=1)
