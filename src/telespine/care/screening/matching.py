"""The medspaCy pipeline: sentences (line breaks too), the target matcher and ConText."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from telespine.care.screening.context import (
    _LINE_STARTS,
    _apply_modifiers_by_sentence,
    _update_scopes_by_sentence,
)
from telespine.care.screening.rules import _ALL_CATEGORIES, ScreeningRules, load_screening_rules

_GROUP = "telespine_targets"


@dataclass(frozen=True)
class Pipeline:
    """A loaded spaCy/medspaCy pipeline with the rules it was built from."""

    nlp: Any
    rules: ScreeningRules


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
            breaks.append(len(words) - 1)  # a line break where PyRuSH saw no sentence end
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
    import loguru

    # PyRuSH logs every sentence at debug level through loguru; that is noise and slow.
    loguru.logger.disable("PyRuSH")
    import medspacy
    from medspacy.context import ConTextGraph, ConTextRule

    ConTextGraph.update_scopes = _update_scopes_by_sentence
    ConTextGraph.apply_modifiers = _apply_modifiers_by_sentence
    from medspacy.target_matcher import TargetRule

    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush"])
    from spacy.language import Language
    from spacy.symbols import NORM, ORTH

    # A line break ends a sentence, so it ends every ConText scope (the scope is the sentence):
    # "No fever<line break>I wet myself" affirms the second line. PyRuSH alone does not split
    # there, and patients type line breaks without full stops.
    if not Language.has_factory(_LINE_BREAK_COMPONENT):
        Language.component(_LINE_BREAK_COMPONENT, func=_split_at_line_breaks)
    nlp.add_pipe(_LINE_BREAK_COMPONENT, after="medspacy_pyrush")

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
        targets += [
            TargetRule(f"{concept.id}#{n}", concept.id, pattern=pattern)
            for n, pattern in enumerate(concept.patterns)
        ]
    matcher.add(targets)

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
    context_rules = [
        rule
        for rule in ConTextRule.from_json(str(defaults_path))
        if rule.category in keep and rule.literal not in drop
    ]
    for spec in rules.context:
        context_rules.append(
            ConTextRule(
                spec.literal,
                spec.category,
                pattern=spec.pattern,
                direction=spec.direction,
                metadata={"audiences": spec.audiences},
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
        if rule.category == "NEGATED_EXISTENCE" and limit is not None:
            rule.max_targets = limit  # "no fever my bum is numb": "no" reaches "fever" only
        for ended_set, name in names.items():
            if rule.category in ended_set:
                rule.terminated_by.add(name)
    context.add(context_rules)
    return Pipeline(nlp, rules)


def _distinct(spans: Any) -> list[Any]:
    """Per concept, the longest of overlapping matches (the Matcher returns every sub-match)."""
    kept: list[Any] = []
    for span in sorted(spans, key=lambda s: (s.start, -len(s), s.label_)):
        if not any(k.label_ == span.label_ and k.start < span.end and span.start < k.end for k in kept):
            kept.append(span)
    return kept


_ABSENT = ":absent"  # label suffix of a concept's absent_phrases


_load_lock = threading.Lock()
_run_lock = threading.Lock()
_pipeline: Pipeline | None = None


def get_pipeline() -> Pipeline:
    """The shared pipeline, built once on first use (thread-safe, never at import time)."""
    global _pipeline
    if _pipeline is None:
        with _load_lock:
            if _pipeline is None:
                _pipeline = build_pipeline(load_screening_rules())
    return _pipeline
