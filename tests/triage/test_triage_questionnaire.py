"""The adaptive questionnaire: order, skipping computed from the rules, early stop, answers, assess CLI."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from telespine.commands.assess import run_assessment
from telespine.triage import questionnaire as q
from telespine.triage import triage
from telespine.triage.findings import finding_specs
from telespine.triage.rules import compile_condition
from telespine.triage.types import Audience, Disposition

QN = q.load_questionnaire()
SPECS = finding_specs()


def _answer_for(question: q.Question, value: object) -> object:
    """The answer a person whose true finding is `value` gives."""
    if question.kind == "number":
        return value
    if value == "unknown":
        return "unsure"
    if question.kind == "yes_no_unsure":
        return "yes" if value is True else "no"
    return value


def _default_answer(question: q.Question) -> object:
    """The answer of someone without this finding."""
    if question.kind == "number":
        return {"pain_score": 3, "duration_days": 5}.get(question.id, 0)
    if question.kind == "yes_no_unsure":
        return "no"
    if question.kind == "course":
        return "none"
    for value in ("none", "normal", "low_back", "gradual", "female"):
        if question.option(value) is not None:
            return value
    return question.options[0].value


def _walk(truth: dict[str, Any]) -> tuple[dict[str, object], list[str]]:
    """Answer every question the questionnaire asks from a person's true findings."""
    answers: dict[str, object] = {}
    asked: list[str] = []
    while (question := q.next_question(answers)) is not None:
        assert question.id not in asked, "a question was asked twice"
        asked.append(question.id)
        if question.id in truth:
            answers[question.id] = _answer_for(question, truth[question.id])
        else:
            answers[question.id] = _default_answer(question)
    return answers, asked


def _script(overrides: dict[str, object], age: float = 35) -> Callable[[q.Question], object]:
    def answer(question: q.Question) -> object:
        if question.id == "age_years":
            return age
        return overrides.get(question.id, _default_answer(question))

    return answer


def _asked(overrides: dict[str, object], age: float = 35) -> tuple[list[str], dict[str, object]]:
    script = _script(overrides, age)
    answers: dict[str, object] = {}
    asked: list[str] = []
    while (question := q.next_question(answers)) is not None:
        asked.append(question.id)
        answers[question.id] = script(question)
    return asked, answers


def test_age_is_asked_first() -> None:
    first = q.next_question({})
    assert first is not None and first.id == "age_years"
    assert q.audience_for({}) is None


def test_audience_follows_age() -> None:
    assert q.audience_for({"age_years": 17}) == "pediatric"
    assert q.audience_for({"age_years": 18}) == "adult"


def test_red_flags_come_first() -> None:
    rs = QN.ruleset
    for audience in ("adult", "pediatric"):
        level: dict[str, int] = {}
        for rule in rs.applicable(audience):
            for name in rule.reads:
                level[name] = min(level.get(name, 9), rule.level.level)
        ordered = [level[x.id] for x in QN.order(audience) if x.id in level and x.id != "age_years"]
        assert ordered == sorted(ordered)
        assert ordered[0] == Disposition.EMERGENCY.level


def test_both_legs_asked_for_pain_below_the_knee_and_both_legs_is_urgent() -> None:
    # policy v2: bilateral sciatica (both legs, pain below the knee) is urgent, so "both legs?"
    # matters even with stable or no leg weakness and numbness
    asked, answers = _asked({"leg_pain_below_knee": "yes", "both_legs": "yes"})
    assert "both_legs" in asked
    assert q.result(answers).disposition == Disposition.URGENT


def test_both_legs_asked_when_leg_weakness_is_progressive() -> None:
    asked, answers = _asked({"leg_weakness": "progressive", "both_legs": "no"})
    assert "both_legs" in asked
    assert asked.index("both_legs") > asked.index("leg_weakness")
    assert q.result(answers).disposition == Disposition.URGENT


def test_stops_as_soon_as_emergency_is_certain() -> None:
    asked, answers = _asked({"saddle_numbness": "yes"})
    assert asked[-1] == "saddle_numbness"
    assert q.emergency_certain(answers)
    assert q.next_question(answers) is None
    assert q.result(answers).disposition == Disposition.EMERGENCY


