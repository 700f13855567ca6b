"""telespine.triage: findings validation, rules as data, the pure engine and the questionnaire."""

from telespine.triage.engine import evaluate, safety_net, triage
from telespine.triage.findings import FindingsError, validate_findings
from telespine.triage.rules import Rule, RuleSet, RuleSetError, load_ruleset

__all__ = [
    "FindingsError",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "evaluate",
    "load_ruleset",
    "safety_net",
    "triage",
    "validate_findings",
]
