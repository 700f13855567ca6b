"""S1/S2: the rule-set manifest (ruleset.yaml) and the loader's refusal of anything it does not declare."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from telespine.cli import app
from telespine.triage import RuleSetError, load_ruleset
from telespine.triage.rules import RULES_DIR_ENV, default_rules_dir

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
CAUDA = {"age_years": 30, "saddle_numbness": True}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    return target


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return found


def _refused(directory: Path, *words: str) -> None:
    with pytest.raises(RuleSetError) as info:
        load_ruleset(directory)
    for word in words:
        assert word in str(info.value)


def _cli(directory: Path, doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv(RULES_DIR_ENV, str(directory))
    result = runner.invoke(app, ["triage", "-f", "-", "--format", "json"], input=json.dumps(doc))
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def test_manifest_lists_exactly_the_contract_rules_at_their_levels() -> None:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("## Rule ids", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (emergency|urgent|prompt|routine) \| (.+) \|$", section, flags=re.M)
    contract = {
        rule_id: level for level, ids in rows for rule_id in re.findall(r"`((?:adult|child)\.[a-z_]+)`", ids)
    }
    manifest = yaml.safe_load((default_rules_dir() / "ruleset.yaml").read_text())
    listed = {rule_id: level for level, ids in manifest["rules"].items() for rule_id in ids}
    assert listed == contract
    assert {r.id: r.level.value for r in load_ruleset().rules} == contract


# ---- S1: the reviewer's repro, then every way the folder can differ from the manifest ----------


def test_missing_rule_file_gives_the_safety_net_not_telemedicine(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (rules / "adult.yaml").unlink()
    _refused(rules, "missing", "adult.yaml")
    code, out = _cli(rules, CAUDA, monkeypatch)
    assert code == 3
    assert out["disposition"] == "emergency" and out["safety_net"] is True
    assert out["ruleset"]["version"] == "unavailable"


def test_renamed_rule_file_is_refused(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (rules / "adult.yaml").rename(rules / "adult.yml")
    _refused(rules, "adult.yaml")
    code, out = _cli(rules, CAUDA, monkeypatch)
    assert (code, out["disposition"], out["safety_net"]) == (3, "emergency", True)


@pytest.mark.parametrize("name", ["extra.yml", "extra.json", "extra.yaml", ".hidden.yaml", "notes.txt"])
def test_undeclared_file_in_the_folder_is_refused(rules: Path, name: str) -> None:
    (rules / name).write_text("rules: []\n")
    _refused(rules, "not declared", name)


def test_undeclared_folder_is_refused(rules: Path) -> None:
    (rules / "more").mkdir()
    _refused(rules, "not declared", "more")


def test_deleted_rule_block_gives_the_safety_net(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(rules / "adult.yaml", lambda d: d["rules"].remove(_rule(d, "adult.cauda_equina")))
    _refused(rules, "missing", "adult.cauda_equina")
    code, out = _cli(rules, CAUDA, monkeypatch)
    assert (code, out["disposition"], out["safety_net"]) == (3, "emergency", True)


def test_deleting_from_both_the_file_and_the_manifest_is_still_refused(rules: Path) -> None:
    # The manifest must keep every POLICY rule: removing one everywhere is caught by the id check
    # against the contract above, and the loader refuses a manifest without a level's list.
    _edit(rules / "ruleset.yaml", lambda d: d["rules"].pop("emergency"))
    _refused(rules, "no list", "emergency")


def test_extra_rule_is_refused(rules: Path) -> None:
    def add(d: dict[str, Any]) -> None:
        d["rules"].append({**_rule(d, "adult.fever"), "id": "adult.fever_again"})

    _edit(rules / "adult.yaml", add)
    _refused(rules, "not listed", "adult.fever_again")


def test_changed_level_is_refused(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(rules / "adult.yaml", lambda d: _rule(d, "adult.cauda_equina").update(level="urgent"))
    _refused(rules, "adult.cauda_equina", "differs")
    code, out = _cli(rules, CAUDA, monkeypatch)
    assert (code, out["disposition"], out["safety_net"]) == (3, "emergency", True)


def test_rule_listed_twice_in_the_manifest_is_refused(rules: Path) -> None:
    _edit(rules / "ruleset.yaml", lambda d: d["rules"]["routine"].append("adult.cauda_equina"))
    _refused(rules, "listed twice")


@pytest.mark.parametrize("name", ["../adult.yaml", "adult.yml", "ruleset.yaml"])
def test_manifest_file_names_must_be_rule_files_in_the_folder(rules: Path, name: str) -> None:
    _edit(rules / "ruleset.yaml", lambda d: d["files"].append(name))
    _refused(rules, "not a rule file name")


def test_declared_file_that_is_missing_is_refused(rules: Path) -> None:
    _edit(rules / "ruleset.yaml", lambda d: d["files"].append("spine.yaml"))
    _refused(rules, "missing", "spine.yaml")


def test_manifest_without_files_list_is_refused(rules: Path) -> None:
    _edit(rules / "ruleset.yaml", lambda d: d.pop("files"))
    _refused(rules, "files")


def test_every_loaded_rule_set_hashes_the_manifest_too(rules: Path) -> None:
    before = load_ruleset(rules).sha256
    other = rules.parent / "other"
    shutil.copytree(rules, other)
    path = other / "ruleset.yaml"
    path.write_text(path.read_text() + "# changed\n")
    assert load_ruleset(other).sha256 != before


# ---- S2: a rule can only send the person somewhere in person -----------------------------------


def test_rule_level_telemedicine_is_refused(rules: Path) -> None:
    _edit(rules / "adult.yaml", lambda d: _rule(d, "adult.cauda_equina").update(level="telemedicine"))
    _refused(rules, "level")


def test_manifest_level_telemedicine_is_refused(rules: Path) -> None:
    _edit(rules / "ruleset.yaml", lambda d: d["rules"].update(telemedicine=["adult.fever"]))
    _refused(rules, "telemedicine")
