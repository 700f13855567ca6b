"""The medspaCy pipeline: sentences (line breaks too), the target matcher and ConText."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from telespine.care.screening.context import (
    _LINE_STARTS,
    SAFETY_LABELS,
    WRITER_WORDS,
    _apply_modifiers_by_sentence,
    _update_scopes_by_sentence,
)
from telespine.care.screening.learned import ReviewModel, load_review_model
from telespine.care.screening.rules import _ALL_CATEGORIES, ScreeningRules, load_screening_rules
from telespine.care.screening.terms import NearMatcher, NumberMatcher, correct_spelling, spelling_for

_GROUP = "telespine_targets"
EVERYDAY = "telespine_everyday"  # spans of everyday idioms (ScreeningRules.everyday_phrases)
EXPLAINED = "telespine_explained"  # spans of explanations (ScreeningRules.explanations), label: index
# Characters that end a sentence (spaCy's sentencizer); a line break ends one too (see below)
_SENTENCE_ENDS = [".", "!", "?", "\u2026", ";", "\u3002", "\uff01", "\uff1f"]


@dataclass(frozen=True)
class Pipeline:
    """A loaded spaCy/medspaCy pipeline with the rules it was built from."""

    nlp: Any
    rules: ScreeningRules
    review: ReviewModel | None = None  # the learned review layer (rules 2.4.0), if the rules name one


_LINE_BREAK_COMPONENT = "telespine_line_break_sentences"


def _split_at_line_breaks(doc: Any) -> Any:
    """The doc with a sentence starting after every line break, the break read as a space.

    The normalised text has single line breaks between words. Each becomes the trailing space of
    the word before it (same length, so every offset stays), so a phrase wrapped over two lines
    ("numb down<line break>there") is still one phrase, and the next word starts a sentence.
    """
    from spacy.tokens import Doc

    if not any(t.is_space and "\n" in t.text for t in doc):
        return doc
    words: list[str] = []
    spaces: list[bool] = []
    starts: list[bool | int | None] = []
    norms: list[str] = []
    breaks: list[int] = []  # tokens that start a line
    after_break = False
    for token in doc:
        if token.is_space and "\n" in token.text:
            after_break = True
            if token.text == "\n" and words and not spaces[-1]:
                spaces[-1] = True
                continue
        words.append(token.text)
        spaces.append(bool(token.whitespace_))
        norms.append(token.norm_)
        if token.is_space:
            starts.append(not words[:-1])
            continue
        if after_break and not token.is_sent_start:
            breaks.append(len(words) - 1)  # a line break where no full stop ended the sentence
        starts.append(after_break or bool(token.is_sent_start) or len(words) == 1)
        after_break = False
    new = Doc(doc.vocab, words=words, spaces=spaces, sent_starts=starts)
    if new.text.replace(" ", "\n") != doc.text.replace(" ", "\n"):
        raise ValueError("line breaks: the text changed")  # never: screening then fails safe
    for token, norm in zip(new, norms, strict=True):
        token.norm_ = norm
    new.user_data[_LINE_STARTS] = frozenset(breaks)
    return new


def build_pipeline(rules: ScreeningRules) -> Pipeline:
    """Build a medspaCy pipeline (sentence splitter, target matcher, ConText) from rules."""
    import medspacy
    from medspacy.context import ConTextGraph, ConTextRule

    ConTextGraph.update_scopes = _update_scopes_by_sentence
    # medspaCy's tuple_overlaps misses a span that lies wholly inside the other; in limit_scope
    # that let a backward scope, once its start had moved past a first terminator, reach past
    # every later comma or "I" ("I wet myself this morning, the pain has gone" read the wetting
    # as gone; rules 2.4.2, the second review). Screening uses a symmetric overlap.
    from medspacy.context import context_modifier

    context_modifier.tuple_overlaps = spans_overlap
    ConTextGraph.apply_modifiers = _apply_modifiers_by_sentence
    # Sentences: spaCy's rule-based sentencizer (a sentence ends after . ! ? and the like).
    # PyRuSH, medspaCy's default, is built for clinical notes and took 0.7 s of the 1 s that a
    # 4,000-character message cost; patients' messages need only the plain punctuation rule.
    import spacy
    from medspacy.target_matcher import TargetRule

    nlp: Any = spacy.blank("en")
    assert medspacy  # imported for its pipeline factories (target matcher, ConText)
    nlp.add_pipe("sentencizer", config={"punct_chars": _SENTENCE_ENDS})
    from spacy.language import Language
    from spacy.symbols import NORM, ORTH

    # A line break ends a sentence, so it ends every ConText scope (the scope is the sentence):
    # "No fever<line break>I wet myself" affirms the second line. The sentencizer alone does not split
    # there, and patients type line breaks without full stops.
    if not Language.has_factory(_LINE_BREAK_COMPONENT):
        Language.component(_LINE_BREAK_COMPONENT, func=_split_at_line_breaks)
    nlp.add_pipe(_LINE_BREAK_COMPONENT, after="sentencizer")

    # A word that is not English and one edit from a rule word reads as that word ("gorin").
    speller = spelling_for(rules)
    corrections: dict[str, str | None] = {}
    spelling_name = f"telespine_spelling_{id(rules)}"
    Language.component(spelling_name, func=lambda doc: correct_spelling(doc, speller, corrections))
    nlp.add_pipe(spelling_name, after=_LINE_BREAK_COMPONENT)

    # "cnt" and "carnt" tokenise like "cant" ("ca" + "nt", NORM "can" + "not"), so every phrase
    # written with "can't" also matches them.
    for spelling in rules.spellings:
        nlp.tokenizer.add_special_case(spelling.text, [{ORTH: t.orth, NORM: t.norm} for t in spelling.tokens])
    # NORM folds "can't", "cannot" and "cant" to "can not", so one phrase covers all spellings.
    # Overlapping matches are all kept (a span group, not doc.ents): "my leg went weak suddenly"
    # is both a weak leg and a sudden one, and the merge then keeps the more urgent finding.
    matcher = nlp.add_pipe(
        "medspacy_target_matcher",
        config={
            "phrase_matcher_attr": "NORM",
            "result_type": "group",
            "span_group_name": _GROUP,
            "prune": False,
        },
    )
    targets = []
    for concept in rules.concepts:
        targets += [TargetRule(phrase, concept.id) for phrase in concept.phrases]
        targets += [TargetRule(phrase, concept.id + _ABSENT) for phrase in concept.absent_phrases]
        for n, pattern in enumerate(concept.patterns):
            wordings = _wordings(pattern)
            if wordings is None:
                targets += [
                    TargetRule(f"{concept.id}#{n}", concept.id, pattern=part)
                    for part in _split_first(pattern)
                ]
            else:  # the same matches, looked up by hash (see _wordings)
                targets += [TargetRule(phrase, concept.id) for phrase in wordings]
    matcher.add(targets)

    # Everyday idioms that use a symptom's words ("weak at the knees"): their own span group,
    # read after ConText (screen.py ignores a mention that overlaps one)
    if rules.everyday_phrases:
        from spacy.matcher import PhraseMatcher

        idioms = PhraseMatcher(nlp.vocab, attr="NORM")
        idioms.add("everyday", [nlp.make_doc(p.lower()) for p in rules.everyday_phrases])

        def add_everyday(doc: Any) -> Any:
            doc.spans[EVERYDAY] = [doc[a:b] for _, a, b in idioms(doc)]
            return doc

        everyday_name = f"telespine_everyday_{id(rules)}"
        Language.component(everyday_name, func=add_everyday)
        nlp.add_pipe(everyday_name, after="medspacy_target_matcher")

    # Explanations later in a sentence ("then fine once I walked about", "36.8"): their own span
    # group, labelled with the explanation's index, read after ConText (screen.py)
    if rules.explanations:
        from spacy.matcher import PhraseMatcher

        explained = PhraseMatcher(nlp.vocab, attr="NORM")
        ranges: list[tuple[str, float, float]] = []
        for n, explanation in enumerate(rules.explanations):
            if explanation.phrases:
                explained.add(str(n), [nlp.make_doc(p.lower()) for p in explanation.phrases])
            if explanation.numbers is not None:
                ranges.append((str(n), explanation.numbers[0], explanation.numbers[1]))

        def add_explained(doc: Any) -> Any:
            from spacy.tokens import Span

            spans = [Span(doc, a, b, label=m) for m, a, b in explained(doc)]
            for token in doc if ranges else ():
                if _FIGURE.match(token.text):
                    value = float(token.text.replace(",", "."))
                    spans += [
                        Span(doc, token.i, token.i + 1, label=n) for n, lo, hi in ranges if lo <= value <= hi
                    ]
            doc.spans[EXPLAINED] = spans
            return doc

        explained_name = f"telespine_explained_{id(rules)}"
        Language.component(explained_name, func=add_explained)
        nlp.add_pipe(explained_name, after="medspacy_target_matcher")

    # Near rules and numbers add their spans to the same group, before ConText reads it.
    near, numbers = NearMatcher(rules, nlp), NumberMatcher(rules, nlp)
    safety = frozenset(c.id for c in rules.concepts if c.safety)
    writer = frozenset(rules.family_not_over)

    def add_terms(doc: Any) -> Any:
        from spacy.tokens import Span

        doc.user_data[SAFETY_LABELS] = safety
        doc.user_data[WRITER_WORDS] = writer
        found = near(doc) + numbers(doc)
        if found:
            group = doc.spans[_GROUP]
            for label, start, end in found:
                group.append(Span(doc, start, end, label=label))
        return doc

    terms_name = f"telespine_terms_{id(rules)}"
    Language.component(terms_name, func=add_terms)
    nlp.add_pipe(terms_name, after="medspacy_target_matcher")

    context = nlp.add_pipe(
        "medspacy_context",
        config={
            "rules": None,
            "prune_on_target_overlap": True,
            "phrase_matcher_attr": "NORM",
            "input_span_type": "group",
            "span_group_name": _GROUP,
        },
    )
    defaults_path = context.DEFAULT_RULES_FILEPATH  # medspaCy's own rule file for the language
    keep = set(rules.default_context.keep_categories)
    drop = set(rules.default_context.drop_literals)
    # A default terminator on a word the rules' own terminators list ("but": medspaCy ends only
    # negation there) would sit on the same span as ours, and one of two triggers on a span is
    # pruned: which one survived depended on the order of the whole rule list, so deleting an
    # unrelated trigger once turned "but" from an end of every scope into an end of negation only
    # (rules 2.5.0). The rules' own terminators decide these words.
    own_ends = {literal.lower() for terminator in rules.terminators for literal in terminator.literals}
    context_rules = [
        rule
        for rule in ConTextRule.from_json(str(defaults_path))
        if rule.category in keep
        and rule.literal not in drop
        and not (rule.direction == "TERMINATE" and rule.literal.lower() in own_ends)
    ]
    for rule in context_rules:
        _accept_nt(rule.pattern)
    context_rules = [phrase for rule in context_rules for phrase in _as_phrases(rule, ConTextRule)]
    for spec in rules.context:
        context_rules.append(
            ConTextRule(
                spec.literal,
                spec.category,
                pattern=spec.pattern,
                direction=spec.direction,
                metadata={"audiences": spec.audiences, "not_before_word": spec.not_before_word},
                allowed_types=set(spec.allowed_types) if spec.allowed_types is not None else None,
            )
        )
    # medspaCy's TERMINATE direction ends the scope of every category. A terminator for only some
    # categories is a PSEUDO trigger (it modifies nothing) of its own category, listed in the
    # terminated_by set of the rules it ends. One rule per word: two triggers on the same span
    # would be pruned down to one.
    ends: dict[str, set[str]] = {}
    for terminator in rules.terminators:
        for literal in terminator.literals:
            ends.setdefault(literal, set()).update(terminator.ends)
    names: dict[frozenset[str], str] = {}
    for literal, ended in ends.items():
        if ended == set(_ALL_CATEGORIES):
            context_rules.append(ConTextRule(literal, "TERMINATE", direction="TERMINATE"))
            continue
        name = names.setdefault(frozenset(ended), f"END_{len(names)}")
        context_rules.append(ConTextRule(literal, name, direction="PSEUDO"))
    limit = rules.default_context.negation_max_targets
    for rule in context_rules:
        if rule.category == "NEGATED_EXISTENCE" and limit is not None and not rule.allowed_types:
            rule.max_targets = limit  # "no fever my bum is numb": "no" reaches "fever" only
        for ended_set, name in names.items():
            if rule.category in ended_set:
                rule.terminated_by.add(name)
    context.add(context_rules)
    context._ConText__matcher = _SentencesWithTargets(context._ConText__matcher)
    review = load_review_model(rules.review_model) if rules.review_model is not None else None
    return Pipeline(nlp, rules, review)


def _accept_nt(pattern: Any) -> None:
    """Let a default pattern that matches "n't" match "nt" too ("dont", "isnt", "wasnt").

    spaCy splits "dont" into "do" + "nt" (NORM "not"), but medspaCy's default rules match on
    LOWER and list only "not" and "n't": "I dont have a fever" was read as a fever.
    """
    for token in pattern or []:
        for attr in ("LOWER", "NORM"):
            value = token.get(attr)
            if isinstance(value, dict) and "n't" in value.get("IN", []) and "nt" not in value["IN"]:
                value["IN"] = [*value["IN"], "nt"]


_PLAIN_ATTRS = ("LOWER", "NORM", "ORTH", "TEXT")
_FIGURE = re.compile(r"^\d{2,3}[.,]\d{1,2}$")  # a figure with a decimal point: "36.8", "98,6"


def _wordings(pattern: Any, limit: int = 5000) -> list[str] | None:
    """Every wording of a pattern that only lists words, or None for any other pattern.

    spaCy's Matcher checks each "IN" list in Python for every token, which was half the time of
    a long message; the PhraseMatcher looks phrases up by hash. [{"LOWER": {"IN": ["no",
    "nope"]}}, {"LOWER": "new", "OP": "?"}] gives "no", "nope", "no new", "nope new". Phrases
    match on NORM, which reads "n't" and "nt" as "not" as the patterns did. A pattern with
    punctuation, regular expressions, other operators or too many wordings gives None.
    """
    if not isinstance(pattern, list) or not pattern:
        return None
    options: list[list[str]] = []
    for token in pattern:
        keys = set(token) - {"OP"}
        if len(keys) != 1 or token.get("OP", "?") != "?":
            return None
        key = keys.pop()
        if key not in _PLAIN_ATTRS:
            return None
        value = token[key]
        if isinstance(value, str):
            words = [value]
        elif (
            isinstance(value, dict) and set(value) == {"IN"} and all(isinstance(v, str) for v in value["IN"])
        ):
            words = list(value["IN"])
        else:
            return None
        if not all(w and " " not in w and w.replace("'", "").replace("-", "").isalnum() for w in words):
            return None
        options.append([*words, ""] if token.get("OP") == "?" else words)
    phrases = [""]
    for words in options:
        phrases = [f"{p} {w}".strip() for p in phrases for w in words]
        if len(phrases) > limit:
            return None
    return [p for p in dict.fromkeys(phrases) if p]


def _split_first(pattern: Any) -> list[Any]:
    """A pattern whose first token lists words, as one pattern per first word.

    The Matcher tries every pattern at every token; a first token {"LOWER": "numb"} is a plain
    comparison, {"LOWER": {"IN": [...]}} a Python call per token. The matches are the same.
    """
    if not isinstance(pattern, list) or not pattern:
        return [pattern]
    first = pattern[0]
    keys = set(first)
    if len(keys) != 1:
        return [pattern]
    key = keys.pop()
    value = first[key]
    if key not in _PLAIN_ATTRS or not isinstance(value, dict) or set(value) != {"IN"}:
        return [pattern]
    words = value["IN"]
    if not all(isinstance(w, str) for w in words) or len(words) > 60:
        return [pattern]
    return [[{key: w}, *pattern[1:]] for w in words]


def _as_phrases(rule: Any, rule_type: Any) -> list[Any]:
    """A ConText rule whose pattern only lists words, as one phrase rule per wording."""
    wordings = _wordings(rule.pattern)
    if wordings is None:
        patterns = _split_first(rule.pattern)
        if len(patterns) == 1:
            return [rule]
        return [
            rule_type(
                rule.literal,
                rule.category,
                pattern=pattern,
                direction=rule.direction,
                on_match=rule.on_match,
                on_modifies=rule.on_modifies,
                allowed_types=rule.allowed_types,
                excluded_types=rule.excluded_types,
                max_scope=rule.max_scope,
                max_targets=rule.max_targets,
                terminated_by=set(rule.terminated_by or ()),
                metadata=rule.metadata,
            )
            for pattern in patterns
        ]
    return [
        rule_type(
            phrase,
            rule.category,
            direction=rule.direction,
            on_match=rule.on_match,
            on_modifies=rule.on_modifies,
            allowed_types=rule.allowed_types,
            excluded_types=rule.excluded_types,
            max_scope=rule.max_scope,
            max_targets=rule.max_targets,
            terminated_by=set(rule.terminated_by or ()),
            metadata=rule.metadata,
        )
        for phrase in wordings
    ]


# what ends a checklist label ("Fever: no", "Numb - no", "Pain = 2")
_ITEM_SEPARATORS = frozenset({":", "-", "–", "—", "=", "?"})


class _SentencesWithTargets:
    """ConText's trigger matcher run only on the sentences that hold a target.

    A trigger reaches only targets of its own sentence (see context.py), and a hedge on the lines
    just before a mention's sentence (joined by line breaks) is read too, so those lines are
    matched as well. Everything else cannot change a result; skipping it halves the time of a
    long message. Matches come back with offsets in the whole doc.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.rule_map = inner.rule_map
        # the inner matcher keeps the longest of overlapping triggers; that is done here, after
        # dropping not_before_word matches, so "Mon: no fever" keeps its shorter "no"
        self.prune = bool(inner._prune)
        inner._prune = False

    @property
    def rules(self) -> Any:
        return self.inner.rules

    def __call__(self, doc: Any) -> list[tuple[int, int, int]]:
        return self._matches(doc)

    def _inner(self, doc: Any, keep: list[bool] | None = None) -> list[tuple[int, int, int]]:
        """The inner matcher's triggers on doc (those starting where keep is True), less the
        not_before_word ones followed by a word, then pruned as the inner matcher would."""
        matches = [
            m for m in self.inner(doc) if (keep is None or keep[m[1]]) and not self._before_word(doc, m)
        ]
        return _prune_longest(matches) if self.prune else matches

    def _before_word(self, doc: Any, match: tuple[int, int, int]) -> bool:
        """A match of a not_before_word trigger with a word right after it ("Mon: no fever"); a word
        that starts the next checklist item on a new line or sentence does not count ("Fever: no"
        then "Pain 2"; see _next_item)."""
        match_id, _, end = match
        word_after = end < len(doc) and doc[end].is_alpha and not self._next_item(doc, end)
        rule = self.rule_map.get(doc.vocab.strings[match_id]) if word_after else None
        return bool(rule is not None and (rule.metadata or {}).get("not_before_word"))

    @staticmethod
    def _next_item(doc: Any, start: int) -> bool:
        """True when the word at start begins a new line or sentence that reads as the next
        checklist item: a label and its separator ("Numb - no", "Bladder: fine") or a number
        ("Pain 2") within its first words. "- no" then "idea why" on the next line is no item,
        so there the "no" stays with the words after it, as before rules 2.5.1."""
        line_starts = doc.user_data.get(_LINE_STARTS, frozenset())
        if not (doc[start].is_sent_start or start in line_starts):
            return False
        for i in range(start, min(start + 4, len(doc))):
            if i > start and (doc[i].is_sent_start or i in line_starts):
                break
            if doc[i].text in _ITEM_SEPARATORS or doc[i].like_num:
                return True
        return False

    def _matches(self, doc: Any) -> list[tuple[int, int, int]]:
        targets = doc.spans.get(_GROUP, [])
        if not len(targets):
            return []
        sentences = list(doc.sents)
        sentence_of = [0] * len(doc)
        for n, sentence in enumerate(sentences):
            sentence_of[sentence.start : sentence.end] = [n] * len(sentence)
        line_starts = doc.user_data.get(_LINE_STARTS, frozenset())
        wanted: set[int] = set()
        for target in targets:
            first, last = sentence_of[target.start], sentence_of[max(target.start, target.end - 1)]
            while first > 0 and sentences[first].start in line_starts:
                first -= 1
            wanted.update(range(first, last + 1))
        runs = _runs(sorted(wanted))
        if sum(sentences[b].end - sentences[a].start for a, b in runs) > len(doc) // 3:
            # most of the message: one pass over the whole doc is cheaper than copies of parts
            keep = [False] * len(doc)
            for first, last in runs:
                keep[sentences[first].start : sentences[last].end] = [True] * (
                    sentences[last].end - sentences[first].start
                )
            return self._inner(doc, keep)
        matches: list[tuple[int, int, int]] = []
        for first, last in runs:
            start, end = sentences[first].start, sentences[last].end
            part = doc[start:end].as_doc()
            matches += [(m, start + a, start + b) for m, a, b in self._inner(part)]
        return matches


