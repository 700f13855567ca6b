"""Rules as data: the rule-file models, the strict loader and the compiler to closures.

A rule's condition is a tree of a small closed set of operators (is_true, is_false, equals, in,
gte, gt, lt, all, any, at_least). There is no expression language, no eval and no regex. Missing values
are explicit: an absent finding, "unknown", "none" and "normal" never make a leaf true, except that
is_false is true for an absent or false flag (never for "unknown").

ruleset.yaml is also the manifest: it lists the rule files and every rule id with its level, and
the loader refuses a rule set that differs from it (a lost file or rule must never reassure).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from telespine.datafile import load_yaml_file, load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.triage.emergency import hard_coded_number
from telespine.triage.findings import ABSENCE_VALUES, UNKNOWN, finding_specs
from telespine.triage.types import Audience, Disposition, FiredRule, RulesetRef

RULES_DIR_ENV = "TELESPINE_RULES_DIR"
RULESET_FILE = "ruleset.yaml"

Findings = Mapping[str, Any]
Test = Callable[[Findings], bool]


class RuleSetError(TelespineError):
    """A rule file that the strict loader rejects (the engine must then fail safe)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---- condition operators -------------------------------------------------------------------


class _ValueArgs(_Strict):
    finding: str
    value: str


class _ValuesArgs(_Strict):
    finding: str
    values: list[str] = Field(min_length=1)


class _NumberArgs(_Strict):
    finding: str
    value: float


class _Leaf(_Strict):
    """A comparison of one finding. Each operator says what it reads and how it tests."""

    kind: ClassVar[str]  # the finding kind the operator needs: flag, enum/course or number

    @property
    def finding(self) -> str:
        raise NotImplementedError

    @property
    def children(self) -> tuple[Condition, ...]:
        return ()

    def tested_values(self) -> list[str]:
        """The enum or course values the leaf tests for (equals, in); none for the others."""
        return []

    def compile(self) -> Test:
        """The leaf as a closure over a findings mapping; absent or unknown values give False."""
        raise NotImplementedError


class IsTrue(_Leaf):
    """A flag finding is true."""

    kind: ClassVar[str] = "flag"
    is_true: str

    @property
    def finding(self) -> str:
        return self.is_true

    def compile(self) -> Test:
        name = self.is_true
        return lambda d: d.get(name) is True


class IsFalse(_Leaf):
    """A flag finding is absent or false ("unknown" is not false: the leaf is then false too)."""

    kind: ClassVar[str] = "flag"
    is_false: str

    @property
    def finding(self) -> str:
        return self.is_false

    def compile(self) -> Test:
        name = self.is_false
        # absent or an explicit false only: "unknown" is not "no" (POLICY.md property 3)
        return lambda d: d.get(name, False) is False


class Equals(_Leaf):
    """An enum or course finding equals a value."""

    kind: ClassVar[str] = "enum"
    equals: _ValueArgs

    @property
    def finding(self) -> str:
        return self.equals.finding

    def tested_values(self) -> list[str]:
        return [self.equals.value]

    def compile(self) -> Test:
        name, value = self.equals.finding, self.equals.value
        return lambda d: d.get(name) == value


class In(_Leaf):
    """An enum or course finding is one of some values."""

    kind: ClassVar[str] = "enum"
    in_: _ValuesArgs = Field(alias="in")

    @property
    def finding(self) -> str:
        return self.in_.finding

    def tested_values(self) -> list[str]:
        return list(self.in_.values)

    def compile(self) -> Test:
        name, values = self.in_.finding, frozenset(self.in_.values)
        return lambda d: d.get(name) in values


def _number(d: Findings, name: str) -> float | None:
    v = d.get(name)
    # bool is an int in Python; a flag must never pass for a number
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


class _Compare(_Leaf):
    """A number finding compared with a limit (gte, gt, lt)."""

    kind: ClassVar[str] = "number"

    @property
    def args(self) -> _NumberArgs:
        raise NotImplementedError

    @property
    def finding(self) -> str:
        return self.args.finding


class Gte(_Compare):
    """A number finding is present and at least a value."""

    gte: _NumberArgs

    @property
    def args(self) -> _NumberArgs:
        return self.gte

    def compile(self) -> Test:
        name, limit = self.gte.finding, self.gte.value
        return lambda d: (v := _number(d, name)) is not None and v >= limit


