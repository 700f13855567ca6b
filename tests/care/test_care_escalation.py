"""Diary escalation rules, evaluated with a frozen clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from pydantic import ValidationError

from telespine.care import escalation as escalation_module
from telespine.care.diary import Answer, CaseState, DiaryEntry
from telespine.care.escalation import (
    EscalationRules,
    ScreenedText,
    evaluate_case,
    load_escalation_rules,
    screen_note,
)
from telespine.care.screening import Mention, Screening
from telespine.instruments import ScoreRecord
from telespine.triage.types import Disposition

UTC = dt.UTC
START = dt.date(2026, 1, 5)  # a Monday
QUESTIONS = [q.id for q in load_escalation_rules().red_flag_check]
ADULT: dict[str, Any] = {"age_years": 42, "pain_score": 6, "location": "low_back", "duration_days": 14}


def at(day: dt.date, hour: int = 18) -> dt.datetime:
    """A frozen instant on a calendar day (UTC)."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=UTC)


def day(n: int) -> dt.date:
    """Day n of treatment (day 0 is the start)."""
    return START + dt.timedelta(days=n)


def entry(n: int, pain: int, function: int = 5, **answers: Answer) -> DiaryEntry:
    check: dict[str, Answer] = dict.fromkeys(QUESTIONS, "no")
    check.update(answers)
    return DiaryEntry(day=day(n), pain=pain, function=function, medicine_use="as_usual", red_flag_check=check)


def case(**changes: Any) -> CaseState:
    fields: dict[str, Any] = {
        "case_id": "case-1",
        "findings": ADULT,
        "treatment_started_on": START,
        "baseline_pain": 6.0,
    }
    return CaseState(**(fields | changes))


def fired(report: Any) -> list[str]:
    return [e.rule_id for e in report.escalations]


def nrs(n: int, pain: float) -> ScoreRecord:
    return ScoreRecord(
        instrument_id="nrs",
        version="1.0",
        scores={"pain": pain},
        primary_scale="pain",
        category=None,
        category_label=None,
        responses={"pain": int(pain)},
        taken_at=at(day(n), 9),
    )


# --- the red-flag check -------------------------------------------------------------------------


def test_a_yes_in_the_red_flag_check_retriages_now() -> None:
    entries = [entry(3, 5), entry(4, 5, saddle_numbness="yes")]
    report = evaluate_case(case(), entries, [], at(day(4)))
    assert fired(report) == ["care.diary_red_flag"]
    [escalation] = report.escalations
    assert escalation.action == "retriage"
    assert escalation.key == f"case-1:care.diary_red_flag:{day(4).isoformat()}"
    assert escalation.updates == {"saddle_numbness": True}
    assert report.retriage is not None
    assert report.retriage.result.disposition is Disposition.EMERGENCY
    assert "adult.cauda_equina" in [r.id for r in report.retriage.result.rules]
    assert report.needs_review


def test_an_unknown_answer_is_not_a_no() -> None:
    report = evaluate_case(case(), [entry(4, 5, leg_weakness="unknown")], [], at(day(4)))
    assert report.retriage is not None
    assert report.retriage.findings_after["leg_weakness"] == "unknown"
    assert report.retriage.result.disposition is Disposition.URGENT  # policy v2 rule 3
    assert "leg_weakness" in report.retriage.result.unresolved


def test_the_rules_skip_no_entry_by_its_day() -> None:
    # What a clinician reviewed is decided by the time it was stored (services.followup): the
    # pure rules take no review date, so an earlier day's red flag always fires here ...
    entries = [entry(3, 5, fever="yes"), entry(4, 5)]
    assert fired(evaluate_case(case(), entries, [], at(day(4)))) == ["care.diary_red_flag"]
    with pytest.raises(ValueError):
        case(red_flags_reviewed_through=day(3))
    # ... and one the caller passes as reviewed (answered "no") does not
    report = evaluate_case(case(), [entry(3, 5), entry(4, 5)], [], at(day(4)))
    assert fired(report) == []
    assert report.retriage is None
    assert not report.needs_review


def test_entries_dated_after_today_are_ignored() -> None:
    report = evaluate_case(case(), [entry(5, 5, fever="yes")], [], at(day(4)))
    assert fired(report) == []


def test_a_combined_question_takes_the_worst_finding() -> None:
    report = evaluate_case(case(), [entry(2, 4, bladder_bowel="yes")], [], at(day(2)))
    assert report.retriage is not None
    assert report.retriage.findings_after["bladder"] == "incontinence"
    assert report.retriage.findings_after["bowel"] == "incontinence"


