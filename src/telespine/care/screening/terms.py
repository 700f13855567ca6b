"""Matching beyond fixed phrases: spelling, words near each other, and numbers.

Three pipeline steps, all data-driven from screening.yaml:

- spelling: a word that is not English (not in pyspellchecker's packaged word list) and is one
  edit (a letter added, dropped, changed or two swapped) from exactly one word the rules use
  reads as that word ("gorin" as "groin", "numm" as "numb", "temprature" as "temperature");
- near rules: words of every group of a rule within a few tokens of each other in one
  sentence ("her bum feels fuzzy and dead", "can't feel the toilet paper when she wipes");
- numbers: a temperature, a pain score or a child's age with the words around it ("temp
  38.6", "pain 8/10", "my 3 year old").

Each adds spans to the target group, so ConText reads them like any other mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from telespine.care.screening.rules import ScreeningRules

_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@cache
def english_words() -> frozenset[str]:
    """pyspellchecker's packaged English word list (about 160,000 words, lower case)."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en", distance=1).word_frequency.dictionary.keys())


def _edits1(word: str) -> set[str]:
    """Every string one edit from word (Norvig's edits1, with swaps)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _ALPHABET]
    inserts = [a + c + b for a, b in splits for c in _ALPHABET]
    return set(deletes + swaps + replaces + inserts)


def _words_of(texts: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for text in texts:
        words.update(w for w in re.split(r"[^a-z']+", text.lower()) if w)
    return words


def rule_vocabulary(rules: ScreeningRules) -> frozenset[str]:
    """Every word of the concepts' phrases, absent phrases and near rules."""
    texts: list[str] = []
    for concept in rules.concepts:
        texts += concept.phrases + concept.absent_phrases
        for near in concept.near:
            for group in near.groups:
                texts += group
        for number in concept.numbers:
            texts += number.before + number.after
    return frozenset(_words_of(texts))


@dataclass(frozen=True)
class Spelling:
    """Corrections of non-English words to words the rules use (one edit, one candidate)."""

    english: frozenset[str]
    targets: frozenset[str]
    keep: frozenset[str]

    def correct(self, word: str) -> str | None:
        if len(word) < 4 or not word.isalpha() or word in self.english or word in self.keep:
            return None
        found = {w for w in _edits1(word) if w in self.targets}
        if len(found) == 1:
            return found.pop()
        return None


def spelling_for(rules: ScreeningRules) -> Spelling:
    # Only words of 4 letters or more are corrected, and only to rule words of 4 or more
    targets = frozenset(w for w in rule_vocabulary(rules) if len(w) >= 4 and w.isalpha())
    return Spelling(english_words(), targets, frozenset(rules.keep_spelling))


def correct_spelling(doc: Any, spelling: Spelling, cache_: dict[str, str | None]) -> Any:
    """Set the NORM of each misspelled word to the rule word it stands for."""
    for token in doc:
        lower = token.lower_
        if lower != token.norm_ or not token.is_alpha:
            continue  # a tokenizer exception ("cant" -> "can not") already set the norm
        if lower not in cache_:
            if len(cache_) > 50_000:
                cache_.clear()
            cache_[lower] = spelling.correct(lower)
        fixed = cache_[lower]
        if fixed is not None:
            token.norm_ = fixed
    return doc


# Irregular forms people use for the safety layer's words (the suffix rules below cannot undo them)
_IRREGULAR = {
    "fell": "fall",
    "fallen": "fall",
    "falls": "fall",
    "gave": "give",
    "given": "give",
    "went": "go",
    "gone": "go",
    "goes": "go",
    "going": "go",
    "does": "do",
    "doing": "do",
    "did": "do",
    "felt": "feel",
    "lost": "lose",
    "came": "come",
    "threw": "throw",
    "thrown": "throw",
    "hit": "hit",
    "woke": "wake",
    "took": "take",
    "taken": "take",
    "buzzy": "buzz",
    "fizzy": "fizz",
    "feet": "foot",
    "teeth": "tooth",
    "wet": "wet",
    "wetted": "wet",
    "peed": "pee",
    "weed": "wee",
    "pooed": "poo",
    "pooped": "poop",
    "pissed": "piss",
    "shat": "shit",
    "buckled": "buckle",
    "crumpled": "crumple",
    "ran": "run",
    "run": "run",
    "drove": "drive",
    "driven": "drive",
    "flew": "fly",
    "flung": "fling",
    "struck": "strike",
    "knocked": "knock",
    "blacked": "black",
    "passed": "pass",
    "numbness": "numb",
    "numbed": "numb",
    "weakness": "weak",
    "weaker": "weak",
    "weakened": "weak",
    "weakening": "weak",
    "breathless": "breath",
    "breathlessness": "breath",
    "breathing": "breath",
    "breathe": "breath",
    "worse": "worse",
    "legs": "leg",
    "arms": "arm",
    "hands": "hand",
    "toes": "toe",
    "fingers": "finger",
    "knees": "knee",
    "thighs": "thigh",
    "buttocks": "buttock",
    "cheeks": "cheek",
    "bits": "bit",
    "lying": "lie",
    "lay": "lie",
    "dying": "die",
    "tingly": "tingle",
    "tingling": "tingle",
    "tingles": "tingle",
    "tingled": "tingle",
    "prickly": "prickle",
    "prickling": "prickle",
    "fuzzy": "fuzz",
    "dizzy": "dizzy",
    "leaky": "leak",
    "sweaty": "sweat",
    "shaky": "shake",
    "shaking": "shake",
    "wobbly": "wobble",
    "wobbling": "wobble",
    "collapsing": "collapse",
    "unconscious": "unconscious",
    "pulsating": "pulse",
    "pulsing": "pulse",
    "pulsate": "pulse",
    "pulses": "pulse",
    "throbbing": "throb",
    "throbs": "throb",
    "beating": "beat",
}
_SUFFIXES = ("ing", "ed", "s", "es", "ly")  # "comes": "come" before "com"; "crashes": "crash"


