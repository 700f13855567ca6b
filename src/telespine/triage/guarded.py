"""Triage entry points for adapters, each guarded so that a failure gives the emergency safety net.

Invalid findings raise InvalidFindings (the caller shows the problem and no disposition); any
other failure (a broken rule file, an engine bug, answers that cannot become findings) gives the
safety-net result, never a reassuring answer (POLICY.md property 4).
"""

from __future__ import annotations

import logging
from typing import Any

from telespine.errors import TelespineError
from telespine.triage.safety import safety_net_result
from telespine.triage.types import Audience, TriageResult, is_audience

log = logging.getLogger("telespine.triage")


class InvalidFindings(TelespineError, ValueError):
    """Findings that fail validation: the caller shows the problem and no disposition."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _engine_triage(doc: object) -> TriageResult:
    """Indirection so tests can make the engine raise."""
    from telespine.triage import triage

    return triage(doc)


def run_triage(doc: object) -> TriageResult:
    """Validate and evaluate findings. Invalid findings raise InvalidFindings; anything else safety-nets."""
    try:
        from telespine.triage import FindingsError
    except Exception as exc:
        log.error("triage package unavailable: %s", type(exc).__name__)
        return safety_net_result(f"triage unavailable: {type(exc).__name__}")
    try:
        result = _engine_triage(doc)
    except FindingsError as exc:
        raise InvalidFindings(str(getattr(exc, "field", "")), str(getattr(exc, "problem", exc))) from None
    except Exception as exc:  # never a reassuring answer after a crash (POLICY.md property 4)
        log.error("triage raised %s; showing the safety net", type(exc).__name__)
        return safety_net_result(f"{type(exc).__name__}")
    if not isinstance(result, TriageResult):
        return safety_net_result("triage returned no result")
    return result


def audience_for_answers(answers: dict[str, Any], hint: str | None) -> Audience:
    """The audience the answers give (the age); before the age is known, the hint, else adult."""
    from telespine.triage import questionnaire as q

    known = q.audience_for(answers)
    if known:
        return known
    return hint if hint is not None and is_audience(hint) else "adult"


def audience_of(answers: dict[str, Any], hint: str | None = None) -> Audience:
    """audience_for_answers that never raises: the hint (or adult) when the questionnaire fails."""
    try:
        return audience_for_answers(answers, hint)
    except Exception:
        return hint if hint is not None and is_audience(hint) else "adult"


def result_from_answers(answers: dict[str, Any]) -> tuple[dict[str, Any] | None, TriageResult]:
    """(findings, result) for the answers; any failure gives (None, the emergency safety net)."""
    try:
        from telespine.triage import questionnaire as q

        findings = q.findings_from_answers(answers)
    except Exception as exc:
        log.error("answers could not become findings: %s", type(exc).__name__)
        return None, safety_net_result(type(exc).__name__)
    try:
        return findings, run_triage(findings)
    except InvalidFindings:
        return None, safety_net_result("findings invalid")