def test_entries_must_answer_exactly_the_check() -> None:
    incomplete = DiaryEntry(
        day=day(1), pain=3, function=5, medicine_use="none", red_flag_check={"fever": "no"}
    )
    with pytest.raises(ValueError, match="missing"):
        evaluate_case(case(), [incomplete], [], at(day(1)))
    extra = entry(1, 3, headache="no")
    with pytest.raises(ValueError, match="unknown"):
        evaluate_case(case(), [extra], [], at(day(1)))


@pytest.mark.parametrize(
    "bad",
    [
        {"pain": 11},
        {"pain": "5"},
        {"function": -1},
        {"medicine_use": "lots"},
        {"mood": 3},
        {"red_flag_check": {"fever": "maybe"}},
        {"day": "2026-01-05"},
    ],
)
def test_diary_entries_are_strict(bad: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "day": day(1),
        "pain": 3,
        "function": 5,
        "medicine_use": "none",
        "red_flag_check": {"fever": "no"},
    }
    with pytest.raises(ValidationError):
        DiaryEntry(**(fields | bad))


def test_diary_entries_accept_json_dates() -> None:
    doc = '{"day": "2026-01-06", "pain": 3, "function": 7, "medicine_use": "none", "red_flag_check": {}}'
    assert DiaryEntry.model_validate_json(doc).day == day(1)


# --- screened messages and diary notes ---------------------------------------------------------


def screened(ref: str, n: int, *flags: Mention, status: Literal["ok", "error"] = "ok") -> ScreenedText:
    screening = Screening(
        status=status,
        audience="adult",
        flags=list(flags),
        modifiers=[],
        ignored=[],
        rules_version="t",
        error="boom" if status == "error" else None,
    )
    return ScreenedText(ref=ref, day=day(n), source="message", screening=screening)


FAINTED = Mention(
    concept="fainting_or_collapse",
    kind="red_flag",
    sets={"fainting_or_collapse": True},
    text="fainted",
    start=2,
    end=9,
)


def test_a_flagged_message_retriages_with_a_key_per_message() -> None:
    texts = [screened("m-1", 3, FAINTED), screened("m-2", 3, FAINTED), screened("m-0", 2)]
    report = evaluate_case(case(), [], [], at(day(3)), screened=texts)
    keys = [e.key for e in report.escalations]
    assert keys == ["case-1:care.text_red_flag:m-1", "case-1:care.text_red_flag:m-2"]
    assert {e.action for e in report.escalations} == {"retriage"}
    assert "fainted" in report.escalations[0].details
    assert report.retriage is not None
    assert report.retriage.result.disposition is Disposition.EMERGENCY


def test_a_failed_screening_asks_a_clinician_to_read_the_message() -> None:
    report = evaluate_case(case(), [], [], at(day(3)), screened=[screened("m-9", 3, status="error")])
    [escalation] = report.escalations
    assert escalation.action == "review"
    assert "boom" in escalation.details
    assert report.retriage is None
    assert report.needs_review


def test_future_messages_do_not_fire_and_earlier_days_do() -> None:
    assert fired(evaluate_case(case(), [], [], at(day(3)), screened=[screened("m-2", 5, FAINTED)])) == []
    # no day counts as reviewed in the rules (the caller leaves out the texts a clinician reviewed)
    report = evaluate_case(case(), [], [], at(day(3)), screened=[screened("m-1", 2, FAINTED)])
    assert fired(report) == ["care.text_red_flag"]


# --- no improvement at 6 and 12 weeks -----------------------------------------------------------


def week_of(pain: int, ending: int) -> list[DiaryEntry]:
    """Seven daily entries of the same pain, the last on day `ending`."""
    return [entry(n, pain) for n in range(ending - 6, ending + 1)]


def test_no_improvement_is_not_judged_before_six_weeks() -> None:
    assert fired(evaluate_case(case(), week_of(6, 41), [], at(day(41)))) == []


def test_no_improvement_at_six_weeks_flags_for_review() -> None:
    report = evaluate_case(case(), week_of(6, 42), [], at(day(42)))
    assert fired(report) == ["care.no_improvement_6_weeks"]
    [escalation] = report.escalations
    assert escalation.action == "review"
    assert escalation.key == f"case-1:care.no_improvement_6_weeks:{day(42).isoformat()}"
    assert report.retriage is None


def test_improvement_of_two_points_is_enough() -> None:
    assert fired(evaluate_case(case(baseline_pain=9.0), week_of(7, 42), [], at(day(42)))) == []


