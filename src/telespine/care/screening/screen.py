"""screen_message: the public entry point."""

from __future__ import annotations

from typing import Any, Literal

from telespine.care.screening.context import _ignore_reasons, _unknown_values
from telespine.care.screening.language import _known_share
from telespine.care.screening.matching import _ABSENT, _GROUP, Pipeline, _distinct, _run_lock, get_pipeline
from telespine.care.screening.normalise import normalise_text
from telespine.care.screening.result import IgnoredMention, Mention, Screening
from telespine.triage.types import Audience


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