@cache
def lemma(word: str) -> str:
    """A word's base form for matching: "tingled" and "tingling" read as "tingle", "fell" as
    "fall", "legs" as "leg". A small table of irregular forms, then common suffixes taken off
    when what is left (or it with an "e", or without a doubled last letter) is an English word.
    Matching only needs the same form for the same word on both sides, not a dictionary lemma."""
    word = word.lower().removesuffix("'s")
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    english = english_words()
    for suffix in _SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        base = word[: -len(suffix)]
        if suffix == "es" and base.endswith("i"):
            candidates = [base[:-1] + "y"]
        else:
            candidates = [base + "e", base] if suffix in ("ing", "ed") else [base]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                candidates.insert(0, base[:-1])  # "dragged" -> "drag", "slipped" -> "slip"
        for candidate in candidates:
            if candidate in _IRREGULAR:
                return _IRREGULAR[candidate]
            if candidate in english and len(candidate) >= 3:
                return candidate
    return word


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    rule: int  # index into _Compiled.rules
    group: int


@dataclass(frozen=True)
class _Rule:
    label: str
    groups: int
    window: int


FRAGMENT_WORDS = 3  # a sentence this short is read with the next one (NearMatcher._sentences)


class NearMatcher:
    """Finds the near rules of every concept in a doc; returns (label, start, end) spans."""

    def __init__(self, rules: ScreeningRules, nlp: Any) -> None:
        self.rules: list[_Rule] = []
        self.first: dict[str, list[_Term]] = {}
        self.first_lemma: dict[str, list[_Term]] = {}  # near rules matched on lemmas
        for concept in rules.concepts:
            for near in concept.near:
                index = len(self.rules)
                self.rules.append(_Rule(concept.id, len(near.groups), near.window))
                table = self.first_lemma if near.lemma else self.first
                for g, group in enumerate(near.groups):
                    for term in group:
                        words = tuple(t.norm_ for t in nlp.make_doc(term.lower()))
                        if near.lemma:
                            words = tuple(lemma(w) for w in words)
                        # keyed by the first two words of a longer term: a common first word
                        # ("not", "i", "the") then costs one look-up, not a comparison per term
                        table.setdefault(" ".join(words[:2]), []).append(_Term(words, index, g))
        self.breaks = frozenset(t.norm_ for b in rules.near_breaks for t in nlp.make_doc(b.lower()))

    def __call__(self, doc: Any) -> list[tuple[str, int, int]]:
        norms = [t.norm_ for t in doc]
        found: dict[int, list[tuple[int, int, int]]] = {}  # rule -> (group, start, end)
        for words, first in ((norms, self.first), (self._lemmas(norms), self.first_lemma)):
            if not first:
                continue
            last = len(words) - 1
            for i, word in enumerate(words):
                terms = first.get(word, ())
                if i < last:
                    longer = first.get(f"{word} {words[i + 1]}")
                    if longer is not None:
                        terms = [*terms, *longer]
                for term in terms:
                    n = len(term.words)
                    if n == 1 or tuple(words[i : i + n]) == term.words:
                        found.setdefault(term.rule, []).append((term.group, i, i + n))
        if not found:
            return []
        sentence_of, joined = self._sentences(doc)
        breaks = [0]
        for i, norm in enumerate(norms):
            breaks.append(breaks[-1] + (norm in self.breaks and i not in joined))
        spans: list[tuple[str, int, int]] = []
        for index, hits in found.items():
            rule = self.rules[index]
            if rule.groups == 1:
                spans += [(rule.label, a, b) for _, a, b in hits]
                continue
            hits.sort(key=lambda h: h[1])
            for k, (group, _, _) in enumerate(hits):
                if group != 0:
                    continue
                span = self._around(hits, k, rule, sentence_of, breaks)
                if span is not None:
                    spans.append((rule.label, *span))
        return spans

    def _sentences(self, doc: Any) -> tuple[list[int], frozenset[int]]:
        """The near rules' sentence of each token, and the full stops they read across.

        A fragment of at most FRAGMENT_WORDS words and no negation ("Tingly.", "Its gone numb.")
        is read with the next sentence, which often names the place ("Down there, the bit you sit
        on."): the rules 2.4.0 join. Its closing full stop then ends no window.
        """
        sentence_of = [0] * len(doc)
        joined: set[int] = set()
        number, previous_short = -1, False
        for sentence in doc.sents:
            if not previous_short:
                number += 1
            sentence_of[sentence.start : sentence.end] = [number] * len(sentence)
            words = [t for t in sentence if not t.is_punct and not t.is_space]
            negated = any(t.norm_ in self.breaks for t in words)
            previous_short = 0 < len(words) <= FRAGMENT_WORDS and not negated
            if previous_short and sentence[-1].is_punct:
                joined.add(sentence.end - 1)
        return sentence_of, frozenset(joined)

    @staticmethod
    def _lemmas(norms: list[str]) -> list[str]:
        return [lemma(n) if n.isalpha() else n for n in norms]

    @staticmethod
    def _around(
        hits: list[tuple[int, int, int]],
        k: int,
        rule: _Rule,
        sentence_of: list[int],
        breaks: list[int],
    ) -> tuple[int, int] | None:
        """The span from the anchor hit k to the nearest hit of every other group, if close."""
        _, a_start, a_end = hits[k]
        lo, hi = a_start, a_end
        for group in range(1, rule.groups):
            best: tuple[int, int, int] | None = None
            for g, start, end in hits:
                if g != group or sentence_of[start] != sentence_of[a_start]:
                    continue
                gap = start - a_end if start >= a_end else a_start - end
                if gap < 0 and start < a_end and a_start < end:
                    gap = 0  # the two words overlap ("can't get" and "get it up")
                    left = right = a_start
                elif gap < 0 or gap > rule.window:
                    continue
                else:
                    left, right = (a_end, start) if start >= a_end else (end, a_start)
                if breaks[right] - breaks[left]:
                    continue
                if best is None or gap < best[0]:
                    best = (gap, start, end)
            if best is None:
                return None
            lo, hi = min(lo, best[1]), max(hi, best[2])
        return lo, hi


