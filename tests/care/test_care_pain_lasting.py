"""The pain-duration rule (care.pain_lasting): the days since the findings were given count
towards the pain's duration, so the policy's duration rules (a child's pain past 4 weeks, a young
athlete's back past 3 weeks, mid-back pain past 6 weeks, an inflammatory pattern past 3 months)
also fire during follow-up, once per level, and never while the diary says the pain has stopped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from telespine.care.diary import CaseState, DiaryEntry, duration_given_at
from telespine.care.escalation import evaluate_case, load_escalation_rules
from telespine.care.findings_merge import merge_findings
from telespine.commands.worker import run_once
from telespine.store import cases, repo, repo_care
from telespine.store.db import make_engine, make_sessionmaker
from telespine.triage import triage
from telespine.web.testing import make_test_settings

UTC = dt.UTC
START = dt.date(2026, 3, 2)
QUESTIONS = [q.id for q in load_escalation_rules().red_flag_check]
CHILD: dict[str, Any] = {
    "age_years": 10,
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 14,
    "pain_score": 4,
}
ADULT: dict[str, Any] = {
    "age_years": 40,
    "location": "low_back",
    "onset": "gradual",
    "duration_days": 14,
    "pain_score": 4,
}


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def at(n: int) -> dt.datetime:
    return dt.datetime.combine(day(n), dt.time(18), tzinfo=UTC)


def entry(n: int, pain: int) -> DiaryEntry:
    return DiaryEntry(
        day=day(n),
        pain=pain,
        function=5,
        medicine_use="as_usual",
        red_flag_check=dict.fromkeys(QUESTIONS, "no"),
    )


def state(findings: dict[str, Any], findings_on: dt.date | None = START) -> CaseState:
    return CaseState(case_id="c1", findings=findings, treatment_started_on=START, findings_on=findings_on)


def lasting(report: Any) -> list[Any]:
    return [e for e in report.escalations if e.rule_id == "care.pain_lasting"]


def test_a_childs_pain_past_four_weeks_is_routine_and_not_a_day_before() -> None:
    # 14 days at the assessment: day 14 after it is 28 days (not past 4 weeks), day 15 is 29.
    assert lasting(evaluate_case(state(CHILD), [], [], at(14))) == []
    report = evaluate_case(state(CHILD), [], [], at(15))
    (esc,) = lasting(report)
    assert esc.action == "retriage" and esc.updates == {"duration_days": 29}
    assert report.retriage is not None and report.retriage.result.disposition.value == "routine"
    assert "child.lasting_pain" in [r.id for r in report.retriage.result.rules]


def test_the_rule_fires_once_per_level_reached() -> None:
    keys = {lasting(evaluate_case(state(CHILD), [], [], at(n)))[0].key for n in (15, 20, 40)}
    assert keys == {"c1:care.pain_lasting:routine"}


def test_no_diary_counts_as_pain_that_goes_on_but_a_week_of_zeros_does_not() -> None:
    zeros = [entry(n, 0) for n in range(10, 17)]
    assert lasting(evaluate_case(state(CHILD), zeros, [], at(16))) == []
    still = [*zeros[:-1], entry(16, 1)]
    assert len(lasting(evaluate_case(state(CHILD), still, [], at(16)))) == 1
    old_zeros = [entry(n, 0) for n in range(0, 7)]  # pain-free long ago, nothing in the last week
    assert len(lasting(evaluate_case(state(CHILD), old_zeros, [], at(16)))) == 1


def test_one_pain_free_entry_is_not_yet_pain_that_stopped() -> None:
    assert len(lasting(evaluate_case(state(CHILD), [entry(16, 0)], [], at(16)))) == 1
    three = [entry(n, 0) for n in (12, 14, 16)]
    assert lasting(evaluate_case(state(CHILD), three, [], at(16))) == []


def test_a_fraction_of_a_day_counts() -> None:
    (esc,) = lasting(evaluate_case(state(CHILD | {"duration_days": 27.5}), [], [], at(1)))
    assert esc.updates == {"duration_days": 28.5}


def test_versions_that_copy_the_duration_do_not_restart_the_count() -> None:
    from types import SimpleNamespace

    def version(day_n: int, days: int) -> Any:
        return SimpleNamespace(findings={"duration_days": days}, created_at=at(day_n))

    # given on day 0, copied by follow-up versions on days 30 and 84: counted from day 0
    assert duration_given_at([version(0, 1), version(30, 1), version(84, 1)]) == at(0)
    # a new answer with another duration starts the count again from that answer
    assert duration_given_at([version(0, 1), version(30, 40), version(84, 40)]) == at(30)
    assert duration_given_at([version(5, 14)]) == at(5)


def test_an_adult_without_flags_never_fires_however_long() -> None:
    assert lasting(evaluate_case(state(ADULT), [], [], at(400))) == []


def test_without_the_day_the_findings_were_given_the_rule_does_not_guess() -> None:
    assert lasting(evaluate_case(state(CHILD, findings_on=None), [], [], at(60))) == []


def test_a_young_athletes_back_past_three_weeks() -> None:
    athlete = CHILD | {"age_years": 14, "hyperextension_sport": True}
    assert lasting(evaluate_case(state(athlete), [], [], at(7))) == []  # 21 days
    (esc,) = lasting(evaluate_case(state(athlete), [], [], at(8)))  # 22 days
    assert esc.updates == {"duration_days": 22}


def test_adult_mid_back_pain_past_six_weeks_and_an_inflammatory_pattern_past_three_months() -> None:
    mid = ADULT | {"location": "mid_back", "duration_days": 30}
    assert lasting(evaluate_case(state(mid), [], [], at(12))) == []  # 42 days
    report = evaluate_case(state(mid), [], [], at(13))  # 43 days
    assert lasting(report) and report.retriage is not None
    assert report.retriage.result.disposition.value == "routine"
    inflammatory = ADULT | {
        "age_years": 30,
        "duration_days": 80,
        "onset_before_40": True,
        "night_pain": True,
        "morning_stiffness_over_30_min": True,
        "better_with_exercise_not_rest": True,
    }
    assert lasting(evaluate_case(state(inflammatory), [], [], at(10))) == []  # 90 days
    report = evaluate_case(state(inflammatory), [], [], at(11))  # 91 days
    assert report.retriage is not None and report.retriage.result.disposition.value == "prompt"


def test_a_merged_duration_never_gets_shorter() -> None:
    assert merge_findings({"duration_days": 40}, {"duration_days": 20})["duration_days"] == 40
    assert merge_findings({"duration_days": 20}, {"duration_days": 40})["duration_days"] == 40
    assert merge_findings({}, {"duration_days": 29})["duration_days"] == 29


def test_the_worker_raises_a_childs_case_after_four_weeks_once(clean_db: str) -> None:
    engine = make_engine(clean_db)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db:
            clinic = repo.create_clinic(db, "Lasting clinic")
            parent = repo.create_user(db, username="parent", password="x" * 12, role="patient", clinic=clinic)
            a = repo.save_assessment(
                db,
                profile=repo.ensure_self_profile(db, parent),
                by=parent,
                findings=CHILD,
                result=triage(CHILD),
            )
            given = a.latest.created_at.replace(tzinfo=UTC)  # versions are append-only: count from it
            case = repo_care.ensure_case(db, a)
            case.treatment_started_on = given.date()
            db.commit()
            case_id = case.id
        settings = make_test_settings(clean_db)

        def later(days: int) -> dt.datetime:
            return dt.datetime.combine(given.date() + dt.timedelta(days=days), dt.time(18), tzinfo=UTC)

        early = run_once(factory, settings, now=later(14), worker="w")  # 28 days: not yet
        with factory() as db:
            assert "care.pain_lasting" not in db.scalars(select(cases.EscalationRecord.rule_id)).all()
        run_once(factory, settings, now=later(16), worker="w")
        again = run_once(factory, settings, now=later(17), worker="w")
        with factory() as db:
            rules = db.scalars(select(cases.EscalationRecord.rule_id)).all()
            assert rules.count("care.pain_lasting") == 1
            case = db.get(cases.CareCase, case_id)
            assert case is not None and cases.patient_disposition(db, case) == "routine"
        assert early.evaluated >= 1 and again.evaluated >= 1
    finally:
        engine.dispose()
