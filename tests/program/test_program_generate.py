"""The self-care program: gating by disposition, STarT Back stratification, audience, choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telespine.instruments import ScoreRecord, load_instrument, score
from telespine.program.generate import (
    ProgramRulesError,
    generate_program,
    load_rules,
    parse_rules,
    risk_level,
)
from telespine.program.models import Choices, Program
from telespine.triage.types import Disposition

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ADULT = {"age_years": 40, "location": "low_back"}
CHILD = {"age_years": 11, "location": "low_back"}
SB_ITEMS = [i.id for i in load_instrument("startback").items]


def startback(agree_count: int, bother: str = "slightly", when: datetime = T0) -> ScoreRecord:
    """A STarT Back record agreeing with the first `agree_count` of items 1-8."""
    answers: dict[str, int | str] = {
        item: ("agree" if n < agree_count else "disagree") for n, item in enumerate(SB_ITEMS[:8])
    }
    answers[SB_ITEMS[8]] = bother
    return score("startback", answers, when)


def startback_high() -> ScoreRecord:
    answers: dict[str, int | str] = dict.fromkeys(SB_ITEMS[:8], "agree")
    answers[SB_ITEMS[8]] = "extremely"
    return score("startback", answers, T0)


def text(program: Program | None) -> str:
    assert program is not None
    return " ".join(program.texts()).lower()


def make(
    findings: dict[str, object] | None = None,
    scores: list[ScoreRecord] | None = None,
    choices: Choices | None = None,
    audience: str = "adult",
    disposition: Disposition = Disposition.TELEMEDICINE,
) -> Program | None:
    return generate_program(
        findings or ADULT,
        scores or [],
        choices or Choices(),
        audience,  # type: ignore[arg-type]
        disposition,
    )


@pytest.mark.parametrize("disposition", [Disposition.EMERGENCY, Disposition.URGENT, Disposition.PROMPT])
@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_no_program_unless_telemedicine_or_routine(disposition: Disposition, audience: str) -> None:
    assert (
        make(CHILD if audience == "pediatric" else ADULT, audience=audience, disposition=disposition) is None
    )


def test_routine_program_is_framed_as_while_you_wait() -> None:
    routine = make(disposition=Disposition.ROUTINE)
    tele = make()
    assert routine is not None and tele is not None
    assert "while you wait" in routine.framing.lower()
    assert "while you wait" not in tele.framing.lower()


def test_risk_levels_from_startback() -> None:
    assert risk_level([startback(2)], "adult") == "low"
    assert risk_level([startback(4)], "adult") == "medium"
    assert risk_level([startback_high()], "adult") == "high"
    assert risk_level([], "adult") == "not_assessed"
    assert risk_level([startback(2)], "pediatric") == "not_assessed"
    # The latest record counts.
    later = startback(8, "extremely", T0 + timedelta(weeks=6))
    assert risk_level([later, startback(1)], "adult") == "high"


def test_stratified_care_low_medium_high() -> None:
    low = text(make(scores=[startback(1)]))
    medium = text(make(scores=[startback(4)]))
    high = text(make(scores=[startback_high()]))
    assert "low risk" in low and "physio" not in low
    assert "medium risk" in medium and "physiotherapist" in medium
    assert "psychologically informed" not in medium
    assert "high risk" in high and "psychologically informed" in high
    # Everyone gets the core self-management sections.
    for t in (low, medium, high):
        assert "scans rarely help in the first 6 weeks" in t
        assert "keep moving" in t


def test_startback_off_is_never_treated_as_low_risk() -> None:
    prog = make()
    assert prog is not None and prog.risk == "not_assessed"
    assert "low risk" not in text(prog)
    assert "physiotherapy" in text(prog)


def test_child_program_addresses_the_parent_with_gentler_exercises() -> None:
    child = make(CHILD, audience="pediatric")
    adult = make()
    assert child is not None and adult is not None
    assert "your child" in text(child)
    assert {e.id for e in child.exercises}.isdisjoint({e.id for e in adult.exercises})
    assert all(e.id.startswith("child_") for e in child.exercises)
    assert "school" in text(child)


def test_smoking_advice_only_for_smokers() -> None:
    for smokes, shown in (("yes", True), ("no", False), ("unknown", False)):
        prog = make(choices=Choices(smokes=smokes))  # type: ignore[arg-type]
        assert prog is not None
        assert ("smoking" in [s.id for s in prog.sections]) is shown


def test_mood_flag_from_phq2_or_gad2() -> None:
    phq_high = score("phq2", {"interest": "more_than_half", "down": "several_days"}, T0)
    phq_low = score("phq2", {"interest": "several_days", "down": "not_at_all"}, T0)
    assert "talk about how you feel" in text(make(scores=[phq_high]))
    assert "talk about how you feel" not in text(make(scores=[phq_low]))


def test_choices_shape_the_graded_plan_and_work_advice() -> None:
    prog = make(
        choices=Choices(
            favourite_activities=["swimming"],
            goal="Play with my grandchildren",
            work_or_school="physical_work",
        )
    )
    assert prog is not None
    assert any("swimming" in w for w in prog.graded_plan)
    assert prog.goal is not None and "grandchildren" in prog.goal
    assert "lighter tasks" in text(prog)
    desk = make(choices=Choices(work_or_school="desk_work"))
    assert "every 30 minutes" in text(desk) and "lighter tasks" not in text(desk)
    default = make()
    assert default is not None and any("walking" in w for w in default.graded_plan)
    assert default.goal is None


def test_person_text_is_not_template_syntax() -> None:
    prog = make(choices=Choices(favourite_activities=["$goal ${activity}"], goal="$activity"))
    assert prog is not None
    assert any("$goal ${activity}" in w for w in prog.graded_plan)
    assert prog.goal == "Your goal: $activity"


def test_pregnancy_finding_adds_midwife_check() -> None:
    assert "midwife" in text(make({**ADULT, "pregnant": True}, disposition=Disposition.ROUTINE))
    assert "midwife" not in text(make({**ADULT, "pregnant": "unknown"}))


def test_every_exercise_says_how_how_much_and_when_to_stop() -> None:
    for audience, findings in (("adult", ADULT), ("pediatric", CHILD)):
        prog = make(findings, audience=audience)
        assert prog is not None and prog.exercises
        assert "stop" in prog.exercise_stop_if.lower()
        for e in prog.exercises:
            assert e.how and e.dose


def test_choices_are_strict() -> None:
    with pytest.raises(ValueError):
        Choices.model_validate({"favourite_activities": ["a"] * 6})
    with pytest.raises(ValueError):
        Choices.model_validate({"work_or_school": "astronaut"})
    with pytest.raises(ValueError):
        Choices.model_validate({"goal": "x", "hobby": "y"})


def test_rules_loader_is_strict() -> None:
    rules = load_rules()
    good = rules.model_dump_json()
    assert parse_rules(good) == rules
    with pytest.raises(ProgramRulesError):
        parse_rules(good.replace('"framing"', '"framings"', 1))
    with pytest.raises(ProgramRulesError):
        parse_rules(good.replace('"risks":["low"]', '"risks":["tiny"]', 1))
    with pytest.raises(ProgramRulesError):
        parse_rules("version: [")


def test_program_is_a_pure_function() -> None:
    args = (ADULT, [startback(4)], Choices(goal="Run"), "adult", Disposition.TELEMEDICINE)
    assert generate_program(*args) == generate_program(*args)  # type: ignore[arg-type]


def test_sciatica_finding_adds_leg_advice() -> None:
    assert "sciatica" in text(make({**ADULT, "leg_pain_below_knee": True}))
    assert "sciatica" not in text(make({**ADULT, "leg_pain_below_knee": "unknown"}))
    child = text(make({**CHILD, "leg_pain_below_knee": True}, audience="pediatric"))
    assert "your child's leg" in child
