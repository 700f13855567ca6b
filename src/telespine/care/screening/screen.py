"""screen_message: the public entry point."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from telespine.care.findings_merge import load_merge_order
from telespine.care.screening.context import _ignore_reasons, _last_sentence_start, _unknown_values
from telespine.care.screening.language import _known_share
from telespine.care.screening.learned import TextKind
from telespine.care.screening.matching import (
    _ABSENT,
    _GROUP,
    EVERYDAY,
    EXPLAINED,
    Pipeline,
    _distinct,
    _run_lock,
    get_pipeline,
)
from telespine.care.screening.normalise import normalise_text
from telespine.care.screening.result import IgnoredMention, Mention, Screening
from telespine.care.screening.rules import IgnoreReason, ScreeningRules
from telespine.care.screening.terms import lemma
from telespine.triage.types import Audience

_Read = tuple[Any, bool, Any, list[IgnoreReason], bool]
# doc.user_data: mentions a normal temperature figure explains (a hedge does not undo those)
_EXPLAINED_MENTIONS = "telespine_explained_mentions"
# doc.user_data: safety-layer mentions an explanation reads (a person reads them: rules 2.2.1)
_EXPLAINED_SAFETY = "telespine_explained_safety"
_READING = re.compile(r"^(\d{2,3}(?:[.,]\d{1,2})?)(?:°|c|f|°c|°f)?$")  # "39", "39.5", "101f", "38,6"
_EXPLAINED_BY_SENTENCE = "telespine_explained_by_sentence"  # doc.user_data: sentence start -> spans


def _figures(sentence: Any) -> list[float]:
    """The readings in a sentence ("39", "39.5", "101F"): whole or with one decimal point."""
    out: list[float] = []
    for token in sentence:
        found = _READING.match(token.lower_)
        if found:
            out.append(float(found.group(1).replace(",", ".")))
    return out


def _words(tokens: Any, except_runs: Sequence[str] = ()) -> set[str]:
    """The lower-case words and lemmas of a span, less the tokens of any of the word runs given
    (spaCy norms, space-separated: "fell asleep", "can not feel")."""
    toks = list(tokens)
    skip: set[int] = set()
    for run in except_runs:
        parts = run.split()
        n = len(parts)
        for k in range(len(toks) - n + 1):
            if all(toks[k + j].norm_ == parts[j] or toks[k + j].lower_ == parts[j] for j in range(n)):
                skip.update(range(k, k + n))
    kept = [t for k, t in enumerate(toks) if k not in skip]
    return {t.lower_ for t in kept} | {lemma(t.lower_) for t in kept if t.is_alpha}


def _explained(ent: Any, doc: Any, rules: ScreeningRules) -> Literal["phrase", "number"] | None:
    """Which kind of explanation in the mention's sentence explains it away (rules 2.2.0), or
    None: "numb bum from the bleachers, then fine once I walked about" (a phrase), "no fever, I
    checked: 36.8" (a number)."""
    found = doc.spans.get(EXPLAINED, [])
    if not len(found):
        return None
    concept = ent.label_.removesuffix(_ABSENT)
    if not any(concept in e.concepts for e in rules.explanations):
        return None
    sentence = doc[_last_sentence_start(ent)].sent
    by_sentence = doc.user_data.get(_EXPLAINED_BY_SENTENCE)
    if by_sentence is None:  # the explanation spans of each sentence, found once per message
        by_sentence = {}
        for span in found:
            by_sentence.setdefault(doc[span.start].sent.start, []).append(span)
        doc.user_data[_EXPLAINED_BY_SENTENCE] = by_sentence
    spans = by_sentence.get(sentence.start, [])
    if not spans:
        return None
    sentence_words = _words(sentence)
    readings: list[float] | None = None
    blockers = frozenset(rules.explanation_blockers)
    words = _words(ent)
    has_figure = any(t.like_num or t.text[:1].isdigit() for t in ent)
    for span in spans:
        explanation = rules.explanations[int(span.label_)]
        if concept not in explanation.concepts or not (sentence.start <= span.start < sentence.end):
            continue
        if explanation.mention_words is not None and not words & set(explanation.mention_words):
            continue
        if explanation.needs_sentence_words and not sentence_words & set(explanation.needs_sentence_words):
            continue  # a numb bottom that went after a stop, with no long sit in the sentence
        unless_mention, unless_sentence = words, sentence_words
        if explanation.unless_except:  # "my foot fell asleep": the words of the run do not cancel
            unless_mention = _words(ent, explanation.unless_except)
            unless_sentence = _words(sentence, explanation.unless_except)
        if unless_mention & set(explanation.unless_words):
            continue
        if explanation.numbers is not None and has_figure:
            continue
        if unless_sentence & set(explanation.unless_sentence_words):
            continue  # "fine now he's had calpol": medicine brought it down
        if explanation.unless_figures:
            readings = _figures(sentence) if readings is None else readings
            if any(lo <= v <= hi for v in readings for lo, hi in explanation.unless_figures):
                continue  # "a temperature of 39.5 ..., fine now": a febrile reading stays
        # no blocker between the two, nor after them in the sentence ("then fine, but it keeps ...")
        if span.start >= ent.end:
            between = [*doc[ent.end : span.start], *doc[span.end : sentence.end]]
        elif explanation.direction == "either" and span.end <= ent.start:
            between = [*doc[span.end : ent.start], *doc[ent.end : sentence.end]]
        else:
            continue
        contrast = rules.explanation_contrast
        if span.start >= ent.end and contrast is not None and explanation.id in contrast.explanations:
            between = _past_contrast(between, doc[ent.end : span.start], rules)
        if not any(t.norm_ in blockers or t.lower_ in blockers for t in between):
            return "number" if explanation.numbers is not None else "phrase"
    return None


