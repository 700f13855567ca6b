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
            return f"(isinstance(v := get({name}), _NUM) and v.__class__ is not bool and v {op} {limit})"
        if isinstance(cond, All):
            return "(" + " and ".join(self.expr(c) for c in cond.children) + ")"
        if isinstance(cond, AnyOf):
            return "(" + " or ".join(self.expr(c) for c in cond.children) + ")"
        # at_least (and any node added later): its own closure, same semantics
        from telespine.triage.rules import compile_condition

        return f"{self.const(compile_condition(cond))}(d)"


class _Missing:
    """The value of a finding the document does not have (a distinct object: never a JSON value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


class _LocalSource(_Source):
    """As _Source, but each finding is a local variable read once per document.

    `x = d.get(name, MISSING)` for every finding the rules read (once per document), so a leaf is
    a local-variable test: `x is True`; `x is False or x is MISSING` (`d.get(name, False) is
    False`); `x == C`; `x in C`; a number test on a local that is the value if it is a number,
    else None (`number`). MISSING equals nothing and is in no set,
    which is what None gave for an absent finding (build() checks no rule compares with None).
    """

    def __init__(self) -> None:
        super().__init__()
        self.locals: dict[str, str] = {}
        self.numbers: dict[str, str] = {}

    def number(self, finding: str) -> str:
        """A local holding the finding when it is a number (as rules._number: an int or float
        that is not a bool), else None; computed once per document."""
        if finding not in self.numbers:
            self.numbers[finding] = f"n{len(self.numbers)}_{self.var(finding)}"
        return self.numbers[finding]

    def number_lines(self) -> list[str]:
        out = []
        for finding, n in self.numbers.items():
            x = self.locals[finding]
            out.append(
                f"    {n} = {x} if {x}.__class__ is int or {x}.__class__ is float else "
                f"({x} if {x} is not MISSING and isinstance({x}, _NUM) and {x}.__class__ is not bool "
                "else None)"
            )
        return out

    def var(self, finding: str) -> str:
        if finding not in self.locals:
            self.locals[finding] = f"f{len(self.locals)}"
        return self.locals[finding]

    def expr(self, cond: Any) -> str:
        if isinstance(cond, IsTrue):
            return f"({self.var(cond.is_true)} is True)"
        if isinstance(cond, IsFalse):
            x = self.var(cond.is_false)
            return f"({x} is False or {x} is MISSING)"
        if isinstance(cond, Equals):
            return f"({self.var(cond.equals.finding)} == {self.const(cond.equals.value)})"
        if isinstance(cond, In):
            return f"({self.var(cond.in_.finding)} in {self.const(frozenset(cond.in_.values))})"
        if isinstance(cond, Gte | Gt | Lt):
            op = ">=" if isinstance(cond, Gte) else ">" if isinstance(cond, Gt) else "<"
            x, limit = self.number(cond.args.finding), self.const(cond.args.value)
            return f"({x} is not None and {x} {op} {limit})"
        if isinstance(cond, All):
            return "(" + " and ".join(self.expr(c) for c in cond.children) + ")"
        if isinstance(cond, AnyOf):
            return "(" + " or ".join(self.expr(c) for c in cond.children) + ")"
        from telespine.triage.rules import compile_condition

        return f"{self.const(compile_condition(cond))}(d)"


def _compares_with_none(cond: Any) -> bool:
    if isinstance(cond, Equals):
        return cond.equals.value is None
    if isinstance(cond, In):
        return None in cond.in_.values
    if isinstance(cond, All | AnyOf):
        return any(_compares_with_none(c) for c in cond.children)
    return False


def build(rs: RuleSet, audience: Audience) -> Fire:
    """The function that returns the fired rules of a document, most urgent first, in the voice
    of the audience, exactly as `[r.fired_for(a) for r in rs.candidates(a, d) if r.test(d)]`.

    The candidate pruning (a rule is tested only when the document has a finding it reads)
    changes the result only for a rule that holds with all its findings absent (an is_false
    test); only those rules test the presence of their findings, the rest are false anyway
    when none of their findings is there.
    """
    rules = rs.applicable(audience)
    if any(_compares_with_none(r.when) for r in rules):
        return _build_lookups(rs, audience)
    src = _LocalSource()
    masks = rs._masks[audience]
    body: list[str] = []
    for position, rule in enumerate(rules):
        fired = src.const(rule.fired_for(audience))
        test = src.expr(rule.when)
        if rule.test({}):
            reads = [src.var(name) for name, mask in masks.items() if mask & (1 << position)]
            present = " or ".join(f"{x} is not MISSING" for x in reads) or "False"
            test = f"({present}) and {test}"
        body.append(f"    if {test}:")
        body.append(f"        out.append({fired})")
    names = list(src.locals)
    head = ["def fire(d):"]
    if names:
        # `x = d.get(name, MISSING)` for every finding read, by one pass over the document's
        # few keys into a list of MISSING (cheaper than a look-up per finding)
        head += [
            "    values = ABSENT.copy()",
            "    for k, x in d.items():",
            "        i = index(k)",
            "        if i is not None:",
            "            values[i] = x",
            f"    {', '.join(src.locals[n] for n in names)}, = values",
        ]
    lines = [*head, *src.number_lines(), "    out = []", *body, "    return out"]
    namespace: dict[str, Any] = {
        **src.names,
        "MISSING": MISSING,
        "index": {name: i for i, name in enumerate(names)}.get,
        "ABSENT": [MISSING] * len(names),
    }
    code = compile("\n".join(lines), f"<telespine rules {rs.version} {audience}>", "exec")
    exec(code, namespace)  # noqa: S102 -- our own generated source; rule data only as constants
    fire: Fire = namespace["fire"]
    return fire


def _build_lookups(rs: RuleSet, audience: Audience) -> Fire:
    """The former generated function (a `d.get` per leaf, candidate bitmask): used when a rule
    compares a finding with None, where an absent finding must read as None."""
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