def test_unsure_is_not_no() -> None:
    _, answers = _asked({"saddle_numbness": "unsure"})
    findings = q.findings_from_answers(answers)
    assert findings["saddle_numbness"] == "unknown"
    result = q.result(answers)
    # policy v2 rule 3: unsure about a sign that alone means emergency is at least urgent (same day)
    assert result.disposition == Disposition.URGENT and result.unresolved == ["saddle_numbness"]
    assert not q.emergency_certain(answers)


def test_inflammatory_features_asked_when_they_could_add_up() -> None:
    overrides = {
        "duration_days": 150,
        "onset": "gradual",
        "morning_stiffness_over_30_min": "yes",
        "better_with_exercise_not_rest": "yes",
        "buttock_pain_alternating": "no",
        "night_pain": "no",
    }
    asked, answers = _asked(overrides, age=28)
    assert {"morning_stiffness_over_30_min", "better_with_exercise_not_rest"} <= set(asked)
    assert "onset_before_40" not in asked  # implied by age 28
    assert q.findings_from_answers(answers)["onset_before_40"] is True
    assert "adult.inflammatory_back_pain" in {r.id for r in q.result(answers).rules}


def test_inflammatory_features_skipped_for_short_pain() -> None:
    asked, _ = _asked({"duration_days": 5, "onset": "gradual"}, age=28)
    assert "buttock_pain_alternating" not in asked


def test_pregnancy_not_asked_of_men() -> None:
    asked_m, _ = _asked({"sex": "male"}, age=30)
    asked_f, _ = _asked({"sex": "female"}, age=30)
    assert "pregnant" not in asked_m and "pregnant" in asked_f


def test_child_wording_addresses_the_parent() -> None:
    for question in QN.questions:
        assert "child" in question.text_for("pediatric").lower(), question.id
        assert "your child" not in question.text_for("adult").lower(), question.id


def test_child_questions_include_child_rules() -> None:
    asked, answers = _asked({"morning_stiffness_over_30_min": "yes"}, age=10)
    assert "morning_stiffness_over_30_min" in asked
    assert q.result(answers).disposition == Disposition.PROMPT


def test_progress_counts_answers_and_remaining() -> None:
    assert q.progress({}) == (0, 1)
    done, total = q.progress({"age_years": 30, "sex": "male"})
    assert done == 2 and total > done
    _, answers = _asked({})
    done, total = q.progress(answers)
    assert done == total == len(answers)


def test_unknown_question_id_is_an_answer_error() -> None:
    with pytest.raises(q.AnswerError) as info:
        q.findings_from_answers({"age_years": 30, "favourite_colour": "blue"})
    assert info.value.question_id == "favourite_colour"


def test_bad_answer_value_is_an_answer_error() -> None:
    with pytest.raises(q.AnswerError) as info:
        q.findings_from_answers({"age_years": 30, "fever": "maybe"})
    assert info.value.question_id == "fever"


def test_number_out_of_range_is_an_answer_error() -> None:
    with pytest.raises(q.AnswerError, match="between"):
        q.findings_from_answers({"age_years": 130})


def test_parse_answer_accepts_value_label_number_and_aliases() -> None:
    fever = QN.by_id("fever")
    assert q.parse_answer(fever, "yes") == "yes"
    assert q.parse_answer(fever, "2") == "no"
    assert q.parse_answer(fever, "Not sure") == "unsure"
    assert q.parse_answer(fever, "?") == "unsure"
    assert q.parse_answer(QN.by_id("pain_score"), " 7 ") == 7
    assert q.parse_answer(QN.by_id("age_years"), "4.5") == 4.5
    with pytest.raises(q.AnswerError):
        q.parse_answer(fever, "perhaps")
    with pytest.raises(q.AnswerError):
        q.parse_answer(QN.by_id("pain_score"), "eleven")


def test_every_rule_finding_has_a_question_of_the_right_kind() -> None:
    kinds = {"flag": "yes_no_unsure", "course": "course", "enum": "choice", "number": "number"}
    read = {n for r in QN.ruleset.rules for n in r.reads}
    for name in read:
        assert kinds[SPECS[name].kind] == QN.by_id(name).kind


