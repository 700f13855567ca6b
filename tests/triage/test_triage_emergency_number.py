"""S7: one configured emergency number everywhere; data holds only the {emergency_number} placeholder."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from telespine.cli import app
from telespine.triage import load_ruleset
from telespine.triage.advice import load_advice, parse_advice
from telespine.triage.emergency import hard_coded_number, with_emergency_number
from telespine.triage.engine import ENGINE_FAILURE, ENGINE_FAILURE_PARENT, safety_net_message
from telespine.triage.rules import RULES_DIR_ENV, default_rules_dir
from telespine.triage.types import Disposition

runner = CliRunner()
NUMBERS = re.compile(r"(?<!\d)(911|999|112|111|000)(?!\d)")
TRIAGE = Path(str(resources.files("telespine.triage")))
DATA_FILES = [
    TRIAGE / "dispositions.yaml",
    TRIAGE / "questions.yaml",
    *sorted(default_rules_dir().glob("*.yaml")),
]


def _texts(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in a YAML document except source keys (e.g. seed-000 is a citation, not a number)."""
    if isinstance(node, dict):
        return [t for k, v in node.items() if k != "sources" for t in _texts(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [t for i, v in enumerate(node) for t in _texts(v, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) else []


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_no_emergency_number_is_written_out_in_the_data(path: Path) -> None:
    texts = _texts(yaml.safe_load(path.read_text("utf-8")))
    assert texts
    for where, text in texts:
        assert NUMBERS.search(text) is None, f"{path.name}{where}: {text}"
    comments = [line for line in path.read_text("utf-8").splitlines() if line.lstrip().startswith("#")]
    assert not any(NUMBERS.search(line) for line in comments), path.name


def test_no_rule_reason_or_safety_text_names_a_number() -> None:
    rs = load_ruleset()
    texts = [r.reason for r in rs.rules] + [r.reason_parent for r in rs.rules] + [r.title for r in rs.rules]
    texts += [rs.unresolved_unknown.reason, rs.unresolved_unknown_for("pediatric").reason]
    texts += [ENGINE_FAILURE.reason, ENGINE_FAILURE_PARENT.reason]
    for text in texts:
        assert NUMBERS.search(text) is None, text
        assert "{emergency_number}" not in text  # reasons say "your emergency number", no placeholder


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
@pytest.mark.parametrize("number", ["000", "112", "999", "911"])
def test_emergency_advice_names_only_the_configured_number(audience: Any, number: str) -> None:
    what = load_advice().for_(Disposition.EMERGENCY).what.for_(audience, number)
    assert f"call {number}" in what
    assert set(NUMBERS.findall(what)) == {number}
    assert "{" not in what


def test_the_default_number_is_911() -> None:
    assert "call 911" in load_advice().for_(Disposition.EMERGENCY).what.for_("adult")
    assert safety_net_message("adult").endswith("Your emergency number is 911.")


@pytest.mark.parametrize("audience", ["adult", "pediatric", None])
def test_safety_net_message_uses_the_configured_number(audience: Any) -> None:
    text = safety_net_message(audience, "000")
    assert set(NUMBERS.findall(text)) == {"000"}


def test_substitution_is_plain_replacement_so_stray_braces_cannot_crash() -> None:
    assert with_emergency_number("Call {emergency_number} {now} {0} {", "112") == "Call 112 {now} {0} {"


def test_the_advice_loader_refuses_a_written_out_number() -> None:
    text = (TRIAGE / "dispositions.yaml").read_text("utf-8")
    parse_advice(text)  # the shipped file passes
    broken = text.replace("call {emergency_number}.", "call 911 in the US, 999 in the UK, 112 in the EU.", 1)
    assert broken != text
    with pytest.raises(ValueError, match="emergency_number"):
        parse_advice(broken)


def test_the_rule_loader_refuses_a_written_out_number(tmp_path: Path) -> None:
    import shutil

    from telespine.triage import RuleSetError

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    data = yaml.safe_load((rules / "adult.yaml").read_text())
    data["rules"][0]["reason"] += " Call 999 now."
    (rules / "adult.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RuleSetError, match="999"):
        load_ruleset(rules)


def test_hard_coded_number_ignores_longer_numbers() -> None:
    assert hard_coded_number("pain for 1000 days, 9112 steps") is None
    assert hard_coded_number("call 111 or 112") == "111"


def test_cli_safety_net_shows_the_configured_number_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "rules"
    empty.mkdir()
    monkeypatch.setenv(RULES_DIR_ENV, str(empty))
    monkeypatch.setenv("TELESPINE_EMERGENCY_NUMBER", "000")
    monkeypatch.setenv("COLUMNS", "400")  # one line per paragraph: the panel's border splits no words
    result = runner.invoke(app, ["triage", "-f", "-"], input=json.dumps({"age_years": 30}))
    assert result.exit_code == 3
    out = " ".join(result.stdout.split())
    assert "Your emergency number is 000" in out
    assert set(NUMBERS.findall(out)) == {"000"}


def test_cli_emergency_result_shows_the_configured_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELESPINE_EMERGENCY_NUMBER", "112")
    monkeypatch.setenv("COLUMNS", "400")  # one line per paragraph in the panel
    doc = {"age_years": 9, "saddle_numbness": True}
    result = runner.invoke(app, ["triage", "-f", "-"], input=json.dumps(doc))
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())
    assert "call 112" in out.lower()
    assert set(NUMBERS.findall(out)) == {"112"}


def test_cli_default_number_is_911(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELESPINE_EMERGENCY_NUMBER", raising=False)
    doc = {"age_years": 30, "saddle_numbness": True}
    result = runner.invoke(app, ["triage", "-f", "-"], input=json.dumps(doc))
    assert "call 911" in " ".join(result.stdout.split())


def test_assess_shows_only_the_configured_number(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from telespine.commands.assess import run_assessment

    monkeypatch.setenv("TELESPINE_EMERGENCY_NUMBER", "000")
    answers = iter(["40", "1", "yes"])  # age, sex, saddle numbness: emergency
    buffer = io.StringIO()
    code = run_assessment(lambda _prompt: next(answers), Console(file=buffer, width=400), "adult")
    out = buffer.getvalue()
    assert code == 0
    assert "call 000" in out.lower()
    assert set(NUMBERS.findall(out)) == {"000"}
