"""ConText: which mentions count (negated, hedged, hypothetical, historical, family)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telespine.care.findings_merge import load_merge_order
from telespine.care.screening.rules import IgnoreReason
from telespine.triage.types import Audience

# ConText categories that make a mention not count, and the name we report for each.
# POSSIBLE_EXISTENCE is deliberately absent: a hedged mention ("I think I have a fever", "I don't
# think I can feel my groin") counts, with its findings set to "unknown" (POLICY.md rule 3).
_IGNORING: dict[str, IgnoreReason] = {
    "NEGATED_EXISTENCE": "negated",
    "HYPOTHETICAL": "hypothetical",
    "HISTORICAL": "historical",
    "FAMILY": "family",
}


# Doc.user_data: indices of the tokens that start a line with no sentence end before the break
_LINE_STARTS = "telespine_line_starts"


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


# doc.user_data key: the labels of the safety layer (Concept.safety), set by the terms step
SAFETY_LABELS = "telespine_safety_labels"
# doc.user_data: the writer's own words (rules 2.5.0, `family_not_over`): a FAMILY trigger never
# reaches a mention that holds one ("my son tackled me", "my horse threw me off")
WRITER_WORDS = "telespine_writer_words"


def _apply_modifiers_by_sentence(graph: Any) -> None:
    """medspaCy's ConTextGraph.apply_modifiers, checking a target only against the modifiers of
    its sentences (the same edges in the same order: a modifier elsewhere never reaches it)."""
    from medspacy.util import tuple_overlaps

    if not graph.targets:
        graph.edges = []
        return
    doc = graph.targets[0].doc
    sentence_of = _sentence_numbers(doc)
    safety = doc.user_data.get(SAFETY_LABELS, frozenset())
    targets: dict[int, list[Any]] = {}
    for target in graph.targets:
        if target.label_ in safety:
            continue  # a safety-layer span never hides a trigger ("can't tell if", "haven't")
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


def _ignore_reasons(
    ent: Any, audience: Audience, absent: bool = False, for_label: str | None = None
) -> tuple[list[IgnoreReason], bool]:
    """Why a mention does not count (and whether it is hedged), from its ConText modifiers.

    for_label: the reasons this mention passes on to an overlapping mention of that concept
    (screen._shared_context): a trigger limited to some concepts (allowed_types: "after the gym"
    explains dead legs) passes on only to those concepts.
    """
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
    label = ent.label_.removesuffix(":absent").upper()
    if ent.label_ in ent.doc.user_data.get(SAFETY_LABELS, frozenset()):
        # a safety-layer span holds its own negation ("can't pee", "haven't been"): a trigger
        # inside its words is part of the symptom; triggers before it still read it
        modifiers = [m for m in modifiers if not ent.start <= m.modifier_span[0] < ent.end]
    for modifier in modifiers:
        if for_label is not None and not modifier.allows(for_label.upper()):
            continue
        if not modifier.allows(label):
            # spaCy keeps a span's extension values by its offsets, not its label: spans of two
            # concepts on the same words share ConText's modifiers; a limited trigger is checked here
            continue
        audiences = (modifier.rule.metadata or {}).get("audiences")
        if audiences is not None and audience not in audiences:
            continue
        if modifier.category == "FAMILY" and any(
            t.lower_ in ent.doc.user_data.get(WRITER_WORDS, frozenset()) for t in ent
        ):
            continue  # "my son tackled me": the writer's own injury
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
