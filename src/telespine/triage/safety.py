"""The emergency safety-net result for callers outside the engine, with a last-resort fallback."""

from __future__ import annotations

from telespine.triage.types import Disposition, FiredRule, RulesetRef, TriageResult

# Used only when the engine's own safety-net helper fails (its rule file cannot load, say);
# the wording mirrors the engine's safety.engine_failure rule.
_FALLBACK_RULE = FiredRule(
    id="safety.engine_failure",
    level=Disposition.EMERGENCY,
    title="The assessment could not be completed",
    # for an adult or a parent alike: the audience may be what failed
    reason=(
        "We could not finish checking the answers. To be safe, treat this as an emergency "
        "if you, or the child you are checking for, have any of the warning signs on this page."
    ),
    rationale="The triage engine failed; the safety net shows emergency advice instead of a result.",
    sources=["seed-004"],
)


def safety_net_result(error: str) -> TriageResult:
    """The emergency safety-net result, built by the engine when it can be, else here."""
    try:
        from telespine.triage.engine import safety_net

        return safety_net(error)
    except Exception:
        return TriageResult(
            disposition=Disposition.EMERGENCY,
            audience=None,
            rules=[_FALLBACK_RULE],
            unresolved=[],
            ruleset=RulesetRef(version="unavailable", sha256="unavailable"),
            safety_net=True,
            error=error,
        )
