"""Rules as data: the rule-file models, the strict loader and the compiler to closures.

A rule's condition is a tree of a small closed set of operators (is_true, equals, in, gte, gt,
lt, all, any, at_least). There is no expression language, no eval and no regex. Missing values
are explicit: an absent finding, "unknown", "none" and "normal" never make a leaf true.
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

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from telespine.triage.findings import ABSENCE_VALUES, UNKNOWN, finding_specs
from telespine.triage.types import Audience, Disposition, FiredRule, RulesetRef

RULES_DIR_ENV = "TELESPINE_RULES_DIR"
RULESET_FILE = "ruleset.yaml"

Findings = Mapping[str, Any]
Test = Callable[[Findings], bool]


class RuleSetError(Exception):
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


OPERATORS = ("is_true", "equals", "in", "gte", "gt", "lt", "all", "any", "at_least")


def _operator_of(value: Any) -> str | None:
    """The single operator key of a condition mapping; None (rejected) for anything else."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in OPERATORS else None
    if isinstance(value, BaseModel):
        return _TAGS.get(type(value))
    return None


_TAGS: dict[type[BaseModel], str] = {
    IsTrue: "is_true", Equals: "equals", In: "in", Gte: "gte", Gt: "gt", Lt: "lt",
    All: "all", AnyOf: "any", AtLeast: "at_least",
}

Condition = Annotated[
    Annotated[IsTrue, Tag("is_true")]
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


class RuleSpec(_Strict):
    """One rule as written in a rule file."""

    id: str = Field(pattern=r"^(adult|child)\.[a-z][a-z0-9_]*$")
    level: Disposition
    audience: Literal["all", "pediatric"]
    title: str = Field(min_length=3)
    reads: list[str] = Field(min_length=1)
    when: Condition
    reason: str = Field(min_length=10)
    rationale: str = Field(min_length=10)
    sources: list[str] = Field(min_length=1)


class RuleFile(_Strict):
    """A rule file: a list of rules."""

    rules: list[RuleSpec] = Field(min_length=1)


class PseudoRuleSpec(_Strict):
    """The text of a pseudo rule that the engine adds itself (not a condition tree)."""

    title: str = Field(min_length=3)
    reason: str = Field(min_length=10)
    rationale: str = Field(min_length=10)
    sources: list[str] = Field(min_length=1)


class RuleSetFile(_Strict):
    """ruleset.yaml: the version of the whole rule set and the pseudo rules' texts."""

    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str
    unresolved_unknown: PseudoRuleSpec


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

    def applies_to(self, audience: Audience) -> bool:
        """Pediatric rules apply under 18 only; the others apply to everyone."""
        return self.audience == "all" or audience == "pediatric"


@dataclass(frozen=True, eq=False)  # identity equality/hash: a loaded rule set is a value object by version
class RuleSet:
    """A loaded, versioned rule set."""

    version: str
    sha256: str
    rules: list[Rule]
    unresolved_unknown: FiredRule
    directory: str
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


def condition_reads(cond: Any) -> list[str]:
    """The findings a condition tree reads, in first-use order, each once."""
    out: list[str] = []

    def walk(c: Any) -> None:
        if isinstance(c, IsTrue):
            names = [c.is_true]
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
    if isinstance(cond, IsTrue | Equals | In | Gte | Gt | Lt):
        return [cond]
    return [leaf for child in _children(cond) for leaf in leaves(child)]


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
    if isinstance(cond, IsTrue | Equals | In | Gte | Gt | Lt):
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
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise RuleSetError("content/sources.yaml has no 'sources' mapping")
    return frozenset(str(k) for k in data["sources"])


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleSetError(f"{path.name}: cannot read: {exc}") from exc


def _check_sources(sources: list[str], known: frozenset[str] | None, where: str) -> None:
    if known is None:
        return
    for key in sources:
        if key not in known:
            raise RuleSetError(f"{where}: unknown source key {key!r} (not in content/sources.yaml)")


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
    fired = FiredRule(id=spec.id, level=spec.level, title=spec.title, reason=spec.reason,
                      rationale=spec.rationale, sources=list(spec.sources))
    return Rule(id=spec.id, level=spec.level, audience=spec.audience, reads=list(spec.reads),
                title=spec.title, reason=spec.reason, rationale=spec.rationale,
                sources=list(spec.sources), when=spec.when, test=compile_condition(spec.when), fired=fired)


def _load(directory: Path) -> RuleSet:
    meta_path = directory / RULESET_FILE
    if not meta_path.is_file():
        raise RuleSetError(f"{directory}: {RULESET_FILE} is missing")
    rule_paths = sorted(p for p in directory.glob("*.yaml") if p.name != RULESET_FILE)
    if not rule_paths:
        raise RuleSetError(f"{directory}: no rule files")
    known = _source_keys()
    try:
        meta = RuleSetFile.model_validate(_read_yaml(meta_path))
    except ValidationError as exc:
        raise RuleSetError(f"{RULESET_FILE}: {exc}") from exc
    _check_sources(meta.unresolved_unknown.sources, known, f"{RULESET_FILE}: unresolved_unknown")
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
    digest = ruleset_digest([meta_path, *rule_paths])
    return RuleSet(version=meta.version, sha256=digest, rules=rules,
                   unresolved_unknown=unresolved, directory=str(directory), _by_id=by_id,
                   _applicable=applicable, _reach=reach, _masks=masks,
                   ref=RulesetRef(version=meta.version, sha256=digest))


@cache
def _load_cached(directory: str) -> RuleSet:
    return _load(Path(directory))


def load_ruleset(directory: Path | str | None = None) -> RuleSet:
    """Load (once per directory) and check the rule set; raise RuleSetError when it is not sound."""
    path = Path(directory) if directory is not None else default_rules_dir()
    return _load_cached(str(path.resolve()))
