"""The one-minute red-flag check offered in the automatic reply: the diary's questions, whose
answers become findings updates for re-triage. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telespine.care.escalation import load_escalation_rules
from telespine.care.findings_merge import FindingValue, merge_findings

ANSWERS = ("yes", "no", "unknown")


class CheckAnswerError(ValueError):
    """An answer to a question the check does not ask, or a value other than yes/no/unknown."""


def check_answers(raw: Mapping[str, Any]) -> dict[str, str]:
    """Every question of the check with its answer; a missing answer is "unknown" (never "no")."""
    questions = [q.id for q in load_escalation_rules().red_flag_check]
    extra = sorted(set(raw) - set(questions))
    if extra:
        raise CheckAnswerError(f"unknown question: {extra[0]}")
    out: dict[str, str] = {}
    for qid in questions:
        value = str(raw.get(qid, "unknown") or "unknown").strip().lower()
        value = "unknown" if value in ("unsure", "not sure", "") else value
        if value not in ANSWERS:
            raise CheckAnswerError(f"{qid}: answer yes, no or unknown")
        out[qid] = value
    return out


def check_updates(answers: Mapping[str, str]) -> dict[str, FindingValue]:
    """The findings a completed check sets: a yes sets the question's findings, unknown sets
    them to "unknown" (an unresolved answer is at least prompt), a no sets nothing."""
    updates: dict[str, Any] = {}
    for question in load_escalation_rules().red_flag_check:
        answer = answers.get(question.id, "unknown")
        if answer == "no":
            continue
        new = question.sets if answer == "yes" else dict.fromkeys(question.sets, "unknown")
        updates = merge_findings(updates, new)
    return updates
