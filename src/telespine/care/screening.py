"""Red-flag screening of free-text patient messages with medspaCy (TargetMatcher + ConText)."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from telespine.care.findings_merge import FindingValue, load_merge_order, merge_findings
from telespine.triage.types import Audience

Category = Literal["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY"]
Direction = Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
_GROUP = "telespine_targets"
_ALL_CATEGORIES = ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY")
IgnoreReason = Literal["negated", "hypothetical", "historical", "family"]
TokenPattern = list[dict[str, Any]]

# ConText categories that make a mention not count, and the name we report for each.
# POSSIBLE_EXISTENCE is deliberately absent: a hedged mention ("I think I have a fever", "I don't
# think I can feel my groin") counts, with its findings set to "unknown" (POLICY.md rule 3).
_IGNORING: dict[str, IgnoreReason] = {
    "NEGATED_EXISTENCE": "negated",
    "HYPOTHETICAL": "hypothetical",
    "HISTORICAL": "historical",
    "FAMILY": "family",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_pattern(pattern: TokenPattern | None, where: str) -> None:
    """Reject list values that YAML turned into booleans or numbers (an unquoted no, on, 38)."""
    for token in pattern or []:
        for attr, value in token.items():
            if isinstance(value, dict):
                for op, items in value.items():
                    if isinstance(items, list) and not all(isinstance(i, str) for i in items):
                        raise ValueError(f"{where}: {attr}.{op} must list quoted strings: {items!r}")


class Concept(_Strict):
    """A red flag (or a modifier finding) and the patient phrasings that express it."""

    id: str
    kind: Literal["red_flag", "modifier"]
    sets: dict[str, bool | str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    phrases: list[str] = []
    patterns: list[TokenPattern] = []
    # Phrasings that deny the symptom when said plainly ("I can feel my groin"). They count only
    # when hedged or negated ("I'm not sure I can feel my groin"), and then as "unknown".
    absent_phrases: list[str] = []

    @model_validator(mode="after")
    def _has_matchers(self) -> Concept:
        if not self.phrases and not self.patterns:
            raise ValueError(f"concept {self.id!r} has no phrases or patterns")
        for pattern in self.patterns:
            _check_pattern(pattern, f"concept {self.id!r}")
        return self


class ContextRuleSpec(_Strict):
    """One ConText trigger added to medspaCy's defaults."""

    literal: str
    category: Category
    direction: Direction
    pattern: TokenPattern | None = None
    # No max_scope: with medspaCy 1.3 a scope shorter than the sentence stops terminators working.
    # None: applies to every audience. ["adult"]: e.g. "my son" is family for an adult, but the
    # person writing about a child patient is the parent, so there it names the patient.
    audiences: list[Audience] | None = None

    @model_validator(mode="after")
    def _strings(self) -> ContextRuleSpec:
        _check_pattern(self.pattern, f"context rule {self.literal!r}")
        return self


class Terminator(_Strict):
    """Words that end the scope of the listed ConText categories ("but", "now", "I")."""

    literals: list[str] = Field(min_length=1)
    ends: list[Category] = Field(min_length=1)


class DefaultContext(_Strict):
    """Which of medspaCy's default ConText rules we keep."""

    keep_categories: list[Category]
    drop_literals: list[str] = []
    # How many targets one negation may reach (the nearest first); None: the whole sentence
    negation_max_targets: int | None = Field(default=None, ge=1)


class LanguageCheck(_Strict):
    """When a message has too few words the rules know to be read as English text."""

    min_words: int = Field(ge=1)
    min_known_share: float = Field(gt=0, lt=1)
    rationale: str = Field(min_length=1)  # a pragmatic threshold, not a clinical rule: no source


class SpellingToken(_Strict):
    """One token of a spelling: its text and the NORM the phrase rules match on."""

    orth: str = Field(min_length=1)
    norm: str = Field(min_length=1)


class Spelling(_Strict):
    """A texting form or misspelling ("cnt") split into tokens that read as the usual words."""

    text: str = Field(min_length=1)
    tokens: list[SpellingToken] = Field(min_length=1)

    @model_validator(mode="after")
    def _splits_the_text(self) -> Spelling:
        if "".join(t.orth for t in self.tokens) != self.text or self.text != self.text.lower():
            raise ValueError(f"spelling {self.text!r}: the tokens must spell the lower-case text")
        return self


