"""Re-triage a stored case with new findings from follow-up data (messages, diary, escalation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from telespine.care.findings_merge import FindingValue, merge_findings
from telespine.care.screening import Screening
from telespine.triage.emergency import builtin_safety_net
from telespine.triage.types import Disposition, FiredRule, RulesetRef, TriageResult

# Used only if telespine.triage itself cannot be imported: emergency safety-netting, never silence.
_FALLBACK_RULE = FiredRule(
    id="safety.engine_failure",
    level=Disposition.EMERGENCY,
    title="We could not check your answers safely",
    reason=builtin_safety_net(None, "Something went wrong and we could not check this safely."),
    rationale="telespine.care could not run the triage engine; emergency safety-netting by design.",
    sources=["seed-004", "seed-000"],
)


class Retriage(BaseModel):
    """The findings before and after a merge, and the triage result of the merged findings.

    escalated: the new disposition is more urgent than the one before the merge.
    needs_review: a clinician must look (a red flag, an escalation, a safety net or a failure).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    findings_before: dict[str, Any]
    findings_after: dict[str, Any]
    changed: list[str]
    previous: TriageResult
    result: TriageResult
    escalated: bool
    needs_review: bool


def _safety_net(error: str, age: object) -> TriageResult:
    """The engine's emergency safety-net result, or our own if the engine cannot be imported."""
    try:
        from telespine.triage import safety_net

        return safety_net(error, age=age)
    except Exception as exc:  # the engine package itself is broken
        return TriageResult(
            disposition=Disposition.EMERGENCY,
            audience=None,
            rules=[_FALLBACK_RULE],
            unresolved=[],
            ruleset=RulesetRef(version="unavailable", sha256="unavailable"),
            safety_net=True,
            error=f"{error}; triage unavailable: {type(exc).__name__}: {exc}",
        )


def _safe_triage(doc: Mapping[str, Any]) -> TriageResult:
    """telespine.triage.triage(), but a failure of any kind gives the emergency safety net."""
    try:
        from telespine.triage import triage

        return triage(dict(doc))
    except Exception as exc:  # invalid findings here mean our own merge or the stored case is broken
        return _safety_net(f"re-triage failed: {type(exc).__name__}: {exc}", doc.get("age_years"))


def retriage(
    findings: Mapping[str, Any], updates: Mapping[str, FindingValue], flagged: bool = False
) -> Retriage:
    """Merge updates into findings (only ever more urgent) and triage the result.

    flagged marks the input as already needing a clinician (e.g. an affirmed red flag).
    """
    before = dict(findings)
    previous = _safe_triage(before)
    try:
        after = merge_findings(before, updates)
    except Exception as exc:  # an update we cannot merge must not be dropped silently
        failed = _safety_net(f"merge failed: {type(exc).__name__}: {exc}", before.get("age_years"))
        return Retriage(
            findings_before=before,
            findings_after=before,
            changed=[],
            previous=previous,
            result=failed,
            escalated=True,
            needs_review=True,
        )
    result = _safe_triage(after) if after != before else previous
    if previous.disposition.more_urgent_than(result.disposition):
        # Replacing an "unknown" with a real answer can lower the result (an unresolved answer is
        # at least prompt). Follow-up data must never do that: keep those answers unknown for a
        # clinician to resolve; the other changes only raise findings, which the engine keeps monotone.
        after = {name: "unknown" if before.get(name) == "unknown" else value for name, value in after.items()}
        result = _safe_triage(after)
    if previous.disposition.more_urgent_than(result.disposition):  # an engine bug: change nothing
        after, result, flagged = before, previous, True
    changed = sorted(name for name in after if name not in before or before[name] != after[name])
    escalated = result.disposition.more_urgent_than(previous.disposition)
    return Retriage(
        findings_before=before,
        findings_after=after,
        changed=changed,
        previous=previous,
        result=result,
        escalated=escalated,
        needs_review=flagged or escalated or result.safety_net,
    )


def retriage_message(findings: Mapping[str, Any], screening: Screening) -> Retriage:
    """Re-triage a case with what a screened message affirmed; a failed screening needs review."""
    return retriage(findings, screening.findings_update(), flagged=screening.needs_review)