class Gt(_Compare):
    """A number finding is present and above a value."""

    gt: _NumberArgs

    @property
    def args(self) -> _NumberArgs:
        return self.gt

    def compile(self) -> Test:
        name, limit = self.gt.finding, self.gt.value
        return lambda d: (v := _number(d, name)) is not None and v > limit


class Lt(_Compare):
    """A number finding is present and below a value."""

    lt: _NumberArgs

    @property
    def args(self) -> _NumberArgs:
        return self.lt

    def compile(self) -> Test:
        name, limit = self.lt.finding, self.lt.value
        return lambda d: (v := _number(d, name)) is not None and v < limit


class _Branch(_Strict):
    """A combination of conditions: how many of its children must hold."""

    @property
    def children(self) -> tuple[Condition, ...]:
        raise NotImplementedError

    def needed(self, count: int) -> int:
        """How many of `count` children must be true."""
        raise NotImplementedError

    def combine(self, kids: tuple[Test, ...]) -> Test:
        """The branch as a closure over its compiled children."""
        n = self.needed(len(kids))
        if n == len(kids) and n == 2:
            a, b = kids
            return lambda d: a(d) and b(d)
        if n == len(kids):
            return lambda d: all(k(d) for k in kids)
        if n == 1 and len(kids) == 2:
            a, b = kids
            return lambda d: a(d) or b(d)

        def at_least(d: Findings) -> bool:
            count = 0
            for k in kids:
                if k(d):
                    count += 1
                    if count >= n:
                        return True
            return False

        return at_least


class All(_Branch):
    """Every condition is true."""

    all: list[Condition] = Field(min_length=1)

    @property
    def children(self) -> tuple[Condition, ...]:
        return tuple(self.all)

    def needed(self, count: int) -> int:
        return count


class AnyOf(_Branch):
    """At least one condition is true."""

    any: list[Condition] = Field(min_length=1)

    @property
    def children(self) -> tuple[Condition, ...]:
        return tuple(self.any)

    def needed(self, count: int) -> int:
        return 1


class _AtLeastArgs(_Strict):
    n: int = Field(ge=1)
    of: list[Condition] = Field(min_length=1)


class AtLeast(_Branch):
    """At least n of the conditions are true."""

    at_least: _AtLeastArgs

    @property
    def children(self) -> tuple[Condition, ...]:
        return tuple(self.at_least.of)

    def needed(self, count: int) -> int:
        return self.at_least.n


OPERATORS = ("is_true", "is_false", "equals", "in", "gte", "gt", "lt", "all", "any", "at_least")


def _operator_of(value: Any) -> str | None:
    """The single operator key of a condition mapping; None (rejected) for anything else."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in OPERATORS else None
    if isinstance(value, BaseModel):
        return _TAGS.get(type(value))
    return None


_TAGS: dict[type[BaseModel], str] = {
    IsTrue: "is_true",
    IsFalse: "is_false",
    Equals: "equals",
    In: "in",
    Gte: "gte",
    Gt: "gt",
    Lt: "lt",
    All: "all",
    AnyOf: "any",
    AtLeast: "at_least",
}

Condition = Annotated[
    Annotated[IsTrue, Tag("is_true")]
    | Annotated[IsFalse, Tag("is_false")]
    | Annotated[Equals, Tag("equals")]
    | Annotated[In, Tag("in")]
    | Annotated[Gte, Tag("gte")]
    | Annotated[Gt, Tag("gt")]
    | Annotated[Lt, Tag("lt")]
    | Annotated[All, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[AtLeast, Tag("at_least")],
    Discriminator(
        _operator_of,
        custom_error_type="unknown_operator",
        custom_error_message="a condition must be a mapping with exactly one operator of "
        + ", ".join(OPERATORS),
    ),
]

for _model in (All, AnyOf, _AtLeastArgs):
    _model.model_rebuild()


# ---- rule files --------------------------------------------------------------------------


# A rule sends the person somewhere in person; telemedicine is what is left when no rule fires.
RuleLevel = Literal["emergency", "urgent", "prompt", "routine"]
RULE_LEVELS: tuple[RuleLevel, ...] = ("emergency", "urgent", "prompt", "routine")


class RuleSpec(_Strict):
    """One rule as written in a rule file."""

    id: str = Field(pattern=r"^(adult|child)\.[a-z][a-z0-9_]*$")
    level: RuleLevel
    audience: Literal["all", "pediatric"]
    title: str = Field(min_length=3)
    reads: list[str] = Field(min_length=1)
    when: Condition
    reason: str = Field(min_length=10)
    # The reason told to a parent or carer; required for rules that also apply to children.
    reason_parent: str | None = Field(default=None, min_length=10)
    rationale: str = Field(min_length=10)
    sources: list[str] = Field(min_length=1)


class RuleFile(_Strict):
    """A rule file: a list of rules."""

    rules: list[RuleSpec] = Field(min_length=1)


class PseudoRuleSpec(_Strict):
    """The text of a pseudo rule that the engine adds itself (not a condition tree)."""

    title: str = Field(min_length=3)
    reason: str = Field(min_length=10)
    reason_parent: str = Field(min_length=10)
    rationale: str = Field(min_length=10)
    sources: list[str] = Field(min_length=1)


class UrgentUnknownSpec(PseudoRuleSpec):
    """The urgent unknown-answer pseudo rule: its text and the findings it watches (POLICY.md rule 3)."""

    findings: list[str] = Field(min_length=1)


class RuleSetFile(_Strict):
    """ruleset.yaml: version, the manifest (files, rule ids per level) and the pseudo rules' texts."""

    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str
    files: list[str] = Field(min_length=1)
    rules: dict[RuleLevel, list[str]]
    unresolved_unknown: PseudoRuleSpec
    unresolved_unknown_urgent: UrgentUnknownSpec


