"""The adaptive questionnaire: questions as data, turned into findings, asked only when they matter.

Pure and stateless: callers (the `assess` command, the web pages) keep the answers dict and ask
what comes next. Which question matters is computed from the rule set with the engine:
a question is asked when one of its answers could still change the disposition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import product
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telespine.datafile import load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.triage.engine import evaluate, triage
from telespine.triage.findings import UNKNOWN, FindingsError, finding_specs, validate_findings
from telespine.triage.rules import (
    MAYBE,
    Condition,
    Gt,
    Gte,
    Lt,
    Rule,
    RuleSet,
    RuleSetError,
    Test,
    check_condition_types,
    compile_condition,
    condition_reads,
    leaves,
    load_ruleset,
    number_args,
    partial_eval,
    truth_function,
)
from telespine.triage.types import Audience, Disposition, TriageResult, audience_for_age

Answers = Mapping[str, object]
Kind = Literal["yes_no_unsure", "course", "choice", "number"]
UNSURE = "unsure"
AGE = "age_years"
_KIND_FOR = {"flag": "yes_no_unsure", "course": "course", "enum": "choice", "number": "number"}


class QuestionnaireError(TelespineError):
    """questions.yaml is not sound (the loader rejects it)."""


class AnswerError(TelespineError, ValueError):
    """An answer that does not fit its question; names the question and the problem."""

    def __init__(self, question_id: str, problem: str) -> None:
        super().__init__(f"{question_id}: {problem}")
        self.question_id = question_id
        self.problem = problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Wording(_Strict):
    """A text for each audience: the adult themself, or a parent/carer about a child."""

    adult: str = Field(min_length=1)
    pediatric: str = Field(min_length=1)

    def for_(self, audience: Audience) -> str:
        """The text for this audience."""
        return self.adult if audience == "adult" else self.pediatric


class Option(_Strict):
    """One answer option: the value stored in the answers dict and its label."""

    value: str
    label: Wording

    def label_for(self, audience: Audience) -> str:
        """The label for this audience."""
        return self.label.for_(audience)


class Question(_Strict):
    """One question; its id is the finding it sets."""

    id: str
    kind: Kind
    text: Wording
    help: Wording | None = None
    options: list[Option] = Field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    always_ask: bool = False
    ask_when: Condition | None = None
    implied_yes_when: Condition | None = None

    def text_for(self, audience: Audience) -> str:
        """The question wording for this audience."""
        return self.text.for_(audience)

    def help_for(self, audience: Audience) -> str:
        """The help text for this audience, or "" when there is none."""
        return self.help.for_(audience) if self.help is not None else ""

    def option(self, value: str) -> Option | None:
        """The option with this value, if any."""
        return next((o for o in self.options if o.value == value), None)


class _OptionSets(_Strict):
    yes_no_unsure: list[Option] = Field(min_length=2)
    course: list[Option] = Field(min_length=2)


class _QuestionsFile(_Strict):
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    option_sets: _OptionSets
    questions: list[Question] = Field(min_length=1)


@dataclass(frozen=True)
class Questionnaire:
    """The loaded questionnaire and, per audience, its asking order (red flags first)."""

    version: str
    questions: tuple[Question, ...]
    ruleset: RuleSet
    _by_id: dict[str, Question] = field(repr=False)
    _order: dict[str, tuple[Question, ...]] = field(repr=False)

    def by_id(self, question_id: str) -> Question:
        """The question with this id (KeyError when there is none)."""
        return self._by_id[question_id]

    def order(self, audience: Audience) -> tuple[Question, ...]:
        """Questions in asking order for an age group."""
        return self._order[audience]


def _check_question(q: Question, sets: _OptionSets) -> Question:
    specs = finding_specs()
    if q.id not in specs:
        raise QuestionnaireError(f"question {q.id!r}: not a finding of the findings schema")
    spec = specs[q.id]
    if _KIND_FOR[spec.kind] != q.kind:
        raise QuestionnaireError(
            f"question {q.id!r}: a {spec.kind} finding needs kind {_KIND_FOR[spec.kind]}"
        )
    if q.kind == "yes_no_unsure":
        q = q.model_copy(update={"options": list(sets.yes_no_unsure)}) if not q.options else q
    elif q.kind == "course":
        q = q.model_copy(update={"options": list(sets.course)}) if not q.options else q
    if q.kind == "number":
        if q.options or q.minimum is None or q.maximum is None:
            raise QuestionnaireError(f"question {q.id!r}: a number needs minimum and maximum, no options")
    else:
        if not q.options:
            raise QuestionnaireError(f"question {q.id!r}: needs options")
        for opt in q.options:
            finding_value = _finding_value(q, opt.value)
            if q.kind != "yes_no_unsure" and finding_value not in spec.values:
                raise QuestionnaireError(
                    f"question {q.id!r}: option {opt.value!r} is not a value of the finding"
                )
    for cond in (q.ask_when, q.implied_yes_when):
        if cond is not None:
            try:
                check_condition_types(cond, f"question {q.id}")
            except RuleSetError as exc:
                raise QuestionnaireError(str(exc)) from exc
    if q.implied_yes_when is not None and q.kind != "yes_no_unsure":
        raise QuestionnaireError(f"question {q.id!r}: implied_yes_when needs a yes/no question")
    return q


def _finding_value(q: Question, value: str) -> object:
    """The finding value an option value stands for ("unsure" is "unknown")."""
    if value == UNSURE:
        return UNKNOWN
    if q.kind == "yes_no_unsure":
        if value not in {"yes", "no"}:
            raise QuestionnaireError(f"question {q.id!r}: yes/no options are yes, no, unsure")
        return value == "yes"
    return value


def _ordered(questions: list[Question], rs: RuleSet, audience: Audience) -> tuple[Question, ...]:
    """Age first, then by the most urgent rule (for this age group) that reads each question."""
    level: dict[str, int] = {}
    for rule in rs.applicable(audience):
        for name in rule.reads:
            level[name] = min(level.get(name, 9), rule.level.level)
    position = {q.id: i for i, q in enumerate(questions)}
    # Questions that other questions' ask_when/implied_yes_when read (sex) come right after age.
    gating = {
        name
        for q in questions
        for cond in (q.ask_when, q.implied_yes_when)
        if cond is not None
        for name in condition_reads(cond)
    }

    def key(q: Question) -> tuple[int, int]:
        if q.id == AGE:
            return (-1, 0)
        if q.id in gating:
            return (0, position[q.id])
        return (level.get(q.id, 9), position[q.id])

    return tuple(sorted(questions, key=key))


@cache
def _load_cached(ruleset: RuleSet) -> Questionnaire:
    try:
        text = resources.files("telespine.triage").joinpath("questions.yaml").read_text("utf-8")
        parsed = _QuestionsFile.model_validate(load_yaml_text(text, "questions.yaml"))
    except (OSError, DataFileError, ValidationError) as exc:
        raise QuestionnaireError(f"questions.yaml: {exc}") from exc
    questions = [_check_question(q, parsed.option_sets) for q in parsed.questions]
    by_id: dict[str, Question] = {}
    for q in questions:
        if q.id in by_id:
            raise QuestionnaireError(f"question {q.id!r} appears twice")
        by_id[q.id] = q
    if AGE not in by_id:
        raise QuestionnaireError("questions.yaml must ask age_years")
    read = {name for rule in ruleset.rules for name in rule.reads}
    missing = sorted(read - set(by_id))
    if missing:
        raise QuestionnaireError(f"findings read by rules but never asked: {missing}")
    order = {aud: _ordered(questions, ruleset, aud) for aud in ("adult", "pediatric")}
    return Questionnaire(
        version=parsed.version, questions=tuple(questions), ruleset=ruleset, _by_id=by_id, _order=order
    )


def load_questionnaire(ruleset: RuleSet | None = None) -> Questionnaire:
    """Load and check questions.yaml against the findings schema and the rule set (cached)."""
    return _load_cached(ruleset if ruleset is not None else load_ruleset())


# ---- answers and findings ---------------------------------------------------------------------


def _number(question_id: str, raw: object, q: Question) -> float | int:
    if isinstance(raw, bool):
        raise AnswerError(question_id, "expected a number")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip().replace(",", "."))
        except ValueError:
            raise AnswerError(question_id, f"{raw!r} is not a number") from None
    if not isinstance(raw, int | float) or not math.isfinite(raw):
        raise AnswerError(question_id, "expected a number")
    if (q.minimum is not None and raw < q.minimum) or (q.maximum is not None and raw > q.maximum):
        raise AnswerError(question_id, f"must be between {q.minimum:g} and {q.maximum:g}")
    return int(raw) if float(raw).is_integer() else float(raw)


def answer_to_finding(q: Question, raw: object) -> object:
    """The finding value for an answer value; raises AnswerError when it does not fit."""
    if q.kind == "number":
        return _number(q.id, raw, q)
    if not isinstance(raw, str) or q.option(raw) is None:
        allowed = ", ".join(o.value for o in q.options)
        raise AnswerError(q.id, f"{raw!r} is not an answer to this question; use one of {allowed}")
    return _finding_value(q, raw)


def _raw_findings(qn: Questionnaire, answers: Answers) -> dict[str, Any]:
    findings: dict[str, Any] = {}
    for key, raw in answers.items():
        try:
            q = qn.by_id(key)
        except KeyError:
            raise AnswerError(key, "unknown question") from None
        findings[key] = answer_to_finding(q, raw)
    if AGE not in findings:
        raise AnswerError(AGE, "age is needed first")
    for q in qn.questions:
        implied = q.implied_yes_when
        if q.id not in findings and implied is not None and compile_condition(implied)(findings):
            findings[q.id] = True
    return findings


def findings_from_answers(answers: Answers) -> dict[str, Any]:
    """Turn answers into a valid findings document (unanswered questions are left out: absent)."""
    findings = _raw_findings(load_questionnaire(), answers)
    try:
        return validate_findings(findings)
    except FindingsError as exc:
        raise AnswerError(exc.field, exc.problem) from exc


def parse_answer(question: Question, raw: str) -> object:
    """Text or form input to an answer value: an option value, its label, its number, or a number."""
    text = raw.strip()
    if question.kind == "number":
        return _number(question.id, text, question)
    lowered = text.lower()
    aliases = {
        "y": "yes",
        "n": "no",
        "?": UNSURE,
        "not sure": UNSURE,
        "don't know": UNSURE,
        "unknown": UNSURE,
    }
    lowered = aliases.get(lowered, lowered)
    for index, opt in enumerate(question.options, start=1):
        labels = {opt.label.adult.lower(), opt.label.pediatric.lower()}
        if lowered == opt.value or lowered in labels or lowered == str(index):
            return opt.value
    allowed = ", ".join(f"{i} ({o.value})" for i, o in enumerate(question.options, start=1))
    raise AnswerError(question.id, f"{raw!r} is not an answer to this question; use {allowed}")


# ---- adaptive asking -------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    qn: Questionnaire
    findings: dict[str, Any]
    answered: frozenset[str]
    audience: Audience
    result: TriageResult


def _state(answers: Answers) -> _State:
    qn = load_questionnaire()
    findings = _raw_findings(qn, answers)
    try:
        validate_findings(findings)
    except FindingsError as exc:
        raise AnswerError(exc.field, exc.problem) from exc
    result = evaluate(findings, qn.ruleset)
    audience = audience_for_age(findings[AGE])
    return _State(qn, findings, frozenset(answers), audience, result)


def _askable(q: Question, st: _State) -> bool:
    if q.id in st.answered or q.id in st.findings:  # answered, or implied by other answers
        return False
    return q.ask_when is None or compile_condition(q.ask_when)(st.findings)


def _candidate_values(q: Question, rs: RuleSet) -> Sequence[object]:
    """Definite finding values to try ("unsure" is left out: it alone never decides a rule)."""
    if q.kind != "number":
        return [_finding_value(q, o.value) for o in q.options if o.value != UNSURE]
    lo, hi = q.minimum or 0.0, q.maximum if q.maximum is not None else 1e9
    values: set[float] = {lo, hi}
    for rule in rs.rules:
        for leaf in leaves(rule.when):
            if isinstance(leaf, Gte | Gt | Lt) and leaf.finding == q.id:
                limit = number_args(leaf).value
                values.update(v for v in (limit - 1, limit, limit + 1) if lo <= v <= hi)
    return sorted(values)


_STRUCTURES: dict[int, tuple[Callable[[Sequence[bool]], bool], list[Any], list[str], list[Test]]] = {}


def _rule_structure(rule: Rule) -> tuple[Callable[[Sequence[bool]], bool], list[Any], list[str], list[Test]]:
    key = id(rule.when)
    if key not in _STRUCTURES:
        fn, found = truth_function(rule.when)
        names = [leaf.finding for leaf in found]
        _STRUCTURES[key] = (fn, found, names, [compile_condition(leaf) for leaf in found])
    return _STRUCTURES[key]


def _domain(name: str, st: _State) -> list[object]:
    """Every value a finding can take (None is absent), numbers reduced to the rule thresholds."""
    spec = finding_specs()[name]
    if spec.kind == "flag":
        return [None, True, False, UNKNOWN]
    if spec.kind in {"course", "enum"}:
        return [None, *spec.values]
    return [None, *_candidate_values(st.qn.by_id(name), st.qn.ruleset)]


def _decides(rule: Rule, q: Question, st: _State, open_ids: frozenset[str]) -> bool:
    """Exact check: is there a way to answer the other open questions where q's answer changes the rule?"""
    fn, _leaves, names, tests = _rule_structure(rule)
    base = [test(st.findings) for test in tests]
    free = [name for name in dict.fromkeys(names) if name in open_ids and name != q.id]

    def vectors(name: str) -> list[tuple[tuple[int, bool], ...]]:
        idx = [i for i, n in enumerate(names) if n == name]
        out = {tuple((i, tests[i]({name: v})) for i in idx) for v in _domain(name, st)}
        return sorted(out)

    q_vectors = vectors(q.id)
    if len(q_vectors) < 2:
        return False
    for combo in product(*(vectors(name) for name in free)):
        truth = list(base)
        for vec in combo:
            for i, value in vec:
                truth[i] = value
        outcomes = set()
        for vec in q_vectors:
            for i, value in vec:
                truth[i] = value
            outcomes.add(fn(truth))
            if len(outcomes) > 1:
                return True
    return False