class ScreeningRules(_Strict):
    """The whole screening rule file (data/screening.yaml)."""

    version: str
    sources: list[str] = Field(min_length=1)
    spellings: list[Spelling] = []
    language_check: LanguageCheck
    default_context: DefaultContext
    context: list[ContextRuleSpec]
    terminators: list[Terminator]
    concepts: list[Concept] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ScreeningRules:
        ids = [c.id for c in self.concepts]
        if len(ids) != len(set(ids)):
            raise ValueError("concept ids must be unique")
        order = load_merge_order()
        for concept in self.concepts:
            for finding, value in concept.sets.items():
                if finding not in order.findings:
                    raise ValueError(f"concept {concept.id!r}: cannot set finding {finding!r}")
                if not any(type(v) is type(value) and v == value for v in order.order_of(finding)):
                    raise ValueError(f"concept {concept.id!r}: {finding}={value!r} is not a valid value")
        return self

    def concept(self, concept_id: str) -> Concept:
        """The concept with this id."""
        for concept in self.concepts:
            if concept.id == concept_id:
                return concept
        raise KeyError(concept_id)


@cache
def load_screening_rules() -> ScreeningRules:
    """The packaged screening rules (cached); raises on any unknown key or bad value."""
    text = resources.files("telespine.care").joinpath("data/screening.yaml").read_text(encoding="utf-8")
    return ScreeningRules.model_validate(yaml.safe_load(text))


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


@dataclass(frozen=True)
class Pipeline:
    """A loaded spaCy/medspaCy pipeline with the rules it was built from."""

    nlp: Any
    rules: ScreeningRules


_LINE_BREAK_COMPONENT = "telespine_line_break_sentences"
# Doc.user_data: indices of the tokens that start a line with no sentence end before the break
_LINE_STARTS = "telespine_line_starts"


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


def _sentence_numbers(doc: Any) -> list[int]:
    """For each token of doc, the number of its sentence."""
    sentence_of = [0] * len(doc)
    for n, sentence in enumerate(doc.sents):
        sentence_of[sentence.start : sentence.end] = [n] * len(sentence)
    return sentence_of


def _touched(sentence_of: list[int], start: int, end: int) -> range:
    """The numbers of the sentences that tokens start..end touch."""
    return range(sentence_of[start], sentence_of[max(start, end - 1)] + 1)


def _update_scopes_by_sentence(graph: Any) -> None:
    """medspaCy's ConTextGraph.update_scopes, comparing only modifiers that share a sentence.

    medspaCy compares every pair of modifiers in the whole message (and every modifier with every
    target): a 20,000-character message took minutes. A scope never leaves the sentence of its
    modifier, so a pair that shares no sentence never changes a scope: skipping such pairs gives
    the same scopes. With no target no scope is ever read.
    """
    if not graph.targets:
        return
    sentence_of = _sentence_numbers(graph.targets[0].doc)
    by_sentence: dict[int, list[int]] = {}
    for i, modifier in enumerate(graph.modifiers):
        for n in _touched(sentence_of, *modifier.modifier_span):
            by_sentence.setdefault(n, []).append(i)
    for same in by_sentence.values():
        for k, i in enumerate(same):
            for j in same[k + 1 :]:
                graph.modifiers[i].limit_scope(graph.modifiers[j])
                graph.modifiers[j].limit_scope(graph.modifiers[i])


