"""telespine.triage: findings validation, rules as data, the pure engine and the questionnaire.

The names below are imported on first use (PEP 562), so `from telespine.triage import
validate_findings` loads the findings module only, not the rules or the questionnaire: the
command line starts faster. Type checkers see ordinary imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telespine.triage.engine import evaluate, safety_net, triage
    from telespine.triage.findings import FindingsError, loads_findings, validate_findings
    from telespine.triage.questionnaire import (
        AnswerError,
        Question,
        Questionnaire,
        QuestionnaireError,
        emergency_certain,
        findings_from_answers,
        load_questionnaire,
        next_question,
        progress,
    )
    from telespine.triage.rules import Rule, RuleSet, RuleSetError, load_ruleset

_WHERE = {
    "evaluate": "engine",
    "safety_net": "engine",
    "triage": "engine",
    "FindingsError": "findings",
    "loads_findings": "findings",
    "validate_findings": "findings",
    "AnswerError": "questionnaire",
    "Question": "questionnaire",
    "Questionnaire": "questionnaire",
    "QuestionnaireError": "questionnaire",
    "emergency_certain": "questionnaire",
    "findings_from_answers": "questionnaire",
    "load_questionnaire": "questionnaire",
    "next_question": "questionnaire",
    "progress": "questionnaire",
    "Rule": "rules",
    "RuleSet": "rules",
    "RuleSetError": "rules",
    "load_ruleset": "rules",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "AnswerError",
    "FindingsError",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "emergency_certain",
    "evaluate",
    "findings_from_answers",
    "load_questionnaire",
    "load_ruleset",
    "loads_findings",
    "next_question",
    "progress",
    "safety_net",
    "triage",
    "validate_findings",
]
