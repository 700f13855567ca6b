"""Merging follow-up findings (only ever more urgent) and re-triaging a case."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telespine.care.findings_merge import MergeError, load_merge_order, merge_findings
from telespine.care.retriage import retriage, retriage_message
from telespine.care.screening import Screening, screen_message
from telespine.triage.types import Disposition

ORDER = load_merge_order()
ADULT: dict[str, Any] = {"age_years": 45, "pain_score": 5, "location": "low_back", "duration_days": 10}


def test_merge_raises_a_value_but_never_lowers_it() -> None:
    base = {"age_years": 40, "bladder": "retention", "leg_weakness": "stable", "fever": False}
    merged = merge_findings(base, {"bladder": "changed", "leg_weakness": "progressive", "fever": True})
    assert merged["bladder"] == "retention"
    assert merged["leg_weakness"] == "progressive"
    assert merged["fever"] is True


def test_unknown_is_above_stable_for_a_course() -> None:
    # Stable numbness is routine for adults, unknown is at least prompt: unknown must win.
    assert merge_findings({"age_years": 40, "leg_numbness": "stable"}, {"leg_numbness": "unknown"}) == {
        "age_years": 40,
        "leg_numbness": "unknown",
    }
    assert (
        merge_findings({"age_years": 40, "leg_numbness": "unknown"}, {"leg_numbness": "stable"})[
            "leg_numbness"
        ]
        == "unknown"
    )


def test_numbers_take_the_maximum() -> None:
    merged = merge_findings({"age_years": 40, "pain_score": 6}, {"pain_score": 4})
    assert merged["pain_score"] == 6
    assert (
        merge_findings(merged, {"weeks_on_treatment_without_improvement": 12})[
            "weeks_on_treatment_without_improvement"
        ]
        == 12
    )


@pytest.mark.parametrize(
    "update",
    [{"age_years": 3}, {"location": "mid_back"}, {"bladder": "leaky"}, {"fever": 1}, {"pain_score": True}],
)
def test_merge_rejects_what_follow_up_data_may_not_change(update: dict[str, Any]) -> None:
    with pytest.raises(MergeError):
        merge_findings({"age_years": 40}, update)


finding_values = st.sampled_from(sorted(ORDER.findings)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(ORDER.order_of(name)))
)


@settings(max_examples=400, deadline=None)
@given(
    age=st.integers(min_value=1, max_value=95),
    base=st.lists(finding_values, max_size=6),
    update=st.lists(finding_values, min_size=1, max_size=6),
)
def test_retriage_is_never_less_urgent(
    age: int, base: list[tuple[str, Any]], update: list[tuple[str, Any]]
) -> None:
    findings = {"age_years": age, **dict(base)}
    done = retriage(findings, dict(update))
    assert not done.previous.disposition.more_urgent_than(done.result.disposition)
    for name, value in done.findings_after.items():
        if name in ORDER.findings and name in findings:
            order = ORDER.order_of(name)
            assert order.index(value) >= order.index(findings[name])


def test_resolving_an_unknown_never_lowers_the_result() -> None:
    # An unknown night-pain answer is at least prompt; "yes" alone would be telemedicine at 30.
    findings = {"age_years": 30, "night_pain": "unknown"}
    done = retriage(findings, {"night_pain": True, "fever": True})
    assert done.previous.disposition is Disposition.PROMPT
    # With a new fever the result stays prompt, so the real answer is kept.
    assert done.findings_after == {"age_years": 30, "night_pain": True, "fever": True}
    assert done.result.disposition is Disposition.PROMPT
    lowered = retriage(findings, {"night_pain": True})
    assert lowered.findings_after == findings
    assert lowered.result.disposition is Disposition.PROMPT
    assert lowered.changed == []


def test_an_unknown_replaced_by_an_emergency_value_escalates() -> None:
    done = retriage({"age_years": 30, "bladder": "unknown"}, {"bladder": "retention"})
    assert done.findings_after["bladder"] == "retention"
    assert done.result.disposition is Disposition.EMERGENCY


def test_a_red_flag_message_escalates_the_case() -> None:
    screening = screen_message("Since this morning I can't pee and my bum feels numb.")
    done = retriage_message(ADULT, screening)
    assert done.previous.disposition is Disposition.TELEMEDICINE
    assert done.result.disposition is Disposition.EMERGENCY
    assert "adult.cauda_equina" in [rule.id for rule in done.result.rules]
    assert done.changed == ["bladder", "saddle_numbness"]
    assert done.escalated and done.needs_review


def test_a_negated_message_changes_nothing() -> None:
    done = retriage_message(ADULT, screen_message("No numbness down there and no trouble peeing."))
    assert done.changed == []
    assert done.result == done.previous
    assert not done.escalated and not done.needs_review


def test_a_failed_screening_needs_review_without_changing_findings() -> None:
    failed = Screening(
        status="error", audience="adult", flags=[], modifiers=[], ignored=[], rules_version="x", error="boom"
    )
    done = retriage_message(ADULT, failed)
    assert done.needs_review
    assert done.findings_after == ADULT


def test_a_pediatric_message_uses_the_pediatric_rules() -> None:
    child = {"age_years": 9, "pain_score": 3}
    done = retriage_message(child, screen_message("She is limping today.", "pediatric"))
    assert done.result.disposition is Disposition.URGENT
    assert "child.cannot_walk" in [rule.id for rule in done.result.rules]


def test_invalid_stored_findings_give_the_safety_net() -> None:
    done = retriage({"age_years": 40, "fever": "maybe"}, {"fever": True})
    assert done.result.safety_net
    assert done.result.disposition is Disposition.EMERGENCY
    assert done.needs_review


def test_an_update_that_cannot_be_merged_gives_the_safety_net() -> None:
    done = retriage(ADULT, {"location": "mid_back"})
    assert done.result.safety_net
    assert done.needs_review
    assert done.findings_after == ADULT