# ---- compiled rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A loaded rule: its metadata, its condition tree and the compiled test."""

    id: str
    level: Disposition
    audience: Literal["all", "pediatric"]
    reads: list[str]
    title: str
    reason: str
    rationale: str
    sources: list[str]
    when: Any = field(repr=False)
    test: Test = field(repr=False, compare=False)
    fired: FiredRule = field(repr=False, compare=False)
    # What a child's parent is told: reason_parent for adult.* rules, reason itself for child.* rules.
    reason_parent: str = field(repr=False)
    fired_parent: FiredRule = field(repr=False, compare=False)

    def applies_to(self, audience: Audience) -> bool:
        """Pediatric rules apply under 18 only; the others apply to everyone."""
        return self.audience == "all" or audience == "pediatric"

    def reason_for(self, audience: Audience) -> str:
        """The reason in the voice of this audience (the person, or a child's parent)."""
        return self.reason_parent if audience == "pediatric" else self.reason

    def fired_for(self, audience: Audience) -> FiredRule:
        """The fired-rule record for this audience (pediatric: the parent's wording)."""
        return self.fired_parent if audience == "pediatric" else self.fired


@dataclass(frozen=True, eq=False)  # identity equality/hash: a loaded rule set is a value object by version
class RuleSet:
    """A loaded, versioned rule set."""

    version: str
    sha256: str
    rules: list[Rule]
    unresolved_unknown: FiredRule
    directory: str
    unresolved_unknown_parent: FiredRule = field(repr=False, compare=False)
    # POLICY.md rule 3 (v2): an unknown answer to one of these findings gives at least urgent.
    unresolved_unknown_urgent: FiredRule = field(repr=False, compare=False)
    unresolved_unknown_urgent_parent: FiredRule = field(repr=False, compare=False)
    urgent_unknown_findings: frozenset[str] = field(repr=False, compare=False)
    _by_id: dict[str, Rule] = field(repr=False, compare=False)
    _applicable: dict[str, tuple[Rule, ...]] = field(repr=False, compare=False)
    _reach: dict[str, frozenset[str]] = field(repr=False, compare=False)
    # Per age group: for each finding, a bitmask of the applicable rules (by position) that read it.
    # A rule can only fire when some finding it reads is in the document, so the engine tests only
    # the rules whose bit is set by the document's keys.
    _masks: dict[str, dict[str, int]] = field(repr=False, compare=False)
    ref: RulesetRef = field(repr=False, compare=False)

    def by_id(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when there is none)."""
        return self._by_id[rule_id]

    def applicable(self, audience: Audience) -> tuple[Rule, ...]:
        """The rules that apply to an age group, most urgent level first."""
        return self._applicable[audience]

    def candidates(self, audience: Audience, keys: Iterable[str]) -> list[Rule]:
        """The applicable rules, most urgent first, that read at least one of keys."""
        masks = self._masks[audience]
        mask = 0
        for key in keys:
            mask |= masks.get(key, 0)
        rules = self._applicable[audience]
        out = []
        while mask:
            low = mask & -mask
            out.append(rules[low.bit_length() - 1])
            mask ^= low
        return out

    def can_reach_prompt(self, audience: Audience) -> frozenset[str]:
        """Findings read by an emergency, urgent or prompt rule that applies to the age group."""
        return self._reach[audience]

    def unresolved_unknown_for(self, audience: Audience) -> FiredRule:
        """The unknown-answer pseudo rule in the voice of this audience."""
        return self.unresolved_unknown_parent if audience == "pediatric" else self.unresolved_unknown

    def unresolved_unknown_urgent_for(self, audience: Audience) -> FiredRule:
        """The urgent unknown-answer pseudo rule (an emergency-alone finding unknown), in this voice."""
        if audience == "pediatric":
            return self.unresolved_unknown_urgent_parent
        return self.unresolved_unknown_urgent


def walk_condition(cond: Any) -> Iterator[Any]:
    """Every node of a condition tree, depth first, the node before its children (the one walker)."""
    yield cond
    for child in cond.children:
        yield from walk_condition(child)


def condition_reads(cond: Any) -> list[str]:
    """The findings a condition tree reads, in first-use order, each once."""
    out: list[str] = []
    for leaf in leaves(cond):
        if leaf.finding not in out:
            out.append(leaf.finding)
    return out


def leaves(cond: Any) -> list[Any]:
    """Every leaf (comparison) node of a condition tree, depth first."""
    return [node for node in walk_condition(cond) if isinstance(node, _Leaf)]


LEAF_TYPES = (IsTrue, IsFalse, Equals, In, Gte, Gt, Lt)


def number_args(c: Gte | Gt | Lt) -> _NumberArgs:
    """The finding and limit of a number comparison."""
    return c.args


def check_condition_types(cond: Any, where: str) -> None:
    """Each operator must fit the kind of its finding, and test only for meaningful values."""
    specs = finding_specs()
    for node in walk_condition(cond):
        if isinstance(node, AtLeast) and node.at_least.n > len(node.children):
            raise RuleSetError(
                f"{where}: at_least n={node.at_least.n} exceeds its {len(node.children)} conditions"
            )
        if not isinstance(node, _Leaf):
            continue
        name = node.finding
        if name not in specs:
            raise RuleSetError(f"{where}: unknown finding {name!r}")
        spec = specs[name]
        kind = "enum" if spec.kind == "course" else spec.kind
        if kind != node.kind:
            op = _TAGS[type(node)]
            need = {"flag": "a flag", "enum": "an enum or course", "number": "a number"}[node.kind]
            raise RuleSetError(f"{where}: {op} needs {need} finding, {name!r} is a {spec.kind}")
        for v in node.tested_values():
            if v not in spec.values:
                raise RuleSetError(f"{where}: {v!r} is not a value of {name!r}")
            if v == UNKNOWN or v in ABSENCE_VALUES:
                raise RuleSetError(f"{where}: a rule may not fire on {v!r} (unknown or absent) for {name!r}")


def compile_condition(cond: Any) -> Test:
    """Turn a condition tree into a closure; absent or unknown values make every leaf false."""
    if isinstance(cond, _Leaf):
        return cond.compile()
    if not isinstance(cond, _Branch):
        raise RuleSetError(f"unknown condition node {type(cond).__name__}")
    return cond.combine(tuple(compile_condition(c) for c in cond.children))


# Three-valued evaluation for the questionnaire: findings not yet asked are "maybe".
MAYBE = None


def partial_eval(cond: Any, d: Findings, open_findings: frozenset[str]) -> bool | None:
    """True/False when the answers so far decide the condition, None (maybe) otherwise."""
    if isinstance(cond, _Leaf):
        return MAYBE if cond.finding in open_findings else cond.compile()(d)
    results = [partial_eval(c, d, open_findings) for c in cond.children]
    n = cond.needed(len(results))
    yes = sum(1 for r in results if r is True)
    maybe = sum(1 for r in results if r is MAYBE)
    if yes >= n:
        return True
    return False if yes + maybe < n else MAYBE


def truth_function(cond: Any) -> tuple[Callable[[Sequence[bool]], bool], list[Any]]:
    """The condition as a function of its leaves' truth values (leaves in depth-first order)."""
    found: list[Any] = []

    def build(c: Any) -> Callable[[Sequence[bool]], bool]:
        if isinstance(c, _Leaf):
            index = len(found)
            found.append(c)
            return lambda t: t[index]
        kids = [build(k) for k in c.children]
        n = c.needed(len(kids))
        return lambda t: sum(1 for k in kids if k(t)) >= n

    return build(cond), found


