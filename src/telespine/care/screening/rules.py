"""The screening rule file (data/screening.yaml) as strict pydantic models, and its loader."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telespine.care.findings_merge import load_merge_order
from telespine.datafile import load_yaml_text
from telespine.triage.types import Audience

Category = Literal["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY"]
Direction = Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
_ALL_CATEGORIES = ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY")
IgnoreReason = Literal["negated", "hypothetical", "historical", "family"]
TokenPattern = list[dict[str, Any]]


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


class Near(_Strict):
    """Words of every group within `window` tokens of each other in one sentence, with no
    clause break (`but`, `although` ...) between: "my bum feels fuzzy and dead", "can't feel
    the toilet paper when she wipes". Each term is one or more words, matched on NORM after
    spelling correction ("gorin" reads as "groin")."""

    groups: list[list[str]] = Field(min_length=1)
    window: int = Field(default=8, ge=1, le=30)
    # Match words by their lemma (terms.lemma: "tingles", "tingled", "tingling" read as "tingle";
    # "fell", "fallen" as "fall"), so a vocabulary lists each word once (the safety layer).
    lemma: bool = False


class NumberRule(_Strict):
    """A number in a message that matters: a temperature, a pain score, a young child's age.

    The number must follow (within `within` tokens) one of `before`, or be followed directly by
    one of `after` ("38.5 degrees", "8/10", "3 year old"); it counts from `min` to `max`.
    """

    before: list[str] = []
    after: list[str] = []
    within: int = Field(default=3, ge=1, le=8)
    min: float
    max: float
    # words that make the number something else when they follow it ("a 9 hour flight")
    not_before: list[str] = []


class ReviewPairing(_Strict):
    """A review concept that matters only beside something else (rules 2.3.0): an age of 50 or
    more changes nothing alone (POLICY.md v2), only with a fall, a sudden onset or night pain.
    It asks for review only when the message also holds a mention of one of `concepts` (read,
    hedged or not; an ignored one does not count) or one of `words` (matched on the word or its
    lemma, negated or not: "no falls" still pairs, the safe side)."""

    concepts: list[str] = []
    words: list[str] = []


class Concept(_Strict):
    """A red flag (or a modifier finding) and the patient phrasings that express it.

    kind "review": a body or symptom word that the red-flag concepts do not read; it sets no
    finding and sends the message to a person at normal priority (Screening.review). A red flag
    that sets no finding (a crisis outside the back: "my lips are swelling") still raises the
    emergency safety net.
    """

    id: str
    kind: Literal["red_flag", "modifier", "review"]
    sets: dict[str, bool | str] = {}
    sources: list[str] = Field(min_length=1)
    phrases: list[str] = []
    patterns: list[TokenPattern] = []
    near: list[Near] = []
    numbers: list[NumberRule] = []
    # None: every audience; ["pediatric"]: e.g. "toddler" names the patient only when a parent
    # writes about a child (an adult's toddler is someone else)
    audiences: list[Audience] | None = None
    # A lasting condition stays true when told as past ("I was diagnosed with osteoporosis last
    # year", "a kidney transplant in 2019"): a historical mention counts, with these findings
    # (`{}`: the concept's own) as a modifier, and asks for review at normal priority.
    historical_sets: dict[str, bool | str] | None = None
    # A modifier that alone changes the result for these audiences also asks for review there
    # (night pain is prompt for a child)
    review_audiences: list[Audience] = []
    # Phrasings that deny the symptom when said plainly ("I can feel my groin"). They count only
    # when hedged or negated ("I'm not sure I can feel my groin"), and then as "unknown".
    absent_phrases: list[str] = []
    # The safety layer: its spans hold negations that are the symptom ("can't pee"), so a
    # trigger inside them neither reads them nor is hidden from other mentions. A red flag of the
    # layer sets "unknown" findings, counts as unsure (uncertain), and about someone else
    # (family) is a review at normal priority instead of ignored.
    safety: bool = False
    # A review concept that asks for review only beside these (rules 2.3.0); None: always
    review_only_with: ReviewPairing | None = None

    @model_validator(mode="after")
    def _has_matchers(self) -> Concept:
        if not (self.phrases or self.patterns or self.near or self.numbers):
            raise ValueError(f"concept {self.id!r} has no phrases, patterns, near rules or numbers")
        if self.kind == "review" and self.sets:
            raise ValueError(f"concept {self.id!r}: a review concept sets no finding")
        if self.safety and self.kind == "modifier":
            raise ValueError(f"concept {self.id!r}: the safety layer is a red flag or a review concept")
        if self.kind == "modifier" and not self.sets:
            raise ValueError(f"concept {self.id!r}: a modifier must set a finding")
        if self.review_only_with is not None and (self.kind != "review" or self.safety):
            raise ValueError(f"concept {self.id!r}: only a review concept outside the safety layer is paired")
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
    # None: modifies every concept; a list: only these concepts (an explanation such as "after the
    # gym" denies dead, heavy legs but never legs giving way)
    allowed_types: list[str] | None = None
    # True: the trigger counts only when no word follows it (rules 2.5.0): "Fever: no." answers a
    # checklist line backwards, but in "Mon: no fever" the "no" belongs to the fever
    not_before_word: bool = False

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


class Explanation(_Strict):
    """Words later in the same sentence that explain mentions of some concepts away (rules 2.2.0).

    ConText ends every scope at a comma, so "numb bum from the bleachers, then fine once I walked
    about" kept the numbness. An explanation reaches across commas to the end of the sentence,
    but only for the concepts it names, never past a blocker ("but", "now", "still" ...), and
    only forward from the mention unless `direction` is "either". It marks a mention `negated`.
    """

    id: str
    concepts: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    phrases: list[str] = []
    # A figure with a decimal point in this range ("36.8", "98.4"): a normal temperature. It
    # explains only mentions without a figure of their own ("no fever, 36.8" but never "38.5").
    numbers: list[float] | None = Field(default=None, min_length=2, max_length=2)
    # Only mentions whose words include one of these (lower case): tired legs "like jelly after
    # the hill walk", never "legs gave way after the walk".
    mention_words: list[str] | None = None
    # Never mentions whose words include one of these ("my legs went heavy and weak after the walk")
    unless_words: list[str] = []
    # Never in a sentence holding a figure in one of these ranges (rules 2.2.1): a febrile
    # reading ("a temperature of 39.5 ... but he's fine now") is never explained away
    unless_figures: list[list[float]] = []
    # Never in a sentence holding one of these words anywhere (rules 2.2.1): a fever brought down
    # by medicine ("fine now he's had calpol") has not passed
    unless_sentence_words: list[str] = []
    # Only in a sentence holding one of these words (rules 2.5.0): a numb bottom that went after
    # a stop counts as explained only beside a long sit ("from the long drive", "the bus trip")
    needs_sentence_words: list[str] = []
    # Word runs (spaCy norms, space-separated: "fell asleep", "can not feel") whose words do not
    # count for unless_words and unless_sentence_words (rules 2.5.0): "my foot fell asleep" is no
    # fall, and "I can't feel my fingers" after the snowman is the mention itself, not "can't lift it"
    unless_except: list[str] = []
    direction: Literal["after", "either"] = "after"

    @model_validator(mode="after")
    def _has_matchers(self) -> Explanation:
        if not (self.phrases or self.numbers):
            raise ValueError(f"explanation {self.id!r} has no phrases or numbers")
        if any(len(r) != 2 or r[0] > r[1] for r in self.unless_figures):
            raise ValueError(f"explanation {self.id!r}: each unless_figures range is [low, high]")
        return self


class ExplanationContrast(_Strict):
    """A contrast word that introduces the explanation itself (rules 2.3.0): "my bum went numb by
    the end but it was fine as soon as I walked", "a numb leg ... but it went in seconds".
    A blocker in `words` does not stop an explanation when only `bridge` words (a pronoun for the
    symptom and its verb) stand between it and the explanation; every other blocker still does,
    and so does any blocker after the explanation ("but it was fine as soon as ..., now it's back").
    """

    words: list[str] = Field(min_length=1)
    bridge: list[str] = Field(min_length=1)
    # only these explanations (numbness that went at once): never a fever or an illness "but it's
    # gone now", which 2.2.1 kept out on purpose
    explanations: list[str] = Field(min_length=1)


class ConditionalQuestions(_Strict):
    """A question that supposes a symptom: it starts with one of `starts`, ends with "?" and
    holds one of `needs` ("If his legs got weak would that be an emergency?", "If he ever got a
    fever, do we come in?"). Its mentions are hypothetical. A plain "if" report ("if I walk far
    my legs give way, is that normal?") has none of `needs` and still counts."""

    starts: list[str] = Field(min_length=1)
    needs: list[str] = Field(min_length=1)
    # rules 2.6.0: words right after the start that make "if" a filler ("if anything", "if I'm honest"):
    # lower-case tokens joined by spaces ("i 'm honest")
    fillers: list[str] = []


class TrainingFile(_Strict):
    """One development file a review model was trained on, as it was then."""

    file: str = Field(pattern=r"^dev_[a-z]+\.jsonl$")  # never the held-out test part
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=1)


