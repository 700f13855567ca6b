"""What screening returns: mentions and the Screening of one message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from telespine.care.findings_merge import FindingValue, merge_findings
from telespine.care.screening.rules import IgnoreReason
from telespine.triage.types import Audience


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mention(_Strict):
    """A concept found in the message, with the findings it sets and the text that matched."""

    concept: str
    kind: Literal["red_flag", "modifier"]
    sets: dict[str, bool | str]
    text: str
    start: int
    end: int
    uncertain: bool = False


class IgnoredMention(Mention):
    """A mention that does not count, and why (negated, hypothetical, historical, family)."""

    reasons: list[IgnoreReason]


class Screening(_Strict):
    """The result of screening one message.

    needs_review is True when any red flag is affirmed, when screening failed, or when the message
    is mostly not English (status "unrecognised_language"): neither may read as "no flag".
    """

    status: Literal["ok", "error", "unrecognised_language"]
    audience: Audience
    flags: list[Mention]
    modifiers: list[Mention]
    ignored: list[IgnoredMention]
    rules_version: str
    error: str | None = None

    @property
    def needs_review(self) -> bool:
        """True when a clinician must look at the message."""
        return self.status != "ok" or bool(self.flags)

    def findings_update(self) -> dict[str, FindingValue]:
        """The findings that the affirmed mentions set, merged most-urgent-wins."""
        update: dict[str, Any] = {}
        for mention in [*self.flags, *self.modifiers]:
            update = merge_findings(update, mention.sets)
        return update


def merge_screening(findings: Mapping[str, Any], screening: Screening) -> dict[str, Any]:
    """The findings document with the message's affirmed flags merged in (never less urgent)."""
    return merge_findings(findings, screening.findings_update())