def _could_change(q: Question, st: _State, open_ids: frozenset[str]) -> bool:
    """True when some answer to q could still make the disposition more urgent."""
    if q.always_ask:
        return True
    current = st.result.disposition
    # (a) with everything not yet asked taken as absent, does some answer change the result?
    for v in _candidate_values(q, st.qn.ruleset):
        if evaluate({**st.findings, q.id: v}, st.qn.ruleset).disposition.more_urgent_than(current):
            return True
    # (b) could q decide a more urgent rule together with answers still to come? Rules already
    # decided either way (three-valued evaluation) are skipped before the exact check.
    for rule in st.qn.ruleset.applicable(st.audience):
        if not rule.level.more_urgent_than(current) or q.id not in rule.reads:
            continue
        if partial_eval(rule.when, st.findings, open_ids) is not MAYBE:
            continue
        if _decides(rule, q, st, open_ids):
            return True
    return False


def _pending(answers: Answers, audience: Audience | None, first_only: bool) -> list[Question]:
    if AGE not in answers:
        return [load_questionnaire().by_id(AGE)]
    st = _state(answers)
    if st.result.disposition == Disposition.EMERGENCY:
        return []
    order = st.qn.order(st.audience)
    candidates = [q for q in order if _askable(q, st)]
    open_ids = frozenset(q.id for q in candidates)
    out: list[Question] = []
    for q in candidates:
        if _could_change(q, st, open_ids):
            out.append(q)
            if first_only:
                break
    return out


