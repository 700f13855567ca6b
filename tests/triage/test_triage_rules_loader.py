"""The strict rule loader: contract ids, sources, hash, and every kind of rejection."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from telespine.triage import RuleSetError, load_ruleset
from telespine.triage.rules import OPERATORS, default_rules_dir

ROOT = Path(__file__).resolve().parents[2]


def _contract_rule_ids() -> set[str]:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("## Rule ids", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:adult|child)\.[a-z_]+)`", section))


def test_rule_ids_are_exactly_those_of_the_contract() -> None:
    ids = {r.id for r in load_ruleset().rules}
    assert ids == _contract_rule_ids()


def test_rule_levels_match_the_contract_tables() -> None:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text()
    rs = load_ruleset()
    checked = set()
    for row in re.findall(r"^\| (emergency|urgent|prompt|routine) \| (.+) \|$", text, flags=re.M):
        for rule_id in re.findall(r"`((?:adult|child)\.[a-z_]+)`", row[1]):
            assert rs.by_id(rule_id).level.value == row[0], rule_id
            checked.add(rule_id)
    assert checked == {r.id for r in rs.rules}


def test_every_cited_source_is_in_the_content_registry() -> None:
    registry = yaml.safe_load((ROOT / "src/telespine/content/sources.yaml").read_text())["sources"]
    rs = load_ruleset()
    for rule in rs.rules:
        assert rule.sources and set(rule.sources) <= set(registry), rule.id
    assert set(rs.unresolved_unknown.sources) <= set(registry)


def test_declared_reads_equal_what_the_condition_reads() -> None:
    from telespine.triage.rules import condition_reads

    for rule in load_ruleset().rules:
        assert sorted(rule.reads) == sorted(condition_reads(rule.when)), rule.id


def test_version_is_semver_and_hash_is_stable() -> None:
    rs = load_ruleset()
    assert re.fullmatch(r"\d+\.\d+\.\d+", rs.version)
    assert re.fullmatch(r"[0-9a-f]{64}", rs.sha256)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _edit(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _first_rule(data: dict[str, object]) -> dict[str, object]:
    rules = data["rules"]
    assert isinstance(rules, list)
    rule = rules[0]
    assert isinstance(rule, dict)
    return rule


def test_copy_loads_with_same_hash(rules_copy: Path) -> None:
    assert load_ruleset(rules_copy).sha256 == load_ruleset().sha256


def test_hash_changes_when_a_rule_file_changes(rules_copy: Path) -> None:
    before = load_ruleset(rules_copy).sha256
    path = rules_copy / "adult.yaml"
    path.write_text(path.read_text() + "\n# a comment\n")
    fresh = rules_copy.parent / "rules2"
    shutil.copytree(rules_copy, fresh)
    assert load_ruleset(fresh).sha256 != before


def test_hash_ignores_line_ending_style(rules_copy: Path) -> None:
    before = load_ruleset(rules_copy).sha256
    fresh = rules_copy.parent / "crlf"
    shutil.copytree(rules_copy, fresh)
    for path in fresh.glob("*.yaml"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert load_ruleset(fresh).sha256 == before


def _reject(rules_copy: Path, filename: str, change: Callable[[dict[str, object]], None], words: str) -> None:
    _edit(rules_copy / filename, change)
    with pytest.raises(RuleSetError) as info:
        load_ruleset(rules_copy)
    assert words in str(info.value)


def test_rejects_unknown_key_in_a_rule(rules_copy: Path) -> None:
    _reject(rules_copy, "adult.yaml", lambda d: _first_rule(d).update(priority=1), "priority")


def test_rejects_unknown_key_at_file_level(rules_copy: Path) -> None:
    _reject(rules_copy, "ruleset.yaml", lambda d: d.update(author="x"), "author")


def test_rejects_unknown_operator(rules_copy: Path) -> None:
    _reject(
        rules_copy, "adult.yaml", lambda d: _first_rule(d).update(when={"matches": "saddle.*"}), "operator"
    )


def test_operator_set_is_closed() -> None:
    assert OPERATORS == ("is_true", "is_false", "equals", "in", "gte", "gt", "lt", "all", "any", "at_least")


def test_rejects_reads_that_differ_from_the_condition(rules_copy: Path) -> None:
    _reject(
        rules_copy,
        "adult.yaml",
        lambda d: _first_rule(d).update(reads=["saddle_numbness"]),
        "differs from what the condition reads",
    )


def test_rejects_reads_listing_an_extra_finding(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        rule = _first_rule(d)
        reads = rule["reads"]
        assert isinstance(reads, list)
        rule["reads"] = [*reads, "fever"]

    _reject(rules_copy, "adult.yaml", change, "differs")


def test_rejects_unknown_source_key(rules_copy: Path) -> None:
    _reject(rules_copy, "adult.yaml", lambda d: _first_rule(d).update(sources=["seed-999"]), "seed-999")


def test_rejects_unknown_finding(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        _first_rule(d).update(reads=["saddle_numbnes"], when={"is_true": "saddle_numbnes"})

    _reject(rules_copy, "adult.yaml", change, "unknown finding")


def test_rejects_a_rule_that_fires_on_unknown(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        _first_rule(d).update(reads=["bladder"], when={"equals": {"finding": "bladder", "value": "unknown"}})

    _reject(rules_copy, "adult.yaml", change, "may not fire")


def test_rejects_a_value_the_finding_does_not_have(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        _first_rule(d).update(reads=["bladder"], when={"in": {"finding": "bladder", "values": ["leaky"]}})

    _reject(rules_copy, "adult.yaml", change, "not a value")


def test_rejects_operator_on_the_wrong_kind_of_finding(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        _first_rule(d).update(reads=["pain_score"], when={"is_true": "pain_score"})

    _reject(rules_copy, "adult.yaml", change, "flag")


def test_rejects_at_least_larger_than_its_list(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        _first_rule(d).update(reads=["fever"], when={"at_least": {"n": 2, "of": [{"is_true": "fever"}]}})

    _reject(rules_copy, "adult.yaml", change, "exceeds")


def test_rejects_duplicate_rule_ids(rules_copy: Path) -> None:
    def change(d: dict[str, object]) -> None:
        rules = d["rules"]
        assert isinstance(rules, list)
        rules.append(dict(rules[0]))

    _reject(rules_copy, "adult.yaml", change, "duplicate")


def test_rejects_child_rule_for_all_ages(rules_copy: Path) -> None:
    _reject(rules_copy, "pediatric.yaml", lambda d: _first_rule(d).update(audience="all"), "pediatric")


def test_rejects_non_semver_version(rules_copy: Path) -> None:
    _reject(rules_copy, "ruleset.yaml", lambda d: d.update(version="v1"), "version")


def test_rejects_yaml_syntax_error(rules_copy: Path) -> None:
    (rules_copy / "adult.yaml").write_text("rules: [\n")
    with pytest.raises(RuleSetError, match="cannot read"):
        load_ruleset(rules_copy)


def test_rejects_missing_ruleset_file(rules_copy: Path) -> None:
    (rules_copy / "ruleset.yaml").unlink()
    with pytest.raises(RuleSetError, match=r"ruleset\.yaml is missing"):
        load_ruleset(rules_copy)