def test_improvement_of_thirty_percent_is_enough() -> None:
    # 5 -> 3.4 is under 2 points but over 30%.
    entries = [entry(n, 3 if n % 2 else 4) for n in range(36, 42)] + [entry(42, 3)]
    mean = sum(e.pain for e in entries) / len(entries)
    assert mean <= 3.5
    assert fired(evaluate_case(case(baseline_pain=5.0), entries, [], at(day(42)))) == []


def test_improvement_just_under_both_thresholds_is_not_enough() -> None:
    # 10 -> 8.1: 1.9 points and 19%.
    entries = [entry(n, 8) for n in range(36, 42)] + [entry(42, 9)]
    report = evaluate_case(case(baseline_pain=10.0), entries, [], at(day(42)))
    assert "care.no_improvement_6_weeks" in fired(report)


def test_too_little_data_at_six_weeks_is_flagged() -> None:
    report = evaluate_case(case(), [entry(40, 2), entry(42, 2)], [], at(day(42)))
    assert fired(report) == ["care.no_improvement_6_weeks"]
    assert "not enough" in report.escalations[0].details


def test_questionnaire_improvement_counts() -> None:
    report = evaluate_case(case(), [], [nrs(0, 7), nrs(42, 4)], at(day(42)))
    assert fired(report) == []


def test_baseline_defaults_to_the_first_entry() -> None:
    entries = [entry(0, 8), *week_of(8, 42)]
    assert fired(evaluate_case(case(baseline_pain=None), entries, [], at(day(42)))) == [
        "care.no_improvement_6_weeks"
    ]


def test_twelve_weeks_without_improvement_becomes_a_routine_referral() -> None:
    report = evaluate_case(case(), week_of(6, 84), [], at(day(84)))
    assert fired(report) == ["care.no_improvement_6_weeks", "care.no_improvement_12_weeks"]
    assert report.retriage is not None
    assert report.retriage.findings_after["weeks_on_treatment_without_improvement"] == 12
    assert report.retriage.result.disposition is Disposition.ROUTINE
    assert "adult.no_improvement_on_treatment" in [r.id for r in report.retriage.result.rules]


def test_eleven_weeks_is_not_yet_a_referral() -> None:
    report = evaluate_case(case(), week_of(6, 83), [], at(day(83)))
    assert fired(report) == ["care.no_improvement_6_weeks"]
    assert report.retriage is None


def test_twelve_weeks_with_improvement_is_not_a_referral() -> None:
    assert fired(evaluate_case(case(), week_of(3, 84), [], at(day(84)))) == []


# --- worsening trend ----------------------------------------------------------------------------


def test_pain_rising_three_days_in_a_row_alerts() -> None:
    entries = [entry(10, 3), entry(11, 4), entry(12, 5), entry(13, 6)]
    report = evaluate_case(case(baseline_pain=5.0), entries, [], at(day(13)))
    assert fired(report) == ["care.pain_rising_3_days"]
    assert report.escalations[0].action == "alert"
    assert "3 -> 4 -> 5 -> 6" in report.escalations[0].details


def test_pain_rising_two_days_in_a_row_does_not_alert() -> None:
    entries = [entry(10, 5), entry(11, 4), entry(12, 5), entry(13, 6)]
    assert fired(evaluate_case(case(baseline_pain=5.0), entries, [], at(day(13)))) == []


def test_a_missing_day_breaks_the_run() -> None:
    entries = [entry(9, 3), entry(11, 4), entry(12, 5), entry(13, 6)]
    assert fired(evaluate_case(case(baseline_pain=5.0), entries, [], at(day(13)))) == []


def test_a_flat_day_breaks_the_run() -> None:
    entries = [entry(10, 3), entry(11, 4), entry(12, 4), entry(13, 6)]
    assert fired(evaluate_case(case(baseline_pain=5.0), entries, [], at(day(13)))) == []


def test_a_run_ending_yesterday_still_alerts_but_not_two_days_ago() -> None:
    entries = [entry(10, 3), entry(11, 4), entry(12, 5), entry(13, 6)]
    assert fired(evaluate_case(case(baseline_pain=5.0), entries, [], at(day(14)))) == [
        "care.pain_rising_3_days"
    ]
    assert fired(evaluate_case(case(baseline_pain=5.0), entries, [], at(day(15)))) == []


def test_seven_day_mean_two_points_above_baseline_alerts() -> None:
    entries = [entry(n, 6) for n in range(8, 15)]
    report = evaluate_case(case(baseline_pain=4.0), entries, [], at(day(14)))
    assert fired(report) == ["care.pain_mean_up_2"]
    assert report.escalations[0].key == f"case-1:care.pain_mean_up_2:{day(14).isoformat()}"


