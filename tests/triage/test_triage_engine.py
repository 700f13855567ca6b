"""The pure engine: vignettes, unknown handling, fired-rule contents, safety net, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import telespine.triage.engine as engine_module
from telespine.triage import FindingsError, evaluate, load_ruleset, triage, validate_findings
from telespine.triage.types import Disposition

DATA = Path(__file__).parent / "data"
VIGNETTES = [json.loads(line) for line in (DATA / "vignettes.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", VIGNETTES, ids=[c["id"] for c in VIGNETTES])
def test_vignette_gets_expected_disposition(case: dict[str, Any]) -> None:
    result = triage(case["findings"])
    assert result.disposition == Disposition(case["expected"]), case["narrative"]
    assert not result.safety_net


def test_result_carries_ruleset_version_and_hash() -> None:
    rs = load_ruleset()
    result = triage({"age_years": 30})
    assert result.ruleset.version == rs.version
    assert result.ruleset.sha256 == rs.sha256
    assert len(rs.sha256) == 64


def test_every_concern_is_listed_not_only_the_worst() -> None:
    result = triage({"age_years": 55, "fever": True, "pain_score": 8})
    ids = [r.id for r in result.rules]
    assert result.disposition == Disposition.URGENT
    assert ids == ["adult.fever_severe_pain", "adult.fever", "adult.severe_pain"]  # most urgent first


def test_fired_rule_carries_reason_rationale_and_sources() -> None:
    fired = triage({"age_years": 40, "saddle_numbness": True}).rules[0]
    rule = load_ruleset().by_id("adult.cauda_equina")
    assert fired.id == rule.id and fired.level == Disposition.EMERGENCY
    assert fired.reason == rule.reason and fired.rationale == rule.rationale
    assert fired.sources == ["seed-004", "seed-000", "bmj-bp-ces", "girft-ces-2023"]


def test_no_flags_is_telemedicine_with_no_rules() -> None:
    result = triage({"age_years": 35, "pain_score": 5, "duration_days": 400, "leg_pain_below_knee": True})
    assert result.disposition == Disposition.TELEMEDICINE
    assert result.rules == [] and result.unresolved == []


def test_unknown_emergency_finding_yields_urgent_and_is_unresolved() -> None:
    result = triage({"age_years": 48, "saddle_numbness": "unknown"})
    assert result.disposition == Disposition.URGENT  # policy v2 rule 3
    assert result.unresolved == ["saddle_numbness"]
    assert [r.id for r in result.rules] == ["safety.unresolved_unknown_urgent"]


def test_unknown_finding_that_reaches_prompt_yields_prompt_and_is_unresolved() -> None:
    result = triage({"age_years": 48, "fever": "unknown"})
    assert result.disposition == Disposition.PROMPT
    assert result.unresolved == ["fever"]
    assert [r.id for r in result.rules] == ["safety.unresolved_unknown"]


def test_unknown_never_makes_a_rule_fire() -> None:
    result = triage({"age_years": 48, "bladder": "unknown", "leg_weakness": "unknown", "trauma": "unknown"})
    assert all(r.id.startswith("safety.") for r in result.rules)


def test_unknown_feeling_unwell_changes_nothing_for_an_adult() -> None:
    result = triage({"age_years": 30, "feeling_unwell": "unknown"})
    assert result.disposition == Disposition.TELEMEDICINE
    assert result.unresolved == ["feeling_unwell"]
    assert result.rules == []


def test_unknown_feeling_unwell_reaches_prompt_for_a_child() -> None:
    result = triage({"age_years": 9, "feeling_unwell": "unknown"})
    assert result.disposition == Disposition.PROMPT
    assert result.unresolved == ["feeling_unwell"]


def test_unknown_routine_only_finding_is_listed_only() -> None:
    result = triage({"age_years": 30, "pregnant": "unknown"})
    assert result.disposition == Disposition.TELEMEDICINE
    assert result.unresolved == ["pregnant"]


def test_unknown_pseudo_rule_not_added_when_already_more_urgent() -> None:
    result = triage({"age_years": 30, "fever": True, "pain_score": 9, "bowel": "unknown"})
    assert result.disposition == Disposition.URGENT
    assert "safety.unresolved_unknown" not in [r.id for r in result.rules]
    assert result.unresolved == ["bowel"]


def test_reach_sets_are_computed_from_rules_per_age_group() -> None:
    rs = load_ruleset()
    adult, child = rs.can_reach_prompt("adult"), rs.can_reach_prompt("pediatric")
    assert "feeling_unwell" not in adult and "feeling_unwell" in child
    assert "pregnant" not in adult and "weeks_on_treatment_without_improvement" not in child
    expected = {n for r in rs.rules if r.audience == "all" and r.level.level <= 3 for n in r.reads}
    assert adult == expected


def test_pediatric_rules_apply_under_18_only() -> None:
    assert triage({"age_years": 17, "fever": True}).disposition == Disposition.URGENT
    assert triage({"age_years": 18, "fever": True}).disposition == Disposition.PROMPT
    assert triage({"age_years": 17, "fever": True}).audience == "pediatric"


def test_adult_rules_also_apply_to_children() -> None:
    ids = [r.id for r in triage({"age_years": 10, "saddle_numbness": True}).rules]
    assert ids == ["adult.cauda_equina"]


def test_engine_crash_gives_emergency_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine_module, "evaluate", broken)
    result = triage({"age_years": 30})
    assert result.safety_net and result.disposition == Disposition.EMERGENCY
    assert [r.id for r in result.rules] == ["safety.engine_failure"]
    assert result.error is not None and "boom" in result.error


def test_corrupt_rules_give_safety_net_from_triage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ruleset.yaml").write_text("version: [not valid\n")
    (tmp_path / "adult.yaml").write_text("rules: []\n")
    monkeypatch.setenv("TELESPINE_RULES_DIR", str(tmp_path))
    result = triage({"age_years": 30})
    assert result.safety_net and result.disposition == Disposition.EMERGENCY
    assert result.ruleset.version == "unavailable"


def test_evaluate_raises_on_input_that_slipped_past_validation() -> None:
    with pytest.raises(KeyError):
        evaluate({"pain_score": 3})


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        pytest.param({"pain_score": 3}, "age_years", "required", id="missing-age"),
        pytest.param({"age_years": 30, "fevr": True}, "fevr", "unknown finding", id="unknown-key"),
        pytest.param({"age_years": "30"}, "age_years", "type", id="wrong-type"),
        pytest.param({"age_years": True}, "age_years", "type", id="bool-is-not-a-number"),
        pytest.param({"age_years": 121}, "age_years", "maximum", id="age-out-of-range"),
        pytest.param({"age_years": 30, "pain_score": -1}, "pain_score", "minimum", id="pain-below-zero"),
        pytest.param({"age_years": 30, "pain_score": 11}, "pain_score", "maximum", id="pain-above-ten"),
        pytest.param({"age_years": 30, "bladder": "leaking"}, "bladder", "not allowed", id="bad-enum"),
        pytest.param({"age_years": 30, "fever": "yes"}, "fever", "not allowed", id="flag-not-boolean"),
        pytest.param({"age_years": float("nan")}, "age_years", "finite", id="nan"),
        pytest.param([], "(document)", "object", id="not-an-object"),
    ],
)
def test_invalid_findings_name_field_and_problem(doc: object, field: str, words: str) -> None:
    with pytest.raises(FindingsError) as info:
        triage(doc)
    assert info.value.field == field
    assert words in info.value.problem


def test_validate_returns_a_copy() -> None:
    doc = {"age_years": 30}
    out = validate_findings(doc)
    assert out == doc and out is not doc


def test_packaged_schema_is_identical_to_the_shared_contract() -> None:
    shared = Path("/work/shared/triage/findings.schema.json")
    if not shared.exists():
        pytest.skip("shared contract not present on this machine")
    packaged = Path(engine_module.__file__).with_name("findings.schema.json")
    assert packaged.read_bytes() == shared.read_bytes()


def test_shared_vignettes_copy_is_current() -> None:
    shared = Path("/work/shared/triage/vignettes.jsonl")
    if not shared.exists():
        pytest.skip("shared vignettes not present on this machine")
    assert (DATA / "vignettes.jsonl").read_bytes() == shared.read_bytes()
