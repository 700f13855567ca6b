"""The assessment in progress as the pages keep it in the server-side session (key "assess").

One typed shape for the result page (pages/routes.py) and the program pages (pages/program.py):
the answers so far, who the check is about, the questions in the order asked (for going back),
the assessment it was saved as, and the plan answers (medicines, questionnaires, choices)."""

from __future__ import annotations

from typing import Any, TypedDict

DRAFT = "assess"  # the session key


class PlanDraft(TypedDict, total=False):
    medicines: dict[str, Any]
    questionnaires: dict[str, Any]  # instrument id -> {"responses", "taken_at"} or {"skipped": True}
    choices: dict[str, Any]
    saved_for: str | None  # the assessment these plan answers were stored with, if unchanged since


class AssessmentDraft(TypedDict, total=False):
    answers: dict[str, Any]  # question id -> answer
    who: str  # "self" or "child"
    history: list[str]  # question ids in the order asked
    saved_id: str | None  # the saved assessment these answers belong to
    plan: PlanDraft