def _apply_modifiers_by_sentence(graph: Any) -> None:
    """medspaCy's ConTextGraph.apply_modifiers, checking a target only against the modifiers of
    its sentences (the same edges in the same order: a modifier elsewhere never reaches it)."""
    from medspacy.util import tuple_overlaps

    if not graph.targets:
        graph.edges = []
        return
    sentence_of = _sentence_numbers(graph.targets[0].doc)
    targets: dict[int, list[Any]] = {}
    for target in graph.targets:
        for n in _touched(sentence_of, target.start, target.end):
            targets.setdefault(n, []).append(target)
    if graph.prune_on_modifier_overlap:
        graph.modifiers = [
            m
            for m in graph.modifiers
            if not any(
                tuple_overlaps((t.start, t.end), m.modifier_span)
                for n in _touched(sentence_of, *m.modifier_span)
                for t in targets.get(n, [])
            )
        ]
    by_sentence: dict[int, list[int]] = {}
    for i, modifier in enumerate(graph.modifiers):
        for n in _touched(sentence_of, *modifier.modifier_span):
            by_sentence.setdefault(n, []).append(i)
    for target in graph.targets:
        near = sorted(
            {i for n in _touched(sentence_of, target.start, target.end) for i in by_sentence.get(n, [])}
        )
        for i in near:
            if graph.modifiers[i].modifies(target):
                graph.modifiers[i].modify(target)
    edges = []
    for modifier in graph.modifiers:
        modifier.reduce_targets()
        for target in modifier._targets:
            edges.append((target, modifier))
    graph.edges = edges


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


def _last_sentence_start(ent: Any) -> int:
    """The index of the first token of the mention's last sentence (its start if it has one)."""
    start = int(ent.start)
    for token in ent[1:]:
        if token.is_sent_start:
            start = int(token.i)
    return start


def _hedges_before_the_line(ent: Any) -> list[Any]:
    """Hedges whose scope a line break ended just before the mention's sentence.

    "I'm not sure if<line break>I can feel my groin": the break must not turn a hedged absence
    into a plain denial, so an absent phrase still hears a hedge on the lines just before it.
    """
    doc = ent.doc
    line_starts = doc.user_data.get(_LINE_STARTS, frozenset())
    graph = doc._.context_graph
    if not line_starts or graph is None:
        return []
    ended: set[int] = set()
    start = doc[ent.start].sent.start
    while start in line_starts:
        ended.add(start)
        start = doc[start - 1].sent.start
    return [
        m
        for m in graph.modifiers
        if m.category == "POSSIBLE_EXISTENCE"
        and m.direction in ("FORWARD", "BIDIRECTIONAL")
        and m.scope_span[1] in ended
        and m not in ent._.modifiers
    ]


def _ignore_reasons(ent: Any, audience: Audience, absent: bool = False) -> tuple[list[IgnoreReason], bool]:
    reasons: list[IgnoreReason] = []
    uncertain = False
    modifiers = list(ent._.modifiers)
    # A sentence end (a line break too) ends every scope. A mention that runs on past one ("no
    # pain in my bum<line break>numb since yesterday") is read as said in its last sentence: a
    # trigger before that does not reach it. That only turns an ignored or hedged mention into a
    # plain one (the safe side). For an absent phrase ("I can feel my groin") a plain reading is
    # a denial, the unsafe side, so there hedges keep reaching across a line break instead.
    if absent:
        modifiers += _hedges_before_the_line(ent)
        # A hedge anywhere in the sentence, even after a comma or after the phrase ("I'm not
        # sure, I can feel my groin", "I can feel my groin I think"), keeps it unknown.
        sentence = ent.doc[ent.start].sent
        graph = ent.doc._.context_graph
        modifiers += [
            m
            for m in (graph.modifiers if graph is not None else [])
            if m.category == "POSSIBLE_EXISTENCE"
            and sentence.start <= m.modifier_span[0] < sentence.end
            and m not in modifiers
        ]
    else:
        last = _last_sentence_start(ent)
        modifiers = [m for m in modifiers if last == ent.start or m.modifier_span[1] > last]
    for modifier in modifiers:
        audiences = (modifier.rule.metadata or {}).get("audiences")
        if audiences is not None and audience not in audiences:
            continue
        if modifier.category == "POSSIBLE_EXISTENCE":
            uncertain = True
        reason = _IGNORING.get(modifier.category)
        if reason is not None and reason not in reasons:
            reasons.append(reason)
    return reasons, uncertain


def _unknown_values(sets: Mapping[str, bool | str]) -> dict[str, bool | str]:
    """A hedged mention's findings: "unknown" where the finding allows it, else the stated value."""
    order = load_merge_order()
    return {
        finding: "unknown" if "unknown" in order.order_of(finding) else value
        for finding, value in sets.items()
    }


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