def _past_contrast(between: list[Any], before: Any, rules: ScreeningRules) -> list[Any]:
    """The tokens that can block an explanation, less a contrast word that introduces it ("numb
    ... but it was fine as soon as"): one of the contrast words followed only by bridge words
    just before the explanation, and no other blocker before it (rules 2.3.0)."""
    contrast = rules.explanation_contrast
    if contrast is None or not len(before):
        return between
    bridge = frozenset(contrast.bridge)
    tokens = list(before)
    k = len(tokens)
    while k > 0 and (tokens[k - 1].lower_ in bridge or tokens[k - 1].norm_ in bridge):
        k -= 1
    if k == 0 or tokens[k - 1].lower_ not in contrast.words:
        return between
    word = tokens[k - 1]
    return [t for t in between if t is not word and t.i != word.i]


def _paired(review: list[Mention], others: list[Mention], doc: Any, rules: ScreeningRules) -> list[Mention]:
    """Review mentions less those of a paired concept with nothing to pair with (rules 2.3.0):
    "I am 77 and pleased to report no deterioration" asks for no review; "I'm 74 and tripped on
    the kerb" does."""
    present = {m.concept for m in [*review, *others]}
    words: set[str] | None = None
    kept: list[Mention] = []
    for mention in review:
        pairing = rules.concept(mention.concept).review_only_with
        if pairing is None or (present - {mention.concept}) & set(pairing.concepts):
            kept.append(mention)
            continue
        if words is None:
            words = {t.lower_ for t in doc} | {lemma(t.lower_) for t in doc if t.is_alpha}
        if words & set(pairing.words):
            kept.append(mention)
    return kept


def _in_a_question(ent: Any, doc: Any) -> bool:
    """True when the mention's (last) sentence ends with a question mark."""
    tokens = [t for t in doc[_last_sentence_start(ent)].sent if not t.is_space]
    return bool(tokens) and tokens[-1].text == "?"


def _conditional_question(ent: Any, doc: Any, rules: ScreeningRules) -> bool:
    """True when the mention is in a question that supposes it ("If his legs got weak would
    that be an emergency?"); see ConditionalQuestions."""
    check = rules.conditional_questions
    if check is None:
        return False
    sentence = doc[_last_sentence_start(ent)].sent
    tokens = [t for t in sentence if not t.is_space]
    if not tokens or tokens[-1].text != "?":
        return False
    # the opening words (enough for the longest start and filler: "what do i do if i 'm being honest")
    opening = " ".join(t.lower_ for t in tokens[:16]) + " "
    if not any(opening.startswith(start + " ") for start in check.starts):
        return False
    if any(opening.startswith(f"{start} {filler} ") for start in check.starts for filler in check.fillers):
        return False  # "if anything my legs got weaker, is that normal?" reports, it does not suppose
    needs = frozenset(check.needs)
    return any(t.lower_ in needs for t in tokens)