class ReviewModelSpec(_Strict):
    """The learned review layer (rules 2.4.0; screening/learned.py): a text whose probability is
    at least `threshold` and that the rules send to nobody goes to a person at normal priority."""

    version: str
    directory: str = Field(pattern=r"^[a-z_]+$")  # under care/data/
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # files_sha256 of the directory
    threshold: float = Field(gt=0.0, lt=1.0)
    # how the threshold was chosen (5-fold cross-validation on the training rows only)
    threshold_rule: str
    trained_on: list[TrainingFile] = Field(min_length=1)
    seed: int
    ngram_size: int = Field(ge=1, le=4)
    epochs: int = Field(ge=1)
    length: int = Field(ge=1024)
    spacy_version: str
    sources: list[str] = Field(min_length=1)


class ScreeningRules(_Strict):
    """The whole screening rule file (data/screening.yaml)."""

    version: str
    # when a clinician last reviewed the phrase tables (ISO date)
    reviewed: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    sources: list[str] = Field(min_length=1)
    spellings: list[Spelling] = []
    language_check: LanguageCheck
    default_context: DefaultContext
    context: list[ContextRuleSpec]
    terminators: list[Terminator]
    concepts: list[Concept] = Field(min_length=1)
    # Words that end a near rule's window: a clause about something else begins
    near_breaks: list[str] = []
    # Words that join the items of a list: a mention joined to an ignored one only by these is
    # ignored too ("no numbness or tingling")
    list_words: list[str] = []
    # List words that alone do not make a list (rules 2.5.0): "no fever, wet myself" and "no fever
    # and legs gave way" are two statements, "no fever, chills or sweats" is a list. Joined by these
    # only, a mention shares the ignored one's reasons only when an "or"/"nor" closes the list later
    # in its sentence (list_closers)
    weak_list_words: list[str] = []
    list_closers: list[str] = []
    # A mention holding one of these (spaCy norms) never takes a negation from a list: "no fever,
    # can't feel my bum" says a numb bottom (rules 2.5.0)
    list_own_negations: list[str] = []
    # The writer's own words (rules 2.5.0): a FAMILY trigger never reaches a mention holding one
    # ("my son tackled me and I fell", "my horse threw me off" are the writer's injuries)
    family_not_over: list[str] = []
    # Answers that turn a question back into a report (rules 2.5.0; spaCy norms, space-separated):
    # "the nurse asked if I had numbness between my legs and I said yes" is no hypothetical
    answered_yes: list[str] = []
    # Words never corrected by the spelling step (real words the English list lacks)
    keep_spelling: list[str] = []
    # Everyday idioms that use a symptom's words for something else ("weak at the knees", "a car
    # crash of a week", "collapsed into bed"): a mention that overlaps one is ignored as negated.
    # ConText cannot do this (a trigger that overlaps a mention is dropped).
    everyday_phrases: list[str] = []
    explanations: list[Explanation] = []
    # words between a mention and an explanation that stop it ("fine after, but now ...")
    explanation_blockers: list[str] = []
    explanation_contrast: ExplanationContrast | None = None
    conditional_questions: ConditionalQuestions | None = None
    review_model: ReviewModelSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> ScreeningRules:
        ids = [c.id for c in self.concepts]
        if len(ids) != len(set(ids)):
            raise ValueError("concept ids must be unique")
        for explanation in self.explanations:
            unknown = set(explanation.concepts) - set(ids)
            if unknown:
                raise ValueError(f"explanation {explanation.id!r}: no concept {sorted(unknown)}")
        contrast = self.explanation_contrast
        unknown_ids = set(contrast.explanations if contrast else ()) - {e.id for e in self.explanations}
        if unknown_ids:
            raise ValueError(f"explanation_contrast: no explanation {sorted(unknown_ids)}")
        for concept in self.concepts:
            unknown = set(concept.review_only_with.concepts if concept.review_only_with else ()) - set(ids)
            if unknown:
                raise ValueError(f"concept {concept.id!r}: review_only_with: no concept {sorted(unknown)}")
        for spec in self.context:
            unknown = set(spec.allowed_types or ()) - set(ids)
            if unknown:
                raise ValueError(f"context rule {spec.literal!r}: no concept {sorted(unknown)}")
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
    return ScreeningRules.model_validate(load_yaml_text(text, "screening.yaml"))
