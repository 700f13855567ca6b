"""The diary form's clinical part: the short red-flag check in the audience's wording, and an
entry from a form or a request body, where an unanswered check question counts as "unknown"
(never as a "no")."""

from __future__ import annotations

from typing import Any

from telespine.care.diary import DiaryEntry
from telespine.errors import ClinicalFailure, TelespineError


def diary_questions(audience: str) -> list[dict[str, str]]:
    """The short red-flag check of the diary (id, text) in the audience's wording."""
    from telespine.care.escalation import load_escalation_rules

    rules = load_escalation_rules()
    return [
        {"id": q.id, "text": q.text_pediatric if audience == "pediatric" else q.text}
        for q in rules.red_flag_check
    ]


class DiaryProblem(TelespineError, ValueError):
    """A diary entry that does not fit the model: the form shows the problem."""


def diary_entry(doc: dict[str, Any]) -> DiaryEntry:
    """A validated DiaryEntry; unanswered red-flag questions count as "unknown". ClinicalFailure
    when the check itself cannot be loaded (the caller shows the safety net)."""
    from pydantic import ValidationError

    try:
        asked = [q["id"] for q in diary_questions("adult")]
    except Exception as exc:
        raise ClinicalFailure(type(exc).__name__) from None
    answers = doc.get("red_flag_check") or {}
    check = {
        qid: answers.get(qid) if answers.get(qid) in ("yes", "no", "unknown") else "unknown" for qid in asked
    }
    try:
        return DiaryEntry.model_validate({**doc, "red_flag_check": check}, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DiaryProblem(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