def _answered_yes(ent: Any, doc: Any, rules: ScreeningRules) -> bool:
    """True when the rest of the mention's sentence answers the question it was asked in with a
    yes ("she asked if I had numbness ... and I said yes"): see ScreeningRules.answered_yes."""
    if not rules.answered_yes:
        return False
    sentence = doc[_last_sentence_start(ent)].sent
    rest = " " + " ".join(t.norm_ for t in doc[ent.end : sentence.end]) + " "
    return any(f" {phrase} " in rest for phrase in rules.answered_yes)


def _read_all(doc: Any, pipe: Pipeline, audience: Audience) -> list[_Read]:
    """Each distinct mention with its concept and what ConText says about it."""
    out: list[_Read] = []
    idioms = [(s.start, s.end) for s in doc.spans.get(EVERYDAY, [])]
    for ent in _distinct(doc.spans.get(_GROUP, [])):
        absent = ent.label_.endswith(_ABSENT)
        concept = pipe.rules.concept(ent.label_.removesuffix(_ABSENT))
        if concept.audiences is not None and audience not in concept.audiences:
            continue
        reasons, uncertain = _ignore_reasons(ent, audience, absent)
        if not absent and "negated" not in reasons and any(a < ent.end and ent.start < b for a, b in idioms):
            reasons = [*reasons, "negated"]  # "weak at the knees for this new physio"
        how = None if absent else _explained(ent, doc, pipe.rules)
        if how is not None and concept.safety:
            # the safety layer is a backstop: an explanation never cancels it; a person reads it
            # at normal priority (rules 2.2.1)
            doc.user_data.setdefault(_EXPLAINED_SAFETY, set()).add((ent.start, ent.end, ent.label_))
        elif how is not None:
            # "legs went numb with the cold, fine after"; a hedge undoes a phrase ("maybe both
            # legs are numb, then fine" still counts) but not a normal reading ("36.5 so I don't
            # think it's a fever"): rules 2.2.1
            if how == "number":
                doc.user_data.setdefault(_EXPLAINED_MENTIONS, set()).add((ent.start, ent.end, ent.label_))
            if "negated" not in reasons:
                reasons = [*reasons, "negated"]
        if "hypothetical" not in reasons and _conditional_question(ent, doc, pipe.rules):
            reasons = [*reasons, "hypothetical"]  # "if he ever got a fever, do we come in?"
        elif "hypothetical" in reasons and _answered_yes(ent, doc, pipe.rules):
            # "she asked if I had numbness between my legs and I said yes" (rules 2.5.0)
            reasons = [r for r in reasons if r != "hypothetical"]
        out.append((ent, absent, concept, reasons, uncertain))
    return out


def _shared_context(read: list[_Read], pipe: Pipeline, doc: Any, audience: Audience) -> list[_Read]:
    """Context shared between mentions that ConText reads one by one.

    - Overlapping mentions share their words ("no numbness in my legs" is both a numbness word
      and numb legs): what holds for one (negated, hypothetical, historical, family, hedged)
      holds for all. ConText lets one negation reach only the nearest target.
    - A list: a mention joined to an ignored one before it only by list words ("I don't have
      any numbness or tingling", "no fever, chills or sweats") is ignored for the same reasons.
    Absent phrasings ("I can feel my groin") keep their own reading.
    """
    joiners = frozenset(pipe.rules.list_words)
    weak = frozenset(pipe.rules.weak_list_words)
    closers = frozenset(pipe.rules.list_closers)
    own_negations = frozenset(pipe.rules.list_own_negations)
    items = [list(r) for r in read]

    def closed_later(ent: Any) -> bool:
        """Whether a list closer ("or", "nor") follows the mention in its sentence."""
        end = ent.sent.end if ent.end <= ent.sent.end else ent.end
        return any(t.lower_ in closers for t in doc[ent.end : end])

    def passes(j: int, i: int) -> list[IgnoreReason]:
        """What mention j passes on to mention i: a trigger limited to some concepts ("after the
        gym") only to those."""
        label = items[i][0].label_.removesuffix(_ABSENT)
        return _ignore_reasons(items[j][0], audience, items[j][1], for_label=label)[0]

    plain = sorted((i for i, r in enumerate(items) if not r[1]), key=lambda i: items[i][0].start)
    last = {i: _last_sentence_start(items[i][0]) for i in plain}
    for k, i in enumerate(plain):
        ent = items[i][0]
        for j in plain[k + 1 :]:  # sorted by start: only later ones can still overlap
            other = items[j][0]
            if other.start >= ent.end:
                break
            if last[i] != last[j]:
                continue
            for a, b in ((i, j), (j, i)):
                if items[b][3]:
                    items[a][3] = [*items[a][3], *(r for r in passes(b, a) if r not in items[a][3])]
            items[i][4] = items[j][4] = bool(items[i][4] or items[j][4])
    plain.sort(key=lambda i: items[i][0].start)
    for k, i in enumerate(plain):
        ent = items[i][0]
        if items[i][3]:
            continue
        for j in plain[:k][::-1]:
            before = items[j][0]
            if before.end > ent.start:
                continue
            between = doc[before.end : ent.start]
            if (
                items[j][3]
                and len(between) <= 4
                and all(t.norm_ in joiners or t.lower_ in joiners for t in between)
                and not any(t.is_sent_start for t in doc[before.end : ent.start + 1])
                and not any(t.norm_ in own_negations or t.lower_ in own_negations for t in ent)
                and (not all(t.norm_ in weak or t.lower_ in weak for t in between) or closed_later(ent))
            ):
                items[i][3] = list(passes(j, i))
            break
    return [(r[0], r[1], r[2], r[3], r[4]) for r in items]


