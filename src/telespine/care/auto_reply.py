"""The automatic reply to a patient's or parent's message, as data with a strict loader.

Pure: the caller screens the message, passes the audience and the emergency signs, and stores
the reply. Every reply says that messages are not read in real time and gives the emergency
signs and the configured emergency number. When the message mentions a body symptom, or
screening could not be sure (a hedged mention, a failure), the reply offers the one-minute
structured red-flag check (the diary's questions), whose answers go through the triage engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from telespine.care.screening import Screening
from telespine.triage.emergency import hard_coded_number, with_emergency_number
from telespine.triage.types import Audience


class AutoReplyError(ValueError):
    """The reply data is broken (the caller still stores a built-in reply)."""


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice (safe_load silently keeps the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise AutoReplyError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voiced(_Strict):
    """A text for an adult about themself and for a parent about their child."""

    adult: str = Field(min_length=1)
    pediatric: str = Field(min_length=1)

    @field_validator("adult", "pediatric")
    @classmethod
    def _no_number(cls, value: str) -> str:
        if (number := hard_coded_number(value)) is not None:
            raise ValueError(f"write {{emergency_number}}, not {number}")
        return value

    def for_(self, audience: str, emergency_number: str = "911") -> str:
        text = self.pediatric if audience == "pediatric" else self.adult
        return with_emergency_number(text, emergency_number)


class AutoReplyTexts(_Strict):
    version: str
    reviewed: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    sources: list[str] = Field(min_length=1)
    received: Voiced
    emergency: Voiced
    flagged: Voiced
    check_offer: Voiced
    body_words: list[str] = Field(min_length=1)

    @field_validator("body_words")
    @classmethod
    def _words(cls, words: list[str]) -> list[str]:
        for word in words:
            if not re.fullmatch(r"[a-z]+\*?", word):
                raise ValueError(f"a body word is lower-case letters with an optional final *: {word!r}")
        if len(set(words)) != len(words):
            raise ValueError("a body word is listed twice")
        return words

    def mentions_body(self, text: str) -> bool:
        return _body_pattern(tuple(self.body_words)).search(text.lower()) is not None


@cache
def _body_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    parts = [re.escape(w[:-1]) + r"[a-z]*" if w.endswith("*") else re.escape(w) for w in words]
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


def parse_auto_reply(text: str) -> AutoReplyTexts:
    """Strictly parse reply data (duplicate keys, unknown keys or a written-out number refused)."""
    try:
        doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
        return AutoReplyTexts.model_validate(doc)
    except AutoReplyError:
        raise
    except Exception as exc:
        raise AutoReplyError(str(exc)) from None


@cache
def load_auto_reply() -> AutoReplyTexts:
    """The packaged reply texts (cached)."""
    data = resources.files("telespine.care").joinpath("data/auto_reply.yaml").read_text(encoding="utf-8")
    return parse_auto_reply(data)


@dataclass(frozen=True)
class AutoReply:
    body: str
    offers_check: bool
    flagged: bool


def shows_safety_net(screening: Screening) -> bool:
    """A red flag affirmed or a failure: the emergency signs are shown at once, the case raised.

    Screening results that predate `safety_net` fall back to needs_review (the safer reading).
    """
    return bool(getattr(screening, "safety_net", screening.needs_review))


def offers_check(text: str, screening: Screening | None, texts: AutoReplyTexts | None = None) -> bool:
    """True when the message mentions a body symptom or screening was unsure.

    Unsure: screening failed or could not read the language, or a mention was hedged. A red flag
    found by screening is a body symptom too. Any doubt offers the check (it costs a minute).
    """
    if screening is None or screening.status != "ok":
        return True
    if screening.flags or screening.ignored or list(getattr(screening, "review", [])):
        return True
    return (texts or load_auto_reply()).mentions_body(text)


def compose_reply(
    text: str,
    screening: Screening | None,
    audience: Audience | str,
    signs: Sequence[str],
    emergency_number: str = "911",
    texts: AutoReplyTexts | None = None,
) -> AutoReply:
    """The reply to store under a patient's message. screening None means it failed."""
    t = texts or load_auto_reply()
    flagged = screening is None or shows_safety_net(screening)
    offer = offers_check(text, screening, t)
    lines = [t.received.for_(audience, emergency_number)]
    if flagged:
        lines.append(t.flagged.for_(audience, emergency_number))
    lines.append(t.emergency.for_(audience, emergency_number))
    lines.extend(f"- {sign}" for sign in signs)
    if offer:
        lines.append(t.check_offer.for_(audience, emergency_number))
    return AutoReply(body="\n".join(lines), offers_check=offer, flagged=flagged)


def fallback_reply(audience: str, emergency_number: str = "911") -> AutoReply:
    """A built-in reply for when the data cannot load: the emergency number, and the check."""
    who = "your child has" if audience == "pediatric" else "you have"
    body = (
        "We got your message. Messages are not read in real time. "
        f"If {who} a warning sign or feel very unwell, call {emergency_number} now."
    )
    return AutoReply(body=body, offers_check=True, flagged=True)