def test_seven_day_mean_just_under_two_points_does_not_alert() -> None:
    entries = [entry(n, 6) for n in range(8, 14)] + [entry(14, 5)]
    assert fired(evaluate_case(case(baseline_pain=4.0), entries, [], at(day(14)))) == []


def test_mean_rise_needs_enough_entries() -> None:
    entries = [entry(13, 8), entry(14, 8)]
    assert fired(evaluate_case(case(baseline_pain=4.0), entries, [], at(day(14)))) == []


# --- clock and purity ---------------------------------------------------------------------------


def test_today_is_the_patient_s_local_day() -> None:
    entries = [entry(4, 5, fever="yes")]
    late_utc = dt.datetime.combine(day(3), dt.time(23, 30), tzinfo=UTC)
    assert fired(evaluate_case(case(), entries, [], late_utc)) == []
    in_auckland = evaluate_case(case(timezone="Pacific/Auckland"), entries, [], late_utc)
    assert in_auckland.today == day(4)
    assert fired(in_auckland) == ["care.diary_red_flag"]


def test_now_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_case(case(), [], [], dt.datetime(2026, 1, 5, 12, 0))


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ValidationError):
        case(timezone="Mars/Olympus")


def test_evaluation_is_deterministic() -> None:
    entries = [*week_of(6, 83), entry(84, 6, fever="yes"), entry(84, 7)]
    first = evaluate_case(case(), entries, [], at(day(84)))
    second = evaluate_case(case(), list(reversed(entries)), [], at(day(84)))
    assert first == second
    assert fired(first) == [
        "care.diary_red_flag",
        "care.no_improvement_6_weeks",
        "care.no_improvement_12_weeks",
    ]


def _rules_doc() -> dict[str, Any]:
    path = Path(escalation_module.__file__).parent / "data" / "escalation.yaml"
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def test_rule_file_rejects_unknown_keys() -> None:
    doc = _rules_doc()
    [rule] = [r for r in doc["rules"] if r["kind"] == "no_improvement"]
    rule["improvement"]["min_point"] = 3
    with pytest.raises(ValidationError):
        EscalationRules.model_validate(doc)


def test_rule_file_rejects_unknown_kinds() -> None:
    doc = _rules_doc()
    doc["rules"][0]["kind"] = "regex"
    with pytest.raises(ValidationError):
        EscalationRules.model_validate(doc)


def test_rule_file_rejects_check_questions_setting_invalid_findings() -> None:
    doc = _rules_doc()
    doc["red_flag_check"][0]["sets"] = {"onset": "sudden"}  # onset has no "unknown" value
    with pytest.raises(ValidationError, match="unknown"):
        EscalationRules.model_validate(doc)


def test_thresholds_come_from_the_data() -> None:
    doc = _rules_doc()
    for rule in doc["rules"]:
        if rule["kind"] == "mean_rise":
            rule["min_rise"] = 1.0
    looser = EscalationRules.model_validate(doc)
    entries = [entry(n, 5) for n in range(8, 15)]
    assert fired(evaluate_case(case(baseline_pain=4.0), entries, [], at(day(14)))) == []
    assert fired(evaluate_case(case(baseline_pain=4.0), entries, [], at(day(14)), looser)) == [
        "care.pain_mean_up_2"
    ]


def test_every_cited_source_is_known() -> None:
    sources_file = Path(escalation_module.__file__).parents[1] / "content" / "sources.yaml"
    known = set(yaml.safe_load(sources_file.read_text(encoding="utf-8"))["sources"])
    rules = load_escalation_rules()
    cited = set(rules.sources).union(
        *(r.sources for r in rules.rules), *(q.sources for q in rules.red_flag_check)
    )
    assert cited <= known, cited - known


def test_reports_round_trip_through_json() -> None:
    report = evaluate_case(case(), [entry(4, 5, fever="yes")], [], at(day(4)))
    assert type(report).model_validate_json(report.model_dump_json()) == report


def test_a_diary_note_with_a_red_flag_retriages() -> None:
    with_note = entry(4, 5).model_copy(update={"note": "Walked less today. Since lunch I can't pee."})
    note = screen_note(with_note, "entry-4", "adult")
    assert note is not None and note.source == "diary_note"
    report = evaluate_case(case(), [with_note], [], at(day(4)), screened=[note])
    assert fired(report) == ["care.text_red_flag"]
    assert report.retriage is not None
    assert report.retriage.result.disposition is Disposition.EMERGENCY
    assert screen_note(entry(4, 5), "entry-4", "adult") is None