def _overlap(a: Mention, b: Mention) -> bool:
    return a.start < b.end and b.start < a.end


def _covers(wide: Mention, narrow: Mention) -> bool:
    """True when wide sets every finding of narrow, each at least as urgent."""
    order = load_merge_order()
    for finding, value in narrow.sets.items():
        if finding not in wide.sets:
            return False
        values = order.order_of(finding)
        rank = {repr(v): i for i, v in enumerate(values)}
        if rank[repr(wide.sets[finding])] < rank[repr(value)]:
            return False
    return True


def _most_specific(mentions: list[Mention]) -> list[Mention]:
    """Drop a mention whose words another overlapping mention reads at least as urgently.

    "My legs keep giving way on the stairs" is leg weakness and sudden leg weakness: the
    sudden reading sets the same finding more urgently, so only it is listed. The findings
    update is the same either way (the merge keeps the most urgent value).
    """
    kept: list[Mention] = []
    for i, mention in enumerate(mentions):
        dominated = False
        for j, other in enumerate(mentions):
            if i == j or not _overlap(mention, other) or not _covers(other, mention):
                continue
            if not _covers(mention, other) or (other.end - other.start, -j) > (
                mention.end - mention.start,
                -i,
            ):
                dominated = True  # other is more urgent, or the same and longer (or first)
                break
        if not dominated:
            kept.append(mention)
    return kept


LEARNED_REVIEW = "learned_review"  # the concept of a review mention from the learned layer


