"""The one strict YAML reader: duplicate keys refused, every data file of the package parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from telespine.content.errors import GuideError
from telespine.datafile import DuplicateKeyError, load_yaml_file, load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.triage.findings import FindingsError
from telespine.triage.rules import RuleSetError, load_ruleset

SRC = Path(__file__).resolve().parents[1] / "src" / "telespine"


def test_a_key_given_twice_is_refused_with_its_lines() -> None:
    expected = r"rules\.yaml: line 3: key 'level' is given twice \(first on line 2\)"
    with pytest.raises(DuplicateKeyError, match=expected):
        load_yaml_text("- id: a\n  level: urgent\n  level: prompt\n", "rules.yaml")


def test_a_nested_duplicate_is_refused() -> None:
    with pytest.raises(DuplicateKeyError):
        load_yaml_text("rules:\n  - when:\n      is_true: fever\n      is_true: bladder\n")


def test_merged_keys_may_be_overridden() -> None:
    doc = load_yaml_text("base: &b {x: 1, y: 1}\nother:\n  <<: *b\n  x: 2\n")
    assert doc["other"] == {"x": 2, "y": 1}


def test_broken_yaml_is_a_data_file_error() -> None:
    with pytest.raises(DataFileError, match="not valid YAML"):
        load_yaml_text("a: [1, 2", "x.yaml")


def test_only_safe_tags() -> None:
    with pytest.raises(DataFileError):
        load_yaml_text("!!python/object/apply:os.system ['true']")


def test_unreadable_file_is_a_data_file_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(DataFileError, match=r"bad\.yaml: cannot read"):
        load_yaml_file(bad)


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.yaml")), ids=lambda p: str(p.relative_to(SRC)))
def test_every_data_file_of_the_package_parses_strictly(path: Path) -> None:
    load_yaml_file(path)


def test_a_rule_file_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    rules = SRC / "triage" / "rules"
    for f in rules.iterdir():
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    adult = tmp_path / "adult.yaml"
    text = adult.read_text(encoding="utf-8")
    # the same rule given a second level: safe_load would keep the last one silently
    adult.write_text(
        text.replace("    level: emergency\n", "    level: emergency\n    level: routine\n", 1),
        encoding="utf-8",
    )
    with pytest.raises(RuleSetError, match="given twice"):
        load_ruleset(tmp_path)


def test_domain_errors_share_one_base_class() -> None:
    for error in (RuleSetError, FindingsError, GuideError, DataFileError):
        assert issubclass(error, TelespineError)
