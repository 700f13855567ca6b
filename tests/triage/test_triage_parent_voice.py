"""S6: a child's parent reads every reason in the parent's voice, whatever rule fired."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from telespine.triage import RuleSetError, load_ruleset, safety_net, triage
from telespine.triage.engine import ENGINE_FAILURE, ENGINE_FAILURE_PARENT, safety_net_message
from telespine.triage.rules import default_rules_dir

RS = load_ruleset()

# Wording that speaks to the patient rather than to a parent about the child.
PATIENT_VOICE = re.compile(
    r"\byou (have|had|are|feel|bend|rest)\b"
    r"|\b(examine|check|see|wakes) you\b"
    r"|\byour (back|pain|legs?|arms?|bladder|bowels?|spine|head|immune|bones?|doctor|care)\b",
    re.IGNORECASE,
)


def _speaks_to_parent(text: str) -> bool:
    return "your child" in text.lower() and PATIENT_VOICE.search(text) is None


def test_the_voice_check_catches_the_reviewers_examples() -> None:
    # The check must be able to fail: the adult reasons the reviewer saw given to a parent.
    assert not _speaks_to_parent(RS.by_id("adult.fever").reason)  # "a doctor should examine you"
    assert not _speaks_to_parent(RS.by_id("adult.cancer_history").reason)  # "You have had cancer"
    assert not _speaks_to_parent(ENGINE_FAILURE.reason)
    assert not _speaks_to_parent(RS.unresolved_unknown.reason)


@pytest.mark.parametrize("rule", RS.applicable("pediatric"), ids=lambda r: r.id)
def test_every_rule_that_can_fire_for_a_child_has_a_parent_reason(rule: Any) -> None:
    text = rule.reason_for("pediatric")
    assert _speaks_to_parent(text), f"{rule.id}: {text}"
    assert rule.fired_for("pediatric").reason == text


def test_all_rules_that_can_fire_for_a_child_are_covered() -> None:
    # adult.* rules apply at every age: all of them, plus every child.* rule.
    assert {r.id for r in RS.applicable("pediatric")} == {r.id for r in RS.rules}


@pytest.mark.parametrize("rule", RS.rules, ids=lambda r: r.id)
def test_adults_still_get_the_adult_reason(rule: Any) -> None:
    if rule.audience == "all":
        assert rule.reason_for("adult") == rule.reason
        assert "your child" not in rule.reason.lower()


def test_the_reviewers_repro_speaks_to_the_parent() -> None:
    result = triage({"age_years": 9, "fever": True, "cancer_history": "current_or_recent"})
    assert {r.id for r in result.rules} >= {"child.fever", "adult.fever", "adult.cancer_history"}
    for fired in result.rules:
        assert _speaks_to_parent(fired.reason), fired.id


def test_everything_fired_for_a_child_speaks_to_the_parent() -> None:
    from telespine.triage.findings import finding_specs

    doc: dict[str, Any] = {}
    for name, spec in finding_specs().items():  # a valid document with as much present as possible
        if spec.kind == "flag":
            doc[name] = True
        elif spec.kind in {"course", "enum"}:
            doc[name] = next(v for v in spec.values if v not in {"none", "normal", "unknown"})
    doc.update(
        age_years=12,
        leg_weakness="progressive",
        trauma="major",
        location="mid_back",
        cancer_history="current_or_recent",
        duration_days=100,
        pain_score=9,
        weeks_on_treatment_without_improvement=20,
    )
    result = triage(doc)
    assert not result.safety_net and len(result.rules) > 25
    for fired in result.rules:
        assert _speaks_to_parent(fired.reason), fired.id


def test_unresolved_unknown_speaks_to_the_parent_for_a_child_only() -> None:
    child = triage({"age_years": 9, "saddle_numbness": "unknown"})
    adult = triage({"age_years": 40, "saddle_numbness": "unknown"})
    assert [r.id for r in child.rules] == [r.id for r in adult.rules] == ["safety.unresolved_unknown_urgent"]
    assert _speaks_to_parent(child.rules[0].reason)
    assert child.rules[0].reason != adult.rules[0].reason
    child = triage({"age_years": 9, "both_legs": "unknown"})
    adult = triage({"age_years": 40, "both_legs": "unknown"})
    assert [r.id for r in child.rules] == [r.id for r in adult.rules] == ["safety.unresolved_unknown"]
    assert _speaks_to_parent(child.rules[0].reason)
    assert not _speaks_to_parent(adult.rules[0].reason)


def test_engine_failure_speaks_to_the_parent_when_the_person_is_a_child() -> None:
    child = safety_net("boom", None, 9)
    adult = safety_net("boom", None, 40)
    unknown_age = safety_net("boom")
    assert child.rules == [ENGINE_FAILURE_PARENT]
    assert _speaks_to_parent(child.rules[0].reason)
    assert adult.rules == unknown_age.rules == [ENGINE_FAILURE]
    assert _speaks_to_parent(safety_net_message("pediatric"))
    assert child.rules[0].id == adult.rules[0].id == "safety.engine_failure"


def test_an_adult_rule_without_a_parent_reason_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    data = yaml.safe_load((rules / "adult.yaml").read_text())
    data["rules"][0].pop("reason_parent")
    (rules / "adult.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RuleSetError, match="reason_parent"):
        load_ruleset(rules)


def test_a_child_rule_with_a_second_reason_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    data = yaml.safe_load((rules / "pediatric.yaml").read_text())
    data["rules"][0]["reason_parent"] = "Your child needs to be seen by a doctor."
    (rules / "pediatric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RuleSetError, match="reason_parent"):
        load_ruleset(rules)


def test_the_unknown_pseudo_rule_needs_a_parent_reason(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    data = yaml.safe_load((rules / "ruleset.yaml").read_text())
    data["unresolved_unknown"].pop("reason_parent")
    (rules / "ruleset.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RuleSetError, match="reason_parent"):
        load_ruleset(rules)


@pytest.mark.parametrize("rule", [r for r in RS.rules if r.audience == "all"], ids=lambda r: r.id)
def test_titles_shared_by_adults_and_children_address_no_one(rule: Any) -> None:
    assert re.search(r"\byou(r)?\b", rule.title, re.IGNORECASE) is None, rule.title
