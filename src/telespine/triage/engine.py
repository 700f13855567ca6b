"""The pure triage engine: findings in, TriageResult out."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import compress, repeat
from operator import eq
from typing import Any

from pydantic import BaseModel

from telespine.triage.compiled import _ATTR as _PLANS
from telespine.triage.compiled import compiled_plan
from telespine.triage.emergency import (
    DEFAULT_EMERGENCY_NUMBER,
    EMERGENCY_NUMBER_PLACEHOLDER,
    builtin_safety_net,
    with_emergency_number,
)
from telespine.triage.findings import UNKNOWN, FindingsError, validate_findings
from telespine.triage.rules import RuleSet, load_ruleset
from telespine.triage.types import (
    Audience,
    Disposition,
    FiredRule,
    RulesetRef,
    TriageResult,
    audience_for_age,
)

ADULT_AGE = 18  # as telespine.triage.types.audience_for_age, inlined on the hot path
_NUMBER = (int, float)

# The safety-net text lives in code, not in the rule files: it must still work when those are broken.
# Like every rule reason it names no number ("your emergency number"); the caller shows the number.
ENGINE_FAILURE = FiredRule(
    id="safety.engine_failure",
    level=Disposition.EMERGENCY,
    title="We could not check your answers safely",
    reason=builtin_safety_net("adult", "Something went wrong and we could not check your answers."),
    rationale=(
        "The triage engine could not produce a result (rule set failed to load or evaluation raised). "
        "Emergency safety-netting shown by design (POLICY.md property 4); review the error."
    ),
    sources=["seed-004", "seed-000"],
)

# The same for a parent or carer (age under 18 known): signs in a child, no adult-only wording.
ENGINE_FAILURE_PARENT = ENGINE_FAILURE.model_copy(
    update={
        "title": "We could not check your answers about your child safely",
        "reason": builtin_safety_net(
            "pediatric", "Something went wrong and we could not check your answers."
        ),
    }
)


def engine_failure_rule(audience: Audience | None) -> FiredRule:
    """The safety-net pseudo rule in the voice of the audience (adult when age is unknown)."""
    return ENGINE_FAILURE_PARENT if audience == "pediatric" else ENGINE_FAILURE


def safety_net_message(audience: Audience | None, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """What a person or parent is told when the engine fails, with the emergency number to call."""
    call = f"Your emergency number is {EMERGENCY_NUMBER_PLACEHOLDER}."
    return with_emergency_number(f"{engine_failure_rule(audience).reason} {call}", emergency_number)


_UNAVAILABLE = RulesetRef(version="unavailable", sha256="unavailable")


def evaluate(findings: Mapping[str, Any], ruleset: RuleSet | None = None) -> TriageResult:
    """Apply every rule for the person's age group; pure, and raises on a bug (see triage())."""
    rs = ruleset if ruleset is not None else load_ruleset()
    age = findings["age_years"]
    if age.__class__ is bool or not isinstance(age, _NUMBER):
        raise TypeError("age_years must be a number")
    audience: Audience = "pediatric" if age < ADULT_AGE else "adult"
    plans = rs.__dict__.get(_PLANS)
    plan = plans[audience] if plans is not None else compiled_plan(rs, audience)
    # The rules as one generated function (triage/compiled.py): the same rules fire, in the same
    # order, as `[r.fired_for(audience) for r in rs.candidates(audience, d) if r.test(d)]`; under
    # 18 every reason is in the parent's voice.
    fired = plan.fire(findings)
    # `[name for name, value in findings.items() if value == UNKNOWN]`, without a Python loop
    unresolved = list(compress(findings, map(eq, findings.values(), repeat(UNKNOWN))))
    level = fired[0].level if fired else Disposition.TELEMEDICINE
    if unresolved:
        unresolved.sort()  # deterministic whatever the key order of the document
        number = _LEVEL_NUMBER[level]
        if number > _URGENT:
            # POLICY.md rule 3: unknown is not "no". An unknown finding that alone fires an
            # emergency rule gives at least urgent; any other unknown that can reach prompt or
            # more, prompt.
            if not plan.urgent_unknown.isdisjoint(unresolved):
                fired.insert(0, plan.unknown_urgent_rule)  # most urgent first
                level = Disposition.URGENT
            elif number > _PROMPT and not plan.reach_prompt.isdisjoint(unresolved):
                fired.insert(0, plan.unknown_rule)
                level = Disposition.PROMPT
    return _result(
        {
            "disposition": level,
            "audience": audience,
            "rules": fired,
            "unresolved": unresolved,
            "ruleset": plan.ref,
            "safety_net": False,
            "error": None,
        }
    )


_LEVEL_NUMBER = {d: d.level for d in Disposition}
_URGENT = Disposition.URGENT.level
_PROMPT = Disposition.PROMPT.level


_new_result = TriageResult.__new__
_FIELDS = set(TriageResult.model_fields)  # evaluate() always gives every field
_set = object.__setattr__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _result(values: dict[str, Any]) -> TriageResult:
    """A TriageResult from parts that are already valid, without re-validating them.

    This is what pydantic's model_construct() does, minus its per-field default and alias
    handling, which costs about a quarter of an evaluation; tests check that the result equals
    a fully validated TriageResult.
    """
    result = _new_result(TriageResult)
    _set(result, "__dict__", values)
    _set_fields(result, _FIELDS.copy())  # the slots' own setters: no attribute look-up by name
    _set_extra(result, None)
    _set_private(result, None)
    return result


def safety_net(error: str, ruleset: RuleSet | None = None, age: object = None) -> TriageResult:
    """The emergency safety-net result shown when the engine cannot evaluate."""
    ref = RulesetRef(version=ruleset.version, sha256=ruleset.sha256) if ruleset is not None else _UNAVAILABLE
    audience = audience_for_age(age) if isinstance(age, int | float) and not isinstance(age, bool) else None
    return TriageResult(
        disposition=Disposition.EMERGENCY,
        audience=audience,
        rules=[engine_failure_rule(audience)],
        unresolved=[],
        ruleset=ref,
        safety_net=True,
        error=error,
    )


def triage(doc: object, ruleset: RuleSet | None = None) -> TriageResult:
    """Validate then evaluate; invalid findings raise FindingsError, any engine failure safety-nets."""
    try:
        findings = validate_findings(doc)
    except FindingsError:
        raise
    except Exception as exc:  # the validator itself broke: never reassure
        return safety_net(f"validation failed: {type(exc).__name__}: {exc}")
    rs: RuleSet | None = ruleset
    try:
        if rs is None:
            rs = load_ruleset()
        return evaluate(findings, rs)
    except Exception as exc:  # fail safe (POLICY.md property 4), whatever went wrong
        return safety_net(f"{type(exc).__name__}: {exc}", rs, findings.get("age_years"))