_NUMBER = re.compile(r"^(\d{1,3}(?:[.,]\d{1,2})?)([a-z°º/]*\d*[a-z]*)$")


@dataclass(frozen=True)
class _NumberRule:
    label: str
    before: tuple[tuple[str, ...], ...]
    after: tuple[tuple[str, ...], ...]
    within: int
    low: float
    high: float
    not_before: frozenset[str]


class NumberMatcher:
    """Numbers with the words around them: (label, start, end) spans."""

    def __init__(self, rules: ScreeningRules, nlp: Any) -> None:
        def words(terms: list[str]) -> tuple[tuple[str, ...], ...]:
            return tuple(tuple(t.lower_ for t in nlp.make_doc(term.lower())) for term in terms)

        self.rules = [
            _NumberRule(
                c.id, words(n.before), words(n.after), n.within, n.min, n.max, frozenset(n.not_before)
            )
            for c in rules.concepts
            for n in c.numbers
        ]

    def __call__(self, doc: Any) -> list[tuple[str, int, int]]:
        if not self.rules:
            return []
        lowers = [t.lower_ for t in doc]
        spans: list[tuple[str, int, int]] = []
        for i, text in enumerate(lowers):
            if not text[:1].isdigit():
                continue
            match = _NUMBER.match(text)
            if match is None:
                continue
            value = float(match.group(1).replace(",", "."))
            rest = [match.group(2)] if match.group(2) else []
            following = rest + lowers[i + 1 : i + 5]
            for rule in self.rules:
                if not rule.low <= value <= rule.high:
                    continue
                if following and following[0] in rule.not_before:
                    continue
                start, end = i, i + 1
                after = next((a for a in rule.after if tuple(following[: len(a)]) == a), None)
                if after is not None:
                    end = i + 1 + max(0, len(after) - len(rest))
                else:
                    start = self._before(lowers, i, rule)
                    if start < 0:
                        continue
                spans.append((rule.label, start, end))
        return spans

    @staticmethod
    def _before(lowers: list[str], i: int, rule: _NumberRule) -> int:
        for back in range(1, rule.within + 1):
            for words in rule.before:
                j = i - back - len(words) + 1
                if j >= 0 and tuple(lowers[j : j + len(words)]) == words:
                    return j
        return -1
