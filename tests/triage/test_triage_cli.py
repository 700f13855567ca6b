"""`telespine triage` and scripts/check_vignettes.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telespine.cli import app
from telespine.triage import load_ruleset
from telespine.triage.rules import default_rules_dir

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _run(stdin: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["triage", "--findings", "-", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_single_object_json() -> None:
    code, out, _ = _run(json.dumps({"age_years": 50, "saddle_numbness": True}), "--format", "json")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    item = json.loads(lines[0])
    assert item["disposition"] == "emergency"
    assert [r["id"] for r in item["rules"]] == ["adult.cauda_equina"]
    assert item["unresolved"] == []
    rs = load_ruleset()
    assert item["ruleset"] == {"version": rs.version, "sha256": rs.sha256}
    assert "id" not in item


def test_json_lines_with_ids_and_bare_findings() -> None:
    stdin = "\n".join(
        [
            json.dumps({"id": "a", "findings": {"age_years": 30}}),
            "",
            json.dumps({"age_years": 9, "fever": True}),
            json.dumps({"id": 7, "findings": {"age_years": 48, "saddle_numbness": "unknown"}}),
        ]
    )
    code, out, _ = _run(stdin, "--format", "json")
    assert code == 0
    items = [json.loads(line) for line in out.strip().splitlines()]
    assert [i.get("id") for i in items] == ["a", None, 7]
    assert [i["disposition"] for i in items] == ["telemedicine", "urgent", "urgent"]  # v2 rule 3
    assert items[2]["unresolved"] == ["saddle_numbness"]


def test_text_output_explains_what_to_do_and_why() -> None:
    code, out, _ = _run(json.dumps({"age_years": 55, "fever": True, "pain_score": 8}))
    assert code == 0
    assert "Be seen in person today" in out
    assert "What to do" in out and "By when" in out and "Why" in out
    assert "Fever with severe pain" in out


def test_text_output_for_a_child_addresses_the_parent() -> None:
    code, out, _ = _run(json.dumps({"age_years": 9, "fever": True}))
    assert code == 0
    assert "your child" in out.lower()


def test_invalid_line_names_line_and_field_and_gives_no_result() -> None:
    stdin = json.dumps({"age_years": 30}) + "\n" + json.dumps({"age_years": 30, "fevr": True}) + "\n"
    code, out, err = _run(stdin, "--format", "json")
    assert code == 2
    assert out == ""
    assert "line 2" in err and "fevr" in err


def test_out_of_range_value_is_rejected() -> None:
    code, out, err = _run(json.dumps({"age_years": 30, "pain_score": 12}), "--format", "json")
    assert code == 2 and out == ""
    assert "pain_score" in err and "maximum" in err


def test_broken_json_line_is_rejected() -> None:
    code, out, err = _run('{"age_years": 30}\n{"age_years": \n', "--format", "json")
    assert code == 2 and out == ""
    assert "line 2" in err


def test_unknown_wrapper_key_is_rejected() -> None:
    code, _, err = _run(json.dumps({"id": "x", "findings": {"age_years": 3}, "expected": "prompt"}))
    assert code == 2
    assert "expected" in err


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["triage", "--findings", str(tmp_path / "nope.json")])
    assert result.exit_code == 2


def test_findings_file_argument(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"age_years": 4}))
    result = runner.invoke(app, ["triage", "--findings", str(path), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["disposition"] == "prompt"


@pytest.fixture
def corrupt_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    path = target / "adult.yaml"
    path.write_text(path.read_text().replace("is_true: saddle_numbness", "is_truthy: saddle_numbness", 1))
    monkeypatch.setenv("TELESPINE_RULES_DIR", str(target))
    return target


def test_corrupt_rule_file_gives_safety_net_and_nonzero_exit_json(corrupt_rules: Path) -> None:
    code, out, err = _run(json.dumps({"id": "x", "findings": {"age_years": 30}}), "--format", "json")
    assert code == 3
    item = json.loads(out)
    assert item["id"] == "x"
    assert item["disposition"] == "emergency" and item["safety_net"] is True
    assert [r["id"] for r in item["rules"]] == ["safety.engine_failure"]
    assert "could not be loaded" in err


def test_corrupt_rule_file_gives_safety_net_text(corrupt_rules: Path) -> None:
    code, out, _ = _run(json.dumps({"age_years": 30}))
    assert code == 3
    assert "emergency" in out.lower()
    assert "What to do" not in out  # no reassuring advice, only the safety net


def test_check_vignettes_script_passes_on_the_shared_vignettes() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_vignettes.py"), str(DATA / "vignettes.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "under-triage: 0" in proc.stdout
    assert "emergency sensitivity: 9/9 (100.0%" in proc.stdout


def test_check_vignettes_script_fails_on_a_disagreement(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(
        json.dumps(
            {"id": "W1", "findings": {"age_years": 30, "saddle_numbness": True}, "expected": "telemedicine"}
        )
        + "\n"
        + json.dumps({"id": "W2", "findings": {"age_years": 30}, "expected": "emergency"})
        + "\n"
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_vignettes.py"), str(wrong)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "under-triage: 1" in proc.stdout
    assert "emergency sensitivity: 0/1" in proc.stdout
    assert "over-triage of telemedicine cases: 1/1" in proc.stdout


def test_crash_in_validation_gives_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    import telespine.commands.triage as command

    def broken(doc: object) -> dict[str, object]:
        raise RuntimeError("schema gone")

    monkeypatch.setattr(command, "validate_findings", broken)
    code, out, err = _run(json.dumps({"age_years": 30}), "--format", "json")
    assert code == 3
    assert json.loads(out)["safety_net"] is True
    assert "schema gone" in err