def _consistent_truth() -> st.SearchStrategy[dict[str, Any]]:
    values: dict[str, st.SearchStrategy[Any]] = {}
    for name, spec in SPECS.items():
        if name == "age_years":
            continue
        if spec.kind == "flag":
            values[name] = st.sampled_from([True, True, False, "unknown"])
        elif spec.kind in {"course", "enum"}:
            values[name] = st.sampled_from(spec.values)
        else:
            points = {
                "pain_score": [2, 6, 7, 9],
                "duration_days": [3, 21, 22, 28, 29, 42, 43, 90, 91, 200],
                "weeks_on_treatment_without_improvement": [0, 11, 12],
            }[name]
            values[name] = st.sampled_from(points)
    ages = st.sampled_from([2, 4, 5, 10, 13, 17, 18, 30, 39, 40, 45, 49, 50, 69, 70, 85])
    return st.fixed_dictionaries({"age_years": ages}, optional=values)


@settings(max_examples=60, deadline=None)
@given(_consistent_truth())
def test_skipping_never_loses_a_finding_that_matters(truth: dict[str, Any]) -> None:
    """The questionnaire's result equals the engine's result on the person's full findings.

    Only what the person was never asked is left out of the reference when it is "unknown"
    (a question not asked cannot be answered "not sure"), or when the question does not apply
    (pregnancy for men, questions gated by age).
    """
    answers, asked = _walk(truth)
    got = q.findings_from_answers(answers)
    reference = {k: v for k, v in truth.items() if k in asked or v != "unknown"}
    for question in QN.questions:
        gate = question.ask_when
        skipped = question.id in reference and question.id not in asked
        if skipped and gate is not None and not compile_condition(gate)(got):
            del reference[question.id]
    for key, value in got.items():
        if key not in asked:
            reference[key] = value  # implied answers (onset before 40)
        reference.setdefault(key, value)
    assert q.result(answers).disposition == triage(reference).disposition


def _run_assess(lines: list[str], hint: Audience | None = None) -> tuple[int, str]:
    feed = iter(lines)

    def ask(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None)
    code = run_assessment(ask, console, hint)
    return code, buffer.getvalue()


def test_assess_emergency_stops_early_and_explains() -> None:
    # age 40, sex female, saddle numbness yes
    code, out = _run_assess(["40", "1", "yes"])
    assert code == 0
    assert "We stopped asking questions" in out
    assert "Go to an emergency department now" in out
    assert "Signs of pressure on the nerves" in out


def test_assess_for_a_child_uses_parent_wording_and_rejects_bad_input() -> None:
    answers = ["9", "2", "banana", "no"] + ["no"] * 3 + ["1"] * 60
    _, out = _run_assess(answers, "pediatric")
    assert "How old is your child?" in out
    assert "Sorry, I did not understand" in out
    assert "your child" in out.lower()


def test_assess_full_run_without_flags_ends_with_telemedicine_and_guide() -> None:
    asked, answers = _asked({}, age=35)
    lines = [str(answers[qid]) for qid in asked]
    code, out = _run_assess(lines, "adult")
    assert code == 0
    assert "Telemedicine and self-care suit you" in out
    assert "Read more in the guide" in out or "guide is not available" in out


def test_assess_stopped_early_gives_safety_advice_and_exit_1() -> None:
    code, out = _run_assess(["40"])
    assert code == 1
    assert "emergency department" in out


def test_assess_with_corrupt_rules_shows_the_safety_net(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ruleset.yaml").write_text("version: 1.0.0\n")
    (tmp_path / "adult.yaml").write_text("rules: nope\n")
    monkeypatch.setenv("TELESPINE_RULES_DIR", str(tmp_path))
    code, out = _run_assess(["40", "1", "no"])
    assert code == 3
    assert "Go to an emergency department now" in out
    assert "What to do" not in out


def test_assess_command_through_the_cli() -> None:
    from typer.testing import CliRunner

    from telespine.cli import app

    result = CliRunner().invoke(app, ["assess", "--for", "child"], input="9\n2\nyes\n")
    assert result.exit_code == 0, result.output
    assert "How old is your child?" in result.stdout
    assert "Take your child to an emergency department now" in result.stdout


def test_assess_command_rejects_bad_for_option() -> None:
    from typer.testing import CliRunner

    from telespine.cli import app

    result = CliRunner().invoke(app, ["assess", "--for", "dog"])
    assert result.exit_code == 2


def test_sciatica_question_is_asked_for_the_program_but_after_the_red_flags() -> None:
    asked, _ = _asked({}, age=35)
    assert "leg_pain_below_knee" in asked
    assert asked.index("leg_pain_below_knee") > asked.index("saddle_numbness")