def _prune_longest(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """medspaCy's prune_overlapping_matches ("longest") with the same result, in linear time per
    pass: its list.pop(0) made a long message's thousands of sub-matches quadratic."""
    from collections import deque

    from medspacy.util import tuple_overlaps

    while True:
        if not matches:
            return matches
        unpruned = deque(sorted(matches, key=lambda x: (x[1], x[2])))
        pruned: list[tuple[int, int, int]] = []
        current = unpruned.popleft()
        while True:
            if not unpruned:
                pruned.append(current)
                break
            following = unpruned.popleft()
            if tuple_overlaps((current[1], current[2]), (following[1], following[2])):
                pruned.append(max(current, following, key=lambda x: x[2] - x[1]))
                if not unpruned:
                    break
                current = unpruned.popleft()
            else:
                pruned.append(current)
                current = following
        if len(pruned) == len(matches):
            return pruned
        matches = pruned


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive numbers as (first, last) runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _distinct(spans: Any) -> list[Any]:
    """Per concept, the longest of overlapping matches (the Matcher returns every sub-match)."""
    kept: list[Any] = []
    for span in sorted(spans, key=lambda s: (s.start, -len(s), s.label_)):
        if not any(k.label_ == span.label_ and k.start < span.end and span.start < k.end for k in kept):
            kept.append(span)
    return kept


_ABSENT = ":absent"  # label suffix of a concept's absent_phrases


def spans_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two non-empty (start, end) spans share a token, whichever contains the other."""
    return a[0] < a[1] and b[0] < b[1] and a[0] < b[1] and b[0] < a[1]


_load_lock = threading.Lock()
_run_lock = threading.Lock()
_pipeline: Pipeline | None = None
_failed: tuple[float, Exception] | None = None  # the last failed build: (monotonic time, error)
RETRY_SECONDS = 30.0  # a failed build is tried again after this; until then it fails at once


def get_pipeline() -> Pipeline:
    """The shared pipeline, built once on first use (thread-safe, never at import time).

    A build that fails (a bad rule file, a changed review model) raises, so screening fails safe;
    the failure is kept for RETRY_SECONDS, so that messages in the meantime fail at once instead
    of each rebuilding the pipeline one after another under the lock."""
    global _pipeline, _failed
    if _pipeline is None:
        with _load_lock:
            if _pipeline is None:
                if _failed is not None and time.monotonic() - _failed[0] < RETRY_SECONDS:
                    raise RuntimeError(f"screening pipeline unavailable: {_failed[1]}") from _failed[1]
                try:
                    _pipeline = build_pipeline(load_screening_rules())
                except Exception as exc:
                    _failed = (time.monotonic(), exc)
                    raise
                _failed = None
    return _pipeline
