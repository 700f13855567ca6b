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
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

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


class IsTrue(_Strict):
    """A flag finding is true."""

    is_true: str


class IsFalse(_Strict):
    """A flag finding is absent or false ("unknown" is not false: the leaf is then false too)."""

    is_false: str


class Equals(_Strict):
    """An enum or course finding equals a value."""

    equals: _ValueArgs


class In(_Strict):
    """An enum or course finding is one of some values."""

    in_: _ValuesArgs = Field(alias="in")


class Gte(_Strict):
    """A number finding is present and at least a value."""

    gte: _NumberArgs


class Gt(_Strict):
    """A number finding is present and above a value."""

    gt: _NumberArgs


class Lt(_Strict):
    """A number finding is present and below a value."""

    lt: _NumberArgs


class All(_Strict):
    """Every condition is true."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    """At least one condition is true."""

    any: list[Condition] = Field(min_length=1)


class _AtLeastArgs(_Strict):
    n: int = Field(ge=1)
    of: list[Condition] = Field(min_length=1)


class AtLeast(_Strict):
    """At least n of the conditions are true."""

    at_least: _AtLeastArgs


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
    IsTrue: "is_true", IsFalse: "is_false", Equals: "equals", In: "in", Gte: "gte", Gt: "gt", Lt: "lt",
    All: "all", AnyOf: "any", AtLeast: "at_least",
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


def condition_reads(cond: Any) -> list[str]:
    """The findings a condition tree reads, in first-use order, each once."""
    out: list[str] = []

    def walk(c: Any) -> None:
        if isinstance(c, IsTrue):
            names = [c.is_true]
        elif isinstance(c, IsFalse):
            names = [c.is_false]
        elif isinstance(c, Equals):
            names = [c.equals.finding]
        elif isinstance(c, In):
            names = [c.in_.finding]
        elif isinstance(c, Gte | Gt | Lt):
            names = [_number_args(c).finding]
        else:
            for child in _children(c):
                walk(child)
            return
        out.extend(n for n in names if n not in out)

    walk(cond)
    return out


def leaves(cond: Any) -> list[Any]:
    """Every leaf (comparison) node of a condition tree, depth first."""
    if isinstance(cond, LEAF_TYPES):
        return [cond]
    return [leaf for child in _children(cond) for leaf in leaves(child)]


LEAF_TYPES = (IsTrue, IsFalse, Equals, In, Gte, Gt, Lt)


def number_args(c: Gte | Gt | Lt) -> _NumberArgs:
    """The finding and limit of a number comparison."""
    return _number_args(c)


def _number_args(c: Gte | Gt | Lt) -> _NumberArgs:
    if isinstance(c, Gte):
        return c.gte
    if isinstance(c, Gt):
        return c.gt
    return c.lt


def _children(c: Any) -> list[Any]:
    if isinstance(c, All):
        return list(c.all)
    if isinstance(c, AnyOf):
        return list(c.any)
    if isinstance(c, AtLeast):
        return list(c.at_least.of)
    raise RuleSetError(f"unknown condition node {type(c).__name__}")


def check_condition_types(cond: Any, where: str) -> None:
    """Each operator must fit the kind of its finding, and test only for meaningful values."""
    specs = finding_specs()

    def spec_of(name: str) -> Any:
        if name not in specs:
            raise RuleSetError(f"{where}: unknown finding {name!r}")
        return specs[name]

    def check_values(name: str, values: list[str]) -> None:
        spec = spec_of(name)
        if spec.kind not in {"enum", "course"}:
            raise RuleSetError(
                f"{where}: equals/in need an enum or course finding, {name!r} is a {spec.kind}"
            )
        for v in values:
            if v not in spec.values:
                raise RuleSetError(f"{where}: {v!r} is not a value of {name!r}")
            if v == UNKNOWN or v in ABSENCE_VALUES:
                raise RuleSetError(f"{where}: a rule may not fire on {v!r} (unknown or absent) for {name!r}")

    def walk(c: Any) -> None:
        if isinstance(c, IsTrue):
            if spec_of(c.is_true).kind != "flag":
                raise RuleSetError(f"{where}: is_true needs a flag finding, {c.is_true!r} is not one")
        elif isinstance(c, IsFalse):
            if spec_of(c.is_false).kind != "flag":
                raise RuleSetError(f"{where}: is_false needs a flag finding, {c.is_false!r} is not one")
        elif isinstance(c, Equals):
            check_values(c.equals.finding, [c.equals.value])
        elif isinstance(c, In):
            check_values(c.in_.finding, list(c.in_.values))
        elif isinstance(c, Gte | Gt | Lt):
            name = _number_args(c).finding
            if spec_of(name).kind != "number":
                raise RuleSetError(f"{where}: gte/gt/lt need a number finding, {name!r} is not one")
        else:
            kids = _children(c)
            if isinstance(c, AtLeast) and c.at_least.n > len(kids):
                raise RuleSetError(f"{where}: at_least n={c.at_least.n} exceeds its {len(kids)} conditions")
            for child in kids:
                walk(child)

    walk(cond)


def compile_condition(cond: Any) -> Test:
    """Turn a condition tree into a closure; absent or unknown values make every leaf false."""
    if isinstance(cond, IsTrue):
        name = cond.is_true
        return lambda d: d.get(name) is True
    if isinstance(cond, IsFalse):
        name = cond.is_false
        # absent or an explicit false only: "unknown" is not "no" (POLICY.md property 3)
        return lambda d: d.get(name, False) is False
    if isinstance(cond, Equals):
        name, value = cond.equals.finding, cond.equals.value
        return lambda d: d.get(name) == value
    if isinstance(cond, In):
        name, values = cond.in_.finding, frozenset(cond.in_.values)
        return lambda d: d.get(name) in values
    if isinstance(cond, Gte | Gt | Lt):
        args = _number_args(cond)
        name, limit = args.finding, args.value

        def number(d: Findings) -> float | None:
            v = d.get(name)
            # bool is an int in Python; a flag must never pass for a number
            return v if isinstance(v, int | float) and not isinstance(v, bool) else None

        if isinstance(cond, Gte):
            return lambda d: (v := number(d)) is not None and v >= limit
        if isinstance(cond, Gt):
            return lambda d: (v := number(d)) is not None and v > limit
        return lambda d: (v := number(d)) is not None and v < limit
    kids = tuple(compile_condition(c) for c in _children(cond))
    if isinstance(cond, All):
        if len(kids) == 2:
            a, b = kids
            return lambda d: a(d) and b(d)
        return lambda d: all(k(d) for k in kids)
    if isinstance(cond, AnyOf):
        if len(kids) == 2:
            a, b = kids
            return lambda d: a(d) or b(d)

        def any_of(d: Findings) -> bool:
            for k in kids:  # noqa: SIM110 -- a plain loop is faster than any() over a generator here
                if k(d):
                    return True
            return False

        return any_of
    n = cond.at_least.n

    def at_least(d: Findings) -> bool:
        count = 0
        for k in kids:
            if k(d):
                count += 1
                if count >= n:
                    return True
        return False

    return at_least


# Three-valued evaluation for the questionnaire: findings not yet asked are "maybe".
MAYBE = None


def partial_eval(cond: Any, d: Findings, open_findings: frozenset[str]) -> bool | None:
    """True/False when the answers so far decide the condition, None (maybe) otherwise."""
    if isinstance(cond, LEAF_TYPES):
        name = condition_reads(cond)[0]
        if name in open_findings:
            return MAYBE
        return compile_condition(cond)(d)
    results = [partial_eval(c, d, open_findings) for c in _children(cond)]
    if isinstance(cond, All):
        if False in results:
            return False
        return True if all(r is True for r in results) else MAYBE
    if isinstance(cond, AnyOf):
        if True in results:
            return True
        return False if all(r is False for r in results) else MAYBE
    n = cond.at_least.n
    yes = sum(1 for r in results if r is True)
    maybe = sum(1 for r in results if r is MAYBE)
    if yes >= n:
        return True
    return False if yes + maybe < n else MAYBE


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
    try:
        text = resources.files("telespine.content").joinpath("sources.yaml").read_text("utf-8")
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
        raise RuleSetError(f"{where}: the rule also applies to children, so it needs reason_parent "
                           "(the reason told to a parent or carer)")
    if spec.audience == "pediatric" and spec.reason_parent is not None:
        raise RuleSetError(f"{where}: a child.* rule's reason already addresses the parent; "
                           "remove reason_parent")
    level = Disposition(spec.level)
    fired = FiredRule(id=spec.id, level=level, title=spec.title, reason=spec.reason,
                      rationale=spec.rationale, sources=list(spec.sources))
    parent_reason = spec.reason_parent or spec.reason
    fired_parent = fired.model_copy(update={"reason": parent_reason}) if spec.reason_parent else fired
    return Rule(id=spec.id, level=level, audience=spec.audience, reads=list(spec.reads),
                title=spec.title, reason=spec.reason, rationale=spec.rationale,
                sources=list(spec.sources), when=spec.when, test=compile_condition(spec.when), fired=fired,
                reason_parent=parent_reason, fired_parent=fired_parent)


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
                isinstance(other.when, IsTrue) and other.when.is_true == name
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
    for key, pseudo in (("unresolved_unknown", meta.unresolved_unknown),
                        ("unresolved_unknown_urgent", meta.unresolved_unknown_urgent)):
        _check_sources(pseudo.sources, known, f"{RULESET_FILE}: {key}")
        _check_no_number({"title": pseudo.title, "reason": pseudo.reason,
                          "reason_parent": pseudo.reason_parent}, f"{RULESET_FILE}: {key}")
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
    unresolved = FiredRule(id="safety.unresolved_unknown", level=Disposition.PROMPT, title=u.title,
                           reason=u.reason, rationale=u.rationale, sources=list(u.sources))
    uu = meta.unresolved_unknown_urgent
    unresolved_urgent = FiredRule(id="safety.unresolved_unknown_urgent", level=Disposition.URGENT,
                                  title=uu.title, reason=uu.reason, rationale=uu.rationale,
                                  sources=list(uu.sources))
    digest = ruleset_digest([meta_path, *rule_paths])
    return RuleSet(version=meta.version, sha256=digest, rules=rules,
                   unresolved_unknown=unresolved, directory=str(directory),
                   unresolved_unknown_parent=unresolved.model_copy(update={"reason": u.reason_parent}),
                   unresolved_unknown_urgent=unresolved_urgent,
                   unresolved_unknown_urgent_parent=unresolved_urgent.model_copy(
                       update={"reason": uu.reason_parent}),
                   urgent_unknown_findings=urgent_unknown,
                   _by_id=by_id,
                   _applicable=applicable, _reach=reach, _masks=masks,
                   ref=RulesetRef(version=meta.version, sha256=digest))


@cache
def _load_cached(directory: str) -> RuleSet:
    return _load(Path(directory))


def load_ruleset(directory: Path | str | None = None) -> RuleSet:
    """Load (once per directory) and check the rule set; raise RuleSetError when it is not sound."""
    path = Path(directory) if directory is not None else default_rules_dir()
    return _load_cached(str(path.resolve()))