def next_question(answers: Answers, audience: Audience | None = None) -> Question | None:
    """The next question to ask, or None when finished (including when an emergency is certain).

    audience only changes wording, and a Question carries the wording for both audiences; the
    parameter is accepted so that callers can pass the same arguments as to progress().
    """
    found = _pending(answers, audience, first_only=True)
    return found[0] if found else None


def progress(answers: Answers, audience: Audience | None = None) -> tuple[int, int]:
    """(questions answered, answered + questions that would still be asked now): an estimate."""
    qn = load_questionnaire()
    done = sum(1 for key in answers if key in {q.id for q in qn.questions})
    return done, done + len(_pending(answers, audience, first_only=False)) if AGE in answers else done + 1


def audience_for(answers: Answers) -> Audience | None:
    """The audience that follows from the age answer; None before age is answered."""
    if AGE not in answers:
        return None
    age = _number(AGE, answers[AGE], load_questionnaire().by_id(AGE))
    return audience_for_age(age)


def emergency_certain(answers: Answers) -> bool:
    """True when a rule already gives emergency (absent answers cannot undo it): stop asking."""
    if AGE not in answers:
        return False
    return result(answers).disposition == Disposition.EMERGENCY


def result(answers: Answers) -> TriageResult:
    """The triage result for the answers so far (unanswered questions count as absent)."""
    return triage(findings_from_answers(answers))
