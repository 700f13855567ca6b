"""The rule set as one generated Python function per age group: the engine's fast path.

`rules.py` compiles each condition tree into nested closures (one call per node). Here every
applicable rule's condition becomes one inline boolean expression in a single function, so a
document costs one call instead of dozens. The semantics are those of the closures, leaf by
leaf (`d.get(name) is True`, `d.get(name, False) is False`, `==`, `in` a frozenset, numbers
that are int or float but not bool), with the same short-circuit order; an `at_least` node
calls its closure. The candidate pruning is the same too: a rule is tested only when the
document has a finding it reads (the rule set's bitmasks). Tests compare the generated
function with the closures on generated documents (tests/triage/test_triage_compiled.py).

No text from the rule files reaches the generated source: names and values are passed as
constants (C0, C1 ...) in the function's namespace, never written into the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from telespine.triage.rules import (
    All,
    AnyOf,
    Equals,
    Gt,
    Gte,
    In,
    IsFalse,
    IsTrue,
    Lt,
    RuleSet,
)
from telespine.triage.types import Audience, FiredRule, RulesetRef

Fire = Callable[[Mapping[str, Any]], list[FiredRule]]


class _Source:
    """Collects the constants a generated expression needs."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_NUM": (int, float)}

    def const(self, value: Any) -> str:
        name = f"C{len(self.names)}"
        self.names[name] = value
        return name

    def expr(self, cond: Any) -> str:
        if isinstance(cond, IsTrue):
            return f"(get({self.const(cond.is_true)}) is True)"
        if isinstance(cond, IsFalse):
            return f"(get({self.const(cond.is_false)}, False) is False)"
        if isinstance(cond, Equals):
            return f"(get({self.const(cond.equals.finding)}) == {self.const(cond.equals.value)})"
        if isinstance(cond, In):
            values = self.const(frozenset(cond.in_.values))
            return f"(get({self.const(cond.in_.finding)}) in {values})"
        if isinstance(cond, Gte | Gt | Lt):
            op = ">=" if isinstance(cond, Gte) else ">" if isinstance(cond, Gt) else "<"
            name, limit = self.const(cond.args.finding), self.const(cond.args.value)
            # as rules._number: an int or float that is not a bool (bool cannot be subclassed)
            return (
                f"(isinstance(v := get({name}), _NUM) and v.__class__ is not bool and v {op} {limit})"
            )
        if isinstance(cond, All):
            return "(" + " and ".join(self.expr(c) for c in cond.children) + ")"
        if isinstance(cond, AnyOf):
            return "(" + " or ".join(self.expr(c) for c in cond.children) + ")"
        # at_least (and any node added later): its own closure, same semantics
        from telespine.triage.rules import compile_condition

        return f"{self.const(compile_condition(cond))}(d)"


def build(rs: RuleSet, audience: Audience) -> Fire:
    """The function that returns the fired rules of a document, most urgent first, in the voice
    of the audience, exactly as `[r.fired_for(a) for r in rs.candidates(a, d) if r.test(d)]`."""
    src = _Source()
    rules = rs.applicable(audience)
    masks = rs._masks[audience]
    lines = [
        "def fire(d):",
        "    m = 0",
        "    for k in d:",
        "        m |= masks_get(k, 0)",
        "    if not m:",
        "        return []",
        "    get = d.get",
        "    out = []",
    ]
    for position, rule in enumerate(rules):
        fired = src.const(rule.fired_for(audience))
        lines.append(f"    if m & {1 << position} and {src.expr(rule.when)}:")
        lines.append(f"        out.append({fired})")
    lines.append("    return out")
    namespace: dict[str, Any] = {**src.names, "masks_get": masks.get}
    code = compile("\n".join(lines), f"<telespine rules {rs.version} {audience}>", "exec")
    exec(code, namespace)  # noqa: S102 -- our own generated source; rule data only as constants
    fire: Fire = namespace["fire"]
    return fire


@dataclass(frozen=True)
class Plan:
    """What evaluate() needs of a rule set for one age group, looked up once."""

    fire: Fire
    urgent_unknown: frozenset[str]
    reach_prompt: frozenset[str]
    unknown_urgent_rule: FiredRule
    unknown_rule: FiredRule
    ref: RulesetRef


_ATTR = "_telespine_compiled_plans"


def compiled_plan(rs: RuleSet, audience: Audience) -> Plan:
    """The plan of a rule set and age group, built once per loaded rule set and kept on it."""
    plans: dict[str, Plan] | None = rs.__dict__.get(_ATTR)
    if plans is None:
        plans = {
            a: Plan(
                fire=build(rs, a),
                urgent_unknown=frozenset(rs.urgent_unknown_findings),
                reach_prompt=rs.can_reach_prompt(a),
                unknown_urgent_rule=rs.unresolved_unknown_urgent_for(a),
                unknown_rule=rs.unresolved_unknown_for(a),
                ref=rs.ref,
            )
            for a in ("adult", "pediatric")
        }
        object.__setattr__(rs, _ATTR, plans)  # RuleSet is a frozen dataclass: a cache, not state
    return plans[audience]


def fire_function(rs: RuleSet, audience: Audience) -> Fire:
    """The generated function of a rule set and age group."""
    return compiled_plan(rs, audience).fire
