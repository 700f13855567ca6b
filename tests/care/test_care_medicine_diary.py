"""The medicine diary: NSAID warning signs give levels (or re-triage), day limits and aspirin under 16."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telespine.care.diary import CaseState
from telespine.care.medicine_diary import (
    MedicineDiaryEntry,
    MedicineDiaryRules,
    MedicineTaken,
    check_entry,
    evaluate_medicines,
    load_medicine_diary_rules,
)
from telespine.care.retriage import retriage
from telespine.content.checks import dose_problems
from telespine.content.loader import load_sources
from telespine.content.readability import MAX_GRADE, reading_grade
from telespine.program.medicine_plan import load_medicine_plan_texts
from telespine.triage.types import Disposition

NOW = dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 5, 10)
ADULT = CaseState(case_id="a", findings={"age_years": 40}, treatment_started_on=dt.date(2026, 5, 1))
CHILD = CaseState(case_id="k", findings={"age_years": 12}, treatment_started_on=dt.date(2026, 5, 1))
SIGNS = [s.id for s in load_medicine_diary_rules().warning_signs]
ALL_NO = dict.fromkeys(SIGNS, "no")


def entry(day: dt.date = TODAY, medicine: str = "ibuprofen", **answers: str) -> MedicineDiaryEntry:
    taken = [MedicineTaken(medicine=medicine, taken_at=dt.datetime.combine(day, dt.time(8), dt.UTC))]
    return MedicineDiaryEntry(day=day, taken=taken, warning_signs={**ALL_NO, **answers})


def test_no_warning_sign_gives_no_level_and_nothing_to_store() -> None:
    report = evaluate_medicines(ADULT, [entry()], NOW)
    assert report.level is None and not report.escalations and not report.tell


@pytest.mark.parametrize(
    ("sign", "answer", "level"),
    [
        ("vomiting_blood", "yes", Disposition.EMERGENCY),
        ("vomiting_blood", "unknown", Disposition.URGENT),
        ("black_stools", "yes", Disposition.URGENT),
        ("black_stools", "unknown", Disposition.PROMPT),
        ("severe_stomach_pain", "yes", Disposition.URGENT),
        ("severe_stomach_pain", "unknown", Disposition.PROMPT),
        ("indigestion", "yes", Disposition.ROUTINE),
    ],
)
def test_each_warning_sign_maps_to_its_level(sign: str, answer: str, level: Disposition) -> None:
    report = evaluate_medicines(ADULT, [entry(**{sign: answer})], NOW, emergency_number="112")
    assert report.level == level
    [esc] = report.escalations
    assert esc.key == f"a:care.medicine_warning_sign:2026-05-10:{sign}"
    assert esc.action == ("review" if level == Disposition.ROUTINE else "alert")
    assert set(esc.sources) <= set(load_sources().sources)
    if level == Disposition.EMERGENCY:
        assert "112" in report.tell[0] and "{emergency_number}" not in report.tell[0]


def test_a_missing_answer_counts_as_unknown_never_no() -> None:
    answers = {k: v for k, v in ALL_NO.items() if k != "vomiting_blood"}
    e = MedicineDiaryEntry(day=TODAY, warning_signs=answers)
    assert evaluate_medicines(ADULT, [e], NOW).level == Disposition.URGENT


def test_fainting_goes_through_triage_and_gives_emergency() -> None:
    report = evaluate_medicines(ADULT, [entry(fainting="yes")], NOW)
    assert report.level == Disposition.EMERGENCY
    assert report.updates == {"fainting_or_collapse": True}
    assert report.escalations[0].action == "retriage"
    done = retriage({"age_years": 40, "location": "low_back"}, report.updates, flagged=True)
    assert done.result.disposition == Disposition.EMERGENCY
    assert "adult.aortic_emergency" in [r.id for r in done.result.rules]
    unsure = evaluate_medicines(ADULT, [entry(fainting="unknown")], NOW)
    assert unsure.updates == {"fainting_or_collapse": "unknown"} and unsure.level == Disposition.URGENT


def test_the_most_urgent_sign_wins_and_is_told_first() -> None:
    report = evaluate_medicines(
        ADULT, [entry(indigestion="yes", black_stools="yes", vomiting_blood="yes")], NOW
    )
    assert report.level == Disposition.EMERGENCY
    assert "Vomiting blood" in report.tell[0] and "indigestion" not in report.tell[0].lower()


def test_future_entries_do_not_fire_and_no_day_counts_as_reviewed() -> None:
    # a reviewed entry is passed with its signs answered "no" by services.followup (by the time it
    # was stored); the rules themselves take no review date
    assert "red_flags_reviewed_through" not in type(ADULT).model_fields
    assert evaluate_medicines(ADULT, [entry(black_stools="yes")], NOW).level is not None
    tomorrow = entry(day=TODAY + dt.timedelta(days=1), black_stools="yes")
    assert evaluate_medicines(ADULT, [tomorrow], NOW).level is None


def days_of(n: int, medicine: str = "ibuprofen") -> list[MedicineDiaryEntry]:
    return [entry(day=TODAY - dt.timedelta(days=i), medicine=medicine) for i in range(n)]


@pytest.mark.parametrize(
    ("case", "days", "fires"), [(ADULT, 10, False), (ADULT, 11, True), (CHILD, 3, False), (CHILD, 4, True)]
)
def test_nsaid_day_limits_boundary_pairs(case: CaseState, days: int, fires: bool) -> None:
    report = evaluate_medicines(case, days_of(days), NOW)
    rules = [e.rule_id for e in report.escalations]
    assert ("care.nsaid_too_many_days" in rules) is fires
    assert report.level is None  # a review, not a red flag
    assert "care.nsaid_too_many_days" not in [
        e.rule_id for e in evaluate_medicines(case, days_of(days, "paracetamol"), NOW).escalations
    ]


def test_aspirin_for_a_child_under_16_alerts_and_tells_the_parent() -> None:
    report = evaluate_medicines(CHILD, [entry(medicine="aspirin")], NOW)
    [esc] = [e for e in report.escalations if e.rule_id == "care.aspirin_under_16"]
    assert esc.action == "alert"
    assert any("under 16" in t and "child" in t for t in report.tell)
    sixteen = CaseState(case_id="s", findings={"age_years": 16}, treatment_started_on=dt.date(2026, 5, 1))
    assert not [
        e
        for e in evaluate_medicines(sixteen, [entry(medicine="aspirin")], NOW).escalations
        if e.rule_id == "care.aspirin_under_16"
    ]


def test_unknown_medicine_or_question_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown medicine"):
        check_entry(entry(medicine="unicorn_tears"))
    with pytest.raises(ValueError, match="unknown warning sign"):
        check_entry(MedicineDiaryEntry(day=TODAY, warning_signs={**ALL_NO, "hiccups": "yes"}))
    with pytest.raises(ValueError):
        MedicineDiaryEntry.model_validate({"day": "2026-05-10", "warning_signs": {}, "dose_mg": 400})


def test_rule_file_is_strict_and_safe() -> None:
    rules = load_medicine_diary_rules()
    doc = rules.model_dump()
    with pytest.raises(ValueError):
        MedicineDiaryRules.model_validate({**doc, "surprise": 1})
    bad = rules.model_dump()
    bad["warning_signs"][0]["unknown_level"] = "routine"  # emergency -> routine on unknown: too far
    with pytest.raises(ValueError, match="at most one level"):
        MedicineDiaryRules.model_validate(bad)
    bad = rules.model_dump()
    bad["warning_signs"][0]["tell"]["adult"] = "Go to hospital."  # emergency text without the number
    with pytest.raises(ValueError, match="emergency_number"):
        MedicineDiaryRules.model_validate(bad)
    known = set(load_sources().sources)
    assert set(rules.sources) <= known
    assert all(set(s.sources) <= known for s in rules.warning_signs)


def test_plan_watch_list_names_the_same_signs() -> None:
    assert sorted(w.id for w in load_medicine_plan_texts().watch_for) == sorted(SIGNS)


def test_patient_texts_are_plain_and_name_no_dose() -> None:
    rules = load_medicine_diary_rules()
    for audience in ("adult", "pediatric"):
        texts = [s.question.for_(audience) for s in rules.warning_signs]  # type: ignore[arg-type]
        texts += [s.tell.for_(audience) for s in rules.warning_signs]  # type: ignore[arg-type]
        texts += [rules.limits.nsaid_days.tell.for_(audience), rules.limits.aspirin.tell.for_(audience)]  # type: ignore[arg-type]
        joined = " ".join(t.replace("{emergency_number}", "the emergency number") for t in texts)
        assert reading_grade(joined) <= MAX_GRADE, audience
        assert not dose_problems(joined)
        if audience == "pediatric":
            assert all("child" in t for t in texts[: len(rules.warning_signs)])


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({s: st.sampled_from(["yes", "no", "unknown"]) for s in SIGNS}))
def test_level_is_never_less_urgent_than_any_sign_answered(answers: dict[str, str]) -> None:
    report = evaluate_medicines(ADULT, [MedicineDiaryEntry(day=TODAY, warning_signs=answers)], NOW)
    order = {d.value: d.level for d in Disposition}
    for sign in load_medicine_diary_rules().warning_signs:
        answer = answers[sign.id]
        if answer == "no":
            continue
        expected = (
            "emergency"
            if sign.level is None and answer == "yes"
            else ("urgent" if sign.level is None else sign.level if answer == "yes" else sign.unknown_level)
        )
        assert report.level is not None and report.level.level <= order[str(expected)]
    if all(a == "no" for a in answers.values()):
        assert report.level is None and not report.escalations
