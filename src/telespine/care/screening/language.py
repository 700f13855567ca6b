"""The "known English words" check: a message the rules cannot read goes to a person."""

from __future__ import annotations

from typing import Any

from telespine.care.screening.rules import ScreeningRules
from telespine.care.screening.terms import english_words


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
    """How many alphabetic words are English words or words of the rules, out of how many.

    English words: spaCy's stop words and pyspellchecker's packaged English word list (about
    160,000 words), so a terse English diary note ("Physio today. New exercises.") reads as
    English; a message in another language has few of them, and the rules cannot read it.
    """
    words = _WORDS.get(id(rules))
    if words is None:
        words = _WORDS.setdefault(id(rules), _rule_words(rules) | english_words())
    alpha = [t for t in doc if t.is_alpha]
    known = [t for t in alpha if t.is_stop or t.lower_ in words or t.norm_ in words]
    return len(known), len(alpha)
