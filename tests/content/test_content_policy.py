"""Guides agree with triage: every red flag names real rules and is at least as urgent as the policy."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from telespine.content import list_guides, load_guide
from telespine.content.model import Guide
from telespine.triage.types import Disposition

GUIDES = list_guides()
CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"
SERIOUS = {Disposition.EMERGENCY, Disposition.URGENT, Disposition.PROMPT}


def _load_ruleset() -> Any:
    triage = importlib.import_module("telespine.triage")
    if not hasattr(triage, "load_ruleset"):
        pytest.skip("telespine.triage.load_ruleset is not built yet")
    return triage.load_ruleset()


def _contract_levels() -> dict[str, Disposition]:
    """Rule id -> level from the tables of docs/CONTRACTS.md (`| level | ids |` rows)."""
    levels: dict[str, Disposition] = {}
    for line in CONTRACTS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] not in {d.value for d in Disposition}:
            continue
        for chunk in cells[1].split(","):
            rule_id = chunk.strip().strip("`")
            if rule_id.startswith(("adult.", "child.")):
                levels[rule_id] = Disposition(cells[0])
    return levels


def _guide(audience: str) -> Guide:
    return load_guide("back-pain", audience)


def test_contract_tables_parse() -> None:
    levels = _contract_levels()
    assert levels["adult.cauda_equina"] is Disposition.EMERGENCY
    assert levels["child.athletes_back"] is Disposition.ROUTINE
    assert len(levels) >= 40


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_every_named_rule_exists_in_the_ruleset(condition: str, audience: str) -> None:
    ruleset = _load_ruleset()
    known = {rule.id for rule in ruleset.rules}
    guide = load_guide(condition, audience)
    for flag in guide.red_flags.flags:
        for rule_id in flag.rules:
            assert rule_id in known, f"{guide.audience} red flag {flag.id} names unknown rule {rule_id}"


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_red_flag_action_is_never_less_urgent_than_the_policy(condition: str, audience: str) -> None:
    ruleset = _load_ruleset()
    guide = load_guide(condition, audience)
    for flag in guide.red_flags.flags:
        for rule_id in flag.rules:
            level = Disposition(ruleset.by_id(rule_id).level)
            assert flag.action.level <= level.level, (
                f"{guide.audience} red flag {flag.id} says {flag.action.value} but {rule_id} is {level.value}"
            )


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_red_flags_agree_with_the_contract_tables(condition: str, audience: str) -> None:
    levels = _contract_levels()
    guide = load_guide(condition, audience)
    for flag in guide.red_flags.flags:
        for rule_id in flag.rules:
            assert rule_id in levels, f"{flag.id}: {rule_id} is not in CONTRACTS.md"
            assert flag.action.level <= levels[rule_id].level, f"{flag.id}: less urgent than {rule_id}"


def test_adult_guide_covers_every_adult_rule_and_no_child_rule() -> None:
    named = {r for f in _guide("adult").red_flags.flags for r in f.rules}
    adult_rules = {r for r in _contract_levels() if r.startswith("adult.")}
    assert adult_rules - named == set()
    assert not any(r.startswith("child.") for r in named)


def test_pediatric_guide_covers_child_rules_and_adult_emergencies() -> None:
    named = {r for f in _guide("pediatric").red_flags.flags for r in f.rules}
    levels = _contract_levels()
    child_rules = {r for r in levels if r.startswith("child.")}
    adult_serious = {
        r
        for r, lvl in levels.items()
        if r.startswith("adult.")
        and lvl in {Disposition.EMERGENCY, Disposition.URGENT}
        and r != "adult.giant_cell_arteritis"
    }
    # Giant cell arteritis needs age 50 or more, so it never applies to a child.
    assert child_rules - named == set()
    assert adult_serious - named == set()


def test_pediatric_rules_only_in_the_pediatric_guide() -> None:
    ruleset = _load_ruleset()
    for flag in _guide("adult").red_flags.flags:
        for rule_id in flag.rules:
            assert ruleset.by_id(rule_id).audience == "all", f"{flag.id} names a pediatric-only rule"


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_emergency_flags_come_first_in_every_rendering_order(audience: str) -> None:
    from telespine.content.render import grouped_flags

    groups = [action for action, _ in grouped_flags(_guide(audience).red_flags)]
    assert groups == sorted(groups, key=lambda d: d.level)
    assert groups[0] is Disposition.EMERGENCY