# Characters with no look of their own that NFKC keeps and that are not format characters (Cf):
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, variation selectors.
_INVISIBLE = frozenset(
    [
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x3164,
        0xFFA0,
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)
# Typographic apostrophes, so "can’t" tokenises like "can't". The grave and acute accents
# ("can`t", "can´t") are replaced before NFKC, which turns an acute accent into a space and a mark.
_APOSTROPHES = {"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'"}
_ACCENTS = str.maketrans({"`": "'", "\u00b4": "'"})
_MAX_RUN = 64  # characters without a space: longer runs get a space (see normalise_text)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Cyrillic and Greek letters that look like Latin ones ("I wet mys\u0435lf" with a Cyrillic e).
# Folded only in a message with at least as many Latin letters as other Cyrillic and Greek ones,
# so Russian or Greek text stays as it is (and goes to a clinician as a language the rules
# cannot read).
_LOOKALIKES = str.maketrans(
    {
        # Cyrillic
        "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H",
        "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0423": "Y",
        "\u0406": "I", "\u0408": "J", "\u0405": "S", "\u0430": "a", "\u0435": "e", "\u043e": "o",
        "\u0440": "p", "\u0441": "c", "\u0445": "x", "\u0443": "y", "\u0456": "i", "\u0458": "j",
        "\u0455": "s", "\u0501": "d", "\u04bb": "h", "\u051b": "q", "\u051d": "w", "\u04cf": "l",
        "\u043a": "k",
        # Greek
        "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
        "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
        "\u03a5": "Y", "\u03a7": "X", "\u03bf": "o", "\u03b1": "a", "\u03bd": "v", "\u03b9": "i",
        "\u03ba": "k", "\u03c1": "p", "\u03c5": "u", "\u03c7": "x",
    }
)  # fmt: skip


def _mostly_latin(text: str) -> bool:
    """True unless the text has more Cyrillic or Greek letters that look like no Latin letter than
    Latin letters ("i c\u0430nt \u0440\u0435\u0435" is Latin; Russian text is not)."""
    latin = other = 0
    for char in unicodedata.normalize("NFKC", text):
        if char.isalpha() and ord(char) not in _LOOKALIKES:
            name = unicodedata.name(char, "")
            if name.startswith("LATIN"):
                latin += 1
            elif name.startswith(("CYRILLIC", "GREEK")):
                other += 1
    return latin >= other


def _clusters(text: str) -> list[tuple[str, int, int]]:
    """Visible characters with their combining marks, and their span in text; invisibles dropped."""
    clusters: list[tuple[str, int, int]] = []
    for i, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cf" or ord(char) in _INVISIBLE:
            continue  # zero-width space/joiner, soft hyphen, BOM, bidi marks: hide nothing
        if category.startswith("M") and clusters and not clusters[-1][0].isspace():
            mark, start, _ = clusters[-1]
            clusters[-1] = (mark + char, start, i + 1)
            continue
        if char in _LINE_BREAKS or (
            category in ("So", "Sk") and (ord(char) >= 0x1F000 or 0x2600 <= ord(char) < 0x27C0)
        ):
            # An emoji reads as a line break: patients use it as a full stop ("No fever 😱 I wet
            # myself"), and a long run of them is one break (spaCy splits a run in quadratic time).
            char = "\n"
        elif category.startswith("C") or char.isspace():
            char = " "  # other control characters and every other space are a plain space
        clusters.append((char, i, i + 1))
    return clusters


def normalise_text(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Text as the rules read it, and for each of its characters the span it came from in text.

    Unicode NFKC, Cyrillic and Greek look-alikes as Latin letters (in a mostly Latin text), lower
    case, format and other invisible characters removed, control characters
    as spaces, runs of spaces collapsed (a run with a line break, "\r\n" included, becomes one
    line break, which the pipeline reads as a sentence end). The spans keep the original text
    for display.
    """
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    fold: dict[int, str] = _LOOKALIKES if _mostly_latin(text) else {}
    for cluster, start, end in _clusters(text):
        if cluster.isspace():
            if not out:
                continue
            if out[-1] in (" ", "\n"):
                if cluster == "\n" and out[-1] == " ":
                    out[-1] = "\n"  # a line break in a run of spaces is kept: it ends a sentence
                    spans[-1] = (start, end)
                continue
        for char in unicodedata.normalize("NFKC", cluster.translate(_ACCENTS)).translate(fold).lower():
            if not char.isspace() and len(out) >= _MAX_RUN and not any(c.isspace() for c in out[-_MAX_RUN:]):
                out.append(" ")  # no word is this long; spaCy splits a long run in quadratic time
                spans.append((start, end))
            out.append(_APOSTROPHES.get(char, char))
            spans.append((start, end))
    while out and out[-1] in (" ", "\n"):
        out.pop()
        spans.pop()
    return "".join(out), spans


def screen_message(text: str, audience: Audience = "adult", pipeline: Pipeline | None = None) -> Screening:
    """Screen one patient (or parent) message for red flags; never raises.

    If the pipeline cannot run, the result has status "error" and needs_review is True.
    """
    version = "unavailable"
    try:
        if not isinstance(text, str):
            raise TypeError(f"message must be text, got {type(text).__name__}")
        if audience not in ("adult", "pediatric"):
            raise ValueError(f"unknown audience {audience!r}")
        pipe = pipeline if pipeline is not None else get_pipeline()
        version = pipe.rules.version
        normal, spans = normalise_text(text)
        with _run_lock:
            doc = pipe.nlp(normal)
        flags: list[Mention] = []
        modifiers: list[Mention] = []
        ignored: list[IgnoredMention] = []
        for ent in _distinct(doc.spans.get(_GROUP, [])):
            absent = ent.label_.endswith(_ABSENT)
            concept = pipe.rules.concept(ent.label_.removesuffix(_ABSENT))
            reasons, uncertain = _ignore_reasons(ent, audience, absent)
            sets: dict[str, bool | str] = dict(concept.sets)
            if absent:
                if uncertain or "negated" in reasons:
                    # "I don't think I can feel my groin": a hedged or denied absence is unknown.
                    reasons = [r for r in reasons if r != "negated"]
                    uncertain = True
                else:
                    # "I can feel my groin fine" says the symptom is not there.
                    reasons = [*reasons, "negated"] if "negated" not in reasons else reasons
            elif uncertain and "negated" in reasons:
                # "I don't think I have a fever": a hedge is never a no (POLICY.md rule 3).
                reasons = [r for r in reasons if r != "negated"]
            if uncertain:
                sets = _unknown_values(sets)
            start, end = spans[ent.start_char][0], spans[ent.end_char - 1][1]
            fields: dict[str, Any] = {
                "concept": concept.id,
                "kind": concept.kind,
                "sets": sets,
                "text": text[start:end],
                "start": start,
                "end": end,
                "uncertain": uncertain,
            }
            if reasons:
                ignored.append(IgnoredMention(**fields, reasons=reasons))
            elif concept.kind == "red_flag":
                flags.append(Mention(**fields))
            else:
                modifiers.append(Mention(**fields))
        status: Literal["ok", "unrecognised_language"] = "ok"
        error = None
        known, total = _known_share(doc, pipe.rules)
        check = pipe.rules.language_check
        if not flags and total >= check.min_words and known < check.min_known_share * total:
            # The phrase rules are English: a message they cannot read goes to a person.
            status = "unrecognised_language"
            error = f"only {known} of {total} words are known English words; read it yourself"
        return Screening(
            status=status,
            audience=audience,
            flags=flags,
            modifiers=modifiers,
            ignored=ignored,
            rules_version=version,
            error=error,
        )
    except Exception as exc:  # any failure must reach a clinician, never read as "no flag"
        safe_audience: Audience = "pediatric" if audience == "pediatric" else "adult"
        return Screening(
            status="error",
            audience=safe_audience,
            flags=[],
            modifiers=[],
            ignored=[],
            rules_version=version,
            error=f"{type(exc).__name__}: {exc}",
        )


def merge_screening(findings: Mapping[str, Any], screening: Screening) -> dict[str, Any]:
    """The findings document with the message's affirmed flags merged in (never less urgent)."""
    return merge_findings(findings, screening.findings_update())
