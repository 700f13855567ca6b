"""The "known English words" check: a message the rules cannot read goes to a person."""

from __future__ import annotations

from typing import Any

from telespine.care.screening.rules import ScreeningRules


def _rule_words(rules: ScreeningRules) -> frozenset[str]:
    """Every word the rules use (phrases and context triggers), lower-case."""
    words: set[str] = set()
    texts = [spec.literal for spec in rules.context]
    for concept in rules.concepts:
        texts += concept.phrases + concept.absent_phrases
    for text in texts:
        words.update(w.strip("'") for w in text.lower().split())
    return frozenset(words)


_WORDS: dict[int, frozenset[str]] = {}


def _known_share(doc: Any, rules: ScreeningRules) -> tuple[int, int]:
    """How many alphabetic words are English stop words or words of the rules, out of how many.

    A plain English message is full of stop words ("I", "my", "the", "and", "can"); a message in
    another language has almost none, and the phrase rules cannot read it.
    """
    words = _WORDS.get(id(rules))
    if words is None:
        words = _WORDS.setdefault(id(rules), _rule_words(rules))
    alpha = [t for t in doc if t.is_alpha]
    known = [t for t in alpha if t.is_stop or t.lower_ in words or t.norm_ in words]
    return len(known), len(alpha)
