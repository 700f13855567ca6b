"""Issue 3: the is_false operator ("without fever") and the rules that use it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from telespine.triage import RuleSetError, load_ruleset, triage
from telespine.triage.rules import MAYBE, IsFalse, compile_condition, default_rules_dir, partial_eval
from telespine.triage.types import Disposition


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, True),
        ({"fever": False}, True),
        ({"fever": True}, False),
        ({"fever": "unknown"}, False),  # unknown is not "no"
        ({"fever": 0}, False),  # only a real false counts
        ({"fever": None}, False),
    ],
)
def test_is_false_is_true_only_for_an_absent_or_false_flag(doc: dict[str, Any], expected: bool) -> None:
    assert compile_condition(IsFalse(is_false="fever"))(doc) is expected


def test_is_false_is_undecided_while_the_flag_is_still_open() -> None:
    cond = IsFalse(is_false="fever")
    assert partial_eval(cond, {}, frozenset({"fever"})) is MAYBE
    assert partial_eval(cond, {}, frozenset()) is True


@pytest.mark.parametrize(
    ("fever", "disposition", "fired"),
    [
        (None, Disposition.PROMPT, ["adult.infection_risk"]),
        (False, Disposition.PROMPT, ["adult.infection_risk"]),
        (True, Disposition.URGENT, ["adult.spinal_infection", "adult.fever"]),
        ("unknown", Disposition.PROMPT, ["safety.unresolved_unknown"]),
    ],
)
def test_infection_risk_is_without_fever(fever: object, disposition: Disposition, fired: list[str]) -> None:
    doc: dict[str, Any] = {"age_years": 45, "iv_drug_use": True}
    if fever is not None:
        doc["fever"] = fever
    result = triage(doc)
    assert result.disposition == disposition
    assert [r.id for r in result.rules] == fired


def test_chest_or_breathing_cites_general_emergency_safety_netting_too() -> None:
    rule = load_ruleset().by_id("adult.chest_or_breathing")
    assert "seed-004" in rule.sources and len(rule.sources) >= 2


def _copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    return rules


def _set_rule(rules: Path, rule_id: str, **changes: Any) -> None:
    path = rules / ("pediatric.yaml" if rule_id.startswith("child.") else "adult.yaml")
    data = yaml.safe_load(path.read_text())
    next(r for r in data["rules"] if r["id"] == rule_id).update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_is_false_on_a_non_flag_is_refused(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    _set_rule(
        rules,
        "adult.pregnancy",
        reads=["pregnant", "bladder"],
        when={"all": [{"is_true": "pregnant"}, {"is_false": "bladder"}]},
    )
    with pytest.raises(RuleSetError, match="is_false needs a flag"):
        load_ruleset(rules)


def test_is_false_without_a_rule_covering_the_flag_is_refused(tmp_path: Path) -> None:
    # feeling_unwell present alone fires nothing for adults: "without feeling unwell" could make
    # the result less urgent when the person is unwell, so the loader refuses it.
    rules = _copy(tmp_path)
    _set_rule(
        rules,
        "adult.weight_loss",
        reads=["unexplained_weight_loss", "feeling_unwell"],
        when={"all": [{"is_true": "unexplained_weight_loss"}, {"is_false": "feeling_unwell"}]},
    )
    with pytest.raises(RuleSetError, match="is_false: feeling_unwell"):
        load_ruleset(rules)


def test_is_false_covered_only_by_a_less_urgent_rule_is_refused(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    # pregnant alone is routine; using "not pregnant" in a prompt rule would lose urgency
    _set_rule(
        rules,
        "adult.weight_loss",
        reads=["unexplained_weight_loss", "pregnant"],
        when={"all": [{"is_true": "unexplained_weight_loss"}, {"is_false": "pregnant"}]},
    )
    with pytest.raises(RuleSetError, match="is_false: pregnant"):
        load_ruleset(rules)
