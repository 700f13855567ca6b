"""What screening returns: mentions and the Screening of one message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from telespine.care.findings_merge import FindingValue, merge_findings
from telespine.care.screening.rules import IgnoreReason
from telespine.triage.types import Audience


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mention(_Strict):
    """A concept found in the message, with the findings it sets and the text that matched."""

    concept: str
    # red_flag: sets findings and asks for review at once; modifier: sets findings only;
    # review: a body or symptom word the concepts do not read (sets nothing; a person reads it)
    kind: Literal["red_flag", "modifier", "review"]
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

    needs_review is True when any red flag is affirmed, when a body or symptom word is mentioned
    that the concepts do not read (`review`), when screening failed, or when the message is one
    the rules cannot read (status "unrecognised_language"): none of these may read as "no flag".

    safety_net is True only for an affirmed red flag or a failure (status "error"): then the
    person is shown the emergency signs at once and the case is raised. A text that needs review
    only for `review` mentions or its language goes to a person at normal priority.
    """

    status: Literal["ok", "error", "unrecognised_language"]
    audience: Audience
    flags: list[Mention]
    modifiers: list[Mention]
    ignored: list[IgnoredMention]
    rules_version: str
    error: str | None = None
    # Added in rules 2.0.0 (a stored screening without it reads as an empty list)
    review: list[Mention] = []
    # Added in rules 2.4.0: the learned review layer that read the text ("1.0.0+<12 hex of its
    # files' SHA-256>"); None when no model ran (the rules already sent the text to a person,
    # older screenings, failures)
    review_model: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        """A stored screening carries needs_review and safety_net: computed again, not read."""
        if isinstance(data, dict) and ("needs_review" in data or "safety_net" in data):
            data = {k: v for k, v in data.items() if k not in ("needs_review", "safety_net")}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def needs_review(self) -> bool:
        """True when a person must read the message (at normal priority unless safety_net)."""
        return self.status != "ok" or bool(self.flags) or bool(self.review)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def safety_net(self) -> bool:
        """True when the emergency signs must be shown now: a red flag affirmed, or a failure."""
        return self.status == "error" or bool(self.flags)

    def findings_update(self) -> dict[str, FindingValue]:
        """The findings that the affirmed mentions set, merged most-urgent-wins."""
        update: dict[str, Any] = {}
        for mention in [*self.flags, *self.modifiers]:
            update = merge_findings(update, mention.sets)
        return update


def merge_screening(findings: Mapping[str, Any], screening: Screening) -> dict[str, Any]:
    """The findings document with the message's affirmed flags merged in (never less urgent)."""
    return merge_findings(findings, screening.findings_update())
