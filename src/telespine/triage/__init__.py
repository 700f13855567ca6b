"""telespine.triage: findings validation, rules as data, the pure engine and the questionnaire."""

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