def screen_message(
    text: str, audience: Audience = "adult", pipeline: Pipeline | None = None, kind: TextKind = "message"
) -> Screening:
    """Screen one patient (or parent) message, or a diary note (kind "diary"), for red flags;
    never raises.

    If the pipeline cannot run, the result has status "error" and needs_review is True. When the
    rules send the text to nobody, the learned review layer may still send it to a person at
    normal priority (a `review` mention of concept "learned_review", with no text span).
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
        review: list[Mention] = []
        read = _shared_context(_read_all(doc, pipe, audience), pipe, doc, audience)
        for ent, absent, concept, reasons, uncertain in read:
            about_someone_else = False
            if concept.safety:
                # The safety layer reads what a relative or carer writes about someone ("my
                # husband can't pass urine"): often the patient. A person reads it, normal priority.
                explained = (ent.start, ent.end, ent.label_) in doc.user_data.get(_EXPLAINED_SAFETY, ())
                about_someone_else = "family" in reasons or explained  # explained: rules 2.2.1
                reasons = [r for r in reasons if r != "family"]
                if "hypothetical" in reasons and _in_a_question(ent, doc):
                    # rules 2.6.0: a question never hides the safety layer, whatever made it
                    # hypothetical ("if I ever wet myself do I come in?", "if anything my legs got
                    # weaker, is that normal?"): a person reads it at normal priority
                    reasons = [r for r in reasons if r != "hypothetical"]
                    about_someone_else = True
            sets: dict[str, bool | str] = dict(concept.sets)
            if absent:
                if uncertain or "negated" in reasons:
                    # "I don't think I can feel my groin": a hedged or denied absence is unknown.
                    reasons = [r for r in reasons if r != "negated"]
                    uncertain = True
                else:
                    # "I can feel my groin fine" says the symptom is not there.
                    reasons = [*reasons, "negated"] if "negated" not in reasons else reasons
            elif (
                uncertain
                and "negated" in reasons
                and (ent.start, ent.end, ent.label_) not in doc.user_data.get(_EXPLAINED_MENTIONS, ())
            ):
                # "I don't think I have a fever": a hedge is never a no (POLICY.md rule 3).
                reasons = [r for r in reasons if r != "negated"]
            if uncertain:
                sets = _unknown_values(sets)
            # a safety-layer hit is screening being unsure (after the context above: it is
            # not a hedge that could undo a negation): the reply offers the red-flag check
            uncertain = uncertain or concept.safety
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
            if reasons == ["historical"] and concept.historical_sets is not None:
                # a lasting condition told as past still holds (and a past cancer is "past")
                past = dict(concept.historical_sets or concept.sets)
                modifiers.append(Mention(**{**fields, "kind": "modifier", "sets": past}))
                review.append(Mention(**{**fields, "kind": "review", "sets": {}}))
            elif reasons:
                ignored.append(IgnoredMention(**fields, reasons=reasons))
            elif about_someone_else or (concept.safety and concept.kind == "review"):
                review.append(Mention(**{**fields, "kind": "review", "sets": {}}))
            elif concept.kind == "red_flag":
                flags.append(Mention(**fields))
            elif concept.kind == "review":
                review.append(Mention(**fields))
            else:
                modifiers.append(Mention(**fields))
                # a hedged modifier ("not sure if he fell": trauma unknown) is unsure: a person reads it
                if audience in concept.review_audiences or uncertain:
                    review.append(Mention(**{**fields, "kind": "review", "sets": {}}))
        # A safety-layer hit counts only where no concept reads the same words ("numb down
        # there" is saddle numbness, not also an unknown sexual problem)
        layer = {c.id for c in pipe.rules.concepts if c.safety}
        flags = [
            f
            for f in flags
            if f.concept not in layer or not any(_overlap(f, g) for g in flags if g.concept not in layer)
        ]
        flags, modifiers = _most_specific(flags), _most_specific(modifiers)
        # A review word inside a red flag adds nothing; inside an ignored mention it is ignored
        # with it (listed once). Beside a modifier it still asks for review.
        review = [m for m in review if not any(_overlap(m, f) and f.concept != m.concept for f in flags)]
        review = _paired(review, [*flags, *modifiers], doc, pipe.rules)
        ignored = [
            m
            for m in ignored
            if m.kind != "review"
            or not any(_overlap(m, o) for o in [*flags, *modifiers, *ignored] if o.kind != "review")
        ]
        status: Literal["ok", "unrecognised_language"] = "ok"
        error = None
        known, total = _known_share(doc, pipe.rules)
        check = pipe.rules.language_check
        read_by_concepts = [f for f in flags if f.concept not in layer]
        if not read_by_concepts and total >= check.min_words and known < check.min_known_share * total:
            # (a safety-layer hit in such a text keeps its flag: the net is shown as well)
            # The phrase rules are English: a message they cannot read goes to a person.
            status = "unrecognised_language"
            error = f"only {known} of {total} words are known English words; read it yourself"
        learned = pipe.review
        model_ran: str | None = None
        if learned is not None and status == "ok" and not flags and not review:
            probability = learned.probability(text, audience, kind)
            model_ran = learned.label
            # a probability that is no number (NaN) asks for a person too: never a silent "no"
            if not math.isfinite(probability) or probability >= learned.spec.threshold:
                nothing: dict[str, bool | str] = {}  # the model sets no finding and has no text span
                review.append(
                    Mention(
                        concept=LEARNED_REVIEW,
                        kind="review",
                        sets=nothing,
                        text="",
                        start=0,
                        end=0,
                        uncertain=True,
                    )
                )
        return Screening(
            status=status,
            audience=audience,
            flags=flags,
            modifiers=modifiers,
            ignored=ignored,
            rules_version=version,
            error=error,
            review=review,
            review_model=model_ran,
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
