"""The web's door to telespine.care for the clinician workspace: every call fails towards safety."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("telespine.web")


class ClinicalFailure(RuntimeError):
    """A domain package failed; the page must show the emergency safety net."""


# --- follow-up (telespine.care): diary questions, entries, emergency signs --------------------


def emergency_signs(audience: str) -> dict[str, Any]:
    """The emergency line and warning signs for a safety-net panel; built-in text if content fails."""
    try:
        from telespine.content import emergency_advice

        adv = emergency_advice("pediatric" if audience == "pediatric" else "adult")
        return {"line": adv.line, "signs": list(adv.signs)}
    except Exception as exc:
        log.error("emergency advice unavailable: %s", type(exc).__name__)
        return {
            "line": "Call the emergency number or go to an emergency department now.",
            "signs": [
                "New numbness around the groin or bottom",
                "New trouble passing urine, or wetting or soiling yourself",
                "New weakness in the legs, or legs giving way",
            ],
        }


def diary_questions(audience: str) -> list[dict[str, str]]:
    """The short red-flag check of the diary (id, text) in the audience's wording."""
    from telespine.care import load_escalation_rules

    rules = load_escalation_rules()
    return [
        {"id": q.id, "text": q.text_pediatric if audience == "pediatric" else q.text}
        for q in rules.red_flag_check
    ]


class DiaryProblem(ValueError):
    """A diary entry that does not fit the model: the form shows the problem."""


def diary_entry(doc: dict[str, Any]) -> Any:
    """A validated telespine.care.DiaryEntry; unanswered red-flag questions count as "unknown"."""
    from pydantic import ValidationError

    from telespine.care import DiaryEntry

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