# ---- loading ------------------------------------------------------------------------------


def default_rules_dir() -> Path:
    """The packaged rule directory, or TELESPINE_RULES_DIR when set (tests point it at copies)."""
    override = os.environ.get(RULES_DIR_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("telespine.triage").joinpath("rules")))


def ruleset_digest(files: list[Path]) -> str:
    """sha256 over the canonical bytes: for each file in name order, its name, LF-normalised text."""
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        h.update(path.name.encode("utf-8") + b"\n")
        h.update(path.read_bytes().replace(b"\r\n", b"\n"))
        h.update(b"\n\x00")
    return h.hexdigest()


def _source_keys() -> frozenset[str] | None:
    """Keys of content/sources.yaml (owned by content); None when that file does not exist yet."""
    # Found without importing telespine.content (its package imports the renderers, Jinja and
    # Rich: a quarter of `telespine triage`'s start-up); find_spec imports only the parent.
    try:
        spec = importlib.util.find_spec("telespine.content")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            return None
        text = (Path(folders[0]) / "sources.yaml").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    try:
        data = load_yaml_text(text, "content/sources.yaml")
    except DataFileError as exc:
        raise RuleSetError(str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise RuleSetError("content/sources.yaml has no 'sources' mapping")
    return frozenset(str(k) for k in data["sources"])


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml_file(path)
    except (OSError, UnicodeDecodeError, DataFileError) as exc:
        raise RuleSetError(f"{path.name}: cannot read: {exc}") from exc


def _check_sources(sources: list[str], known: frozenset[str] | None, where: str) -> None:
    if known is None:
        return
    for key in sources:
        if key not in known:
            raise RuleSetError(f"{where}: unknown source key {key!r} (not in content/sources.yaml)")


def _check_no_number(texts: dict[str, str | None], where: str) -> None:
    """Reasons name no emergency number: callers show the one configured for the deployment."""
    for name, text in texts.items():
        number = hard_coded_number(text or "")
        if number is not None:
            raise RuleSetError(f"{where}: {name} writes the number {number!r}; say 'your emergency number'")


def _build_rule(spec: RuleSpec, where: str, known: frozenset[str] | None) -> Rule:
    if (spec.audience == "pediatric") != spec.id.startswith("child."):
        raise RuleSetError(f"{where}: child.* rules and only they must have audience 'pediatric'")
    check_condition_types(spec.when, where)
    computed = condition_reads(spec.when)
    if len(set(spec.reads)) != len(spec.reads):
        raise RuleSetError(f"{where}: 'reads' lists a finding twice")
    if set(computed) != set(spec.reads):
        raise RuleSetError(
            f"{where}: 'reads' {sorted(spec.reads)} differs from what the condition reads {sorted(computed)}"
        )
    _check_sources(spec.sources, known, where)
    _check_no_number({"title": spec.title, "reason": spec.reason, "reason_parent": spec.reason_parent}, where)
    if spec.audience == "all" and spec.reason_parent is None:
        raise RuleSetError(
            f"{where}: the rule also applies to children, so it needs reason_parent "
            "(the reason told to a parent or carer)"
        )
    if spec.audience == "pediatric" and spec.reason_parent is not None:
        raise RuleSetError(
            f"{where}: a child.* rule's reason already addresses the parent; remove reason_parent"
        )
    level = Disposition(spec.level)
    fired = FiredRule(
        id=spec.id,
        level=level,
        title=spec.title,
        reason=spec.reason,
        rationale=spec.rationale,
        sources=list(spec.sources),
    )
    parent_reason = spec.reason_parent or spec.reason
    fired_parent = fired.model_copy(update={"reason": parent_reason}) if spec.reason_parent else fired
    return Rule(
        id=spec.id,
        level=level,
        audience=spec.audience,
        reads=list(spec.reads),
        title=spec.title,
        reason=spec.reason,
        rationale=spec.rationale,
        sources=list(spec.sources),
        when=spec.when,
        test=compile_condition(spec.when),
        fired=fired,
        reason_parent=parent_reason,
        fired_parent=fired_parent,
    )


def _check_is_false(rules: list[Rule]) -> None:
    """A rule that needs a flag to be false must not make that flag's presence less urgent.

    So for every is_false: F in a rule of level L, a rule of level L or more urgent that applies
    at least as widely must fire on is_true: F alone (e.g. adult.fever for adult.infection_risk).
    """
    for rule in rules:
        for leaf in leaves(rule.when):
            if not isinstance(leaf, IsFalse):
                continue
            name = leaf.is_false
            covered = any(
                isinstance(other.when, IsTrue)
                and other.when.is_true == name
                and other.level.level <= rule.level.level
                and (other.audience == "all" or rule.audience == "pediatric")
                for other in rules
            )
            if not covered:
                raise RuleSetError(
                    f"rule {rule.id}: is_false: {name} needs a rule at least as urgent that fires on "
                    f"is_true: {name} alone, or a present {name} could make the result less urgent"
                )


def _check_manifest(meta: RuleSetFile, rules: list[Rule]) -> None:
    """The loaded rules must be exactly the manifest's ids, each at its declared level."""
    declared: dict[str, RuleLevel] = {}
    for level, ids in meta.rules.items():
        for rule_id in ids:
            if rule_id in declared:
                raise RuleSetError(f"{RULESET_FILE}: rule {rule_id!r} is listed twice in the manifest")
            declared[rule_id] = level
    missing_levels = [lvl for lvl in RULE_LEVELS if lvl not in meta.rules]
    if missing_levels:
        raise RuleSetError(f"{RULESET_FILE}: the manifest has no list for {missing_levels}")
    loaded: dict[str, str] = {r.id: r.level.value for r in rules}
    missing = sorted(set(declared) - set(loaded))
    if missing:
        raise RuleSetError(f"rules listed in {RULESET_FILE} are missing from the rule files: {missing}")
    extra = sorted(set(loaded) - set(declared))
    if extra:
        raise RuleSetError(f"rules not listed in the {RULESET_FILE} manifest: {extra}")
    for rule_id, actual in loaded.items():
        if declared[rule_id] != actual:
            raise RuleSetError(
                f"rule {rule_id}: level {actual!r} differs from {declared[rule_id]!r} in the manifest"
            )


def emergency_alone_findings(rules: Iterable[Rule], audience: Audience) -> frozenset[str]:
    """Findings that on their own (beside the age) make an emergency rule of the age group fire.

    Each finding of the schema is tried with each of its present values in a document that has
    only that finding and a typical age (40 or 10); numbers are skipped (they cannot be unknown).
    """
    age = 40 if audience == "adult" else 10
    emergency = [r for r in rules if r.applies_to(audience) and r.level is Disposition.EMERGENCY]
    out: set[str] = set()
    for name, spec in finding_specs().items():
        if spec.kind == "number":
            continue
        values: tuple[object, ...] = (True,) if spec.kind == "flag" else spec.values
        for value in values:
            if value in ABSENCE_VALUES or value == UNKNOWN:
                continue
            doc = {"age_years": age, name: value}
            if any(rule.test(doc) for rule in emergency):
                out.add(name)
                break
    return frozenset(out)


def _check_urgent_unknown(meta: RuleSetFile, rules: list[Rule]) -> frozenset[str]:
    """The declared urgent-unknown findings must be exactly those that alone fire an emergency rule."""
    declared = meta.unresolved_unknown_urgent.findings
    if len(set(declared)) != len(declared):
        raise RuleSetError(f"{RULESET_FILE}: unresolved_unknown_urgent lists a finding twice")
    audiences: tuple[Audience, ...] = ("adult", "pediatric")
    for audience in audiences:
        computed = emergency_alone_findings(rules, audience)
        if computed != set(declared):
            raise RuleSetError(
                f"{RULESET_FILE}: unresolved_unknown_urgent.findings {sorted(declared)} differ from the "
                f"findings that alone fire an emergency rule for {audience}: {sorted(computed)}"
            )
    return frozenset(declared)


def _rule_paths(directory: Path, meta: RuleSetFile) -> list[Path]:
    """The declared rule files; any other entry in the folder is refused (e.g. adult.yml, x.json)."""
    names = list(meta.files)
    if len(set(names)) != len(names):
        raise RuleSetError(f"{RULESET_FILE}: a rule file is listed twice")
    for name in names:
        if name == RULESET_FILE or Path(name).name != name or not name.endswith(".yaml"):
            raise RuleSetError(f"{RULESET_FILE}: {name!r} is not a rule file name (<name>.yaml here)")
    present = {p.name for p in directory.iterdir()}
    missing = [n for n in names if n not in present or not (directory / n).is_file()]
    if missing:
        raise RuleSetError(f"{directory}: declared rule files are missing: {missing}")
    unknown = sorted(present - set(names) - {RULESET_FILE})
    if unknown:
        raise RuleSetError(f"{directory}: files not declared in {RULESET_FILE}: {unknown}")
    return [directory / n for n in sorted(names)]


def _load(directory: Path) -> RuleSet:
    meta_path = directory / RULESET_FILE
    if not meta_path.is_file():
        raise RuleSetError(f"{directory}: {RULESET_FILE} is missing")
    known = _source_keys()
    try:
        meta = RuleSetFile.model_validate(_read_yaml(meta_path))
    except ValidationError as exc:
        raise RuleSetError(f"{RULESET_FILE}: {exc}") from exc
    rule_paths = _rule_paths(directory, meta)
    for key, pseudo in (
        ("unresolved_unknown", meta.unresolved_unknown),
        ("unresolved_unknown_urgent", meta.unresolved_unknown_urgent),
    ):
        _check_sources(pseudo.sources, known, f"{RULESET_FILE}: {key}")
        _check_no_number(
            {"title": pseudo.title, "reason": pseudo.reason, "reason_parent": pseudo.reason_parent},
            f"{RULESET_FILE}: {key}",
        )
    rules: list[Rule] = []
    for path in rule_paths:
        try:
            parsed = RuleFile.model_validate(_read_yaml(path))
        except ValidationError as exc:
            raise RuleSetError(f"{path.name}: {exc}") from exc
        for spec in parsed.rules:
            rules.append(_build_rule(spec, f"{path.name}: rule {spec.id}", known))
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in by_id:
            raise RuleSetError(f"duplicate rule id {rule.id!r}")
        by_id[rule.id] = rule
    _check_manifest(meta, rules)
    _check_is_false(rules)
    urgent_unknown = _check_urgent_unknown(meta, rules)
    applicable: dict[str, tuple[Rule, ...]] = {}
    reach: dict[str, frozenset[str]] = {}
    masks: dict[str, dict[str, int]] = {}
    audiences: tuple[Audience, ...] = ("adult", "pediatric")
    for audience in audiences:
        mine = [r for r in rules if r.applies_to(audience)]
        # Most urgent first so that the fired list reads worst concern first; stable within a level.
        applicable[audience] = tuple(sorted(mine, key=lambda r: r.level.level))
        reach[audience] = frozenset(
            name for r in mine if r.level.level <= Disposition.PROMPT.level for name in r.reads
        )
        masks[audience] = {}
        for index, rule in enumerate(applicable[audience]):
            for name in rule.reads:
                masks[audience][name] = masks[audience].get(name, 0) | (1 << index)
    u = meta.unresolved_unknown
    unresolved = FiredRule(
        id="safety.unresolved_unknown",
        level=Disposition.PROMPT,
        title=u.title,
        reason=u.reason,
        rationale=u.rationale,
        sources=list(u.sources),
    )
    uu = meta.unresolved_unknown_urgent
    unresolved_urgent = FiredRule(
        id="safety.unresolved_unknown_urgent",
        level=Disposition.URGENT,
        title=uu.title,
        reason=uu.reason,
        rationale=uu.rationale,
        sources=list(uu.sources),
    )
    digest = ruleset_digest([meta_path, *rule_paths])
    return RuleSet(
        version=meta.version,
        sha256=digest,
        rules=rules,
        unresolved_unknown=unresolved,
        directory=str(directory),
        unresolved_unknown_parent=unresolved.model_copy(update={"reason": u.reason_parent}),
        unresolved_unknown_urgent=unresolved_urgent,
        unresolved_unknown_urgent_parent=unresolved_urgent.model_copy(update={"reason": uu.reason_parent}),
        urgent_unknown_findings=urgent_unknown,
        _by_id=by_id,
        _applicable=applicable,
        _reach=reach,
        _masks=masks,
        ref=RulesetRef(version=meta.version, sha256=digest),
    )


@cache
def _load_cached(directory: str) -> RuleSet:
    return _load(Path(directory))


def load_ruleset(directory: Path | str | None = None) -> RuleSet:
    """Load (once per directory) and check the rule set; raise RuleSetError when it is not sound."""
    path = Path(directory) if directory is not None else default_rules_dir()
    return _load_cached(str(path.resolve()))
