"""S3 and issue 3: strict parsing of findings JSON (loads_findings) and what the CLI does with it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telespine.cli import app
from telespine.triage import FindingsError, loads_findings

runner = CliRunner()


def _problem(text: str | bytes) -> tuple[str, str]:
    with pytest.raises(FindingsError) as info:
        loads_findings(text)
    return info.value.field, info.value.problem


def _cli(stdin: str | bytes, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["triage", "-f", "-", "--format", "json", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_duplicate_key_is_refused_and_named() -> None:
    field, problem = _problem('{"age_years": 30, "saddle_numbness": true, "saddle_numbness": false}')
    assert field == "saddle_numbness"
    assert "duplicate" in problem


def test_duplicate_key_inside_a_wrapper_is_refused() -> None:
    field, _ = _problem('{"id": 1, "findings": {"age_years": 30, "fever": true, "fever": false}}')
    assert field == "fever"


def test_a_plain_document_parses_to_the_same_value_as_json() -> None:
    text = '{"age_years": 30.5, "fever": "unknown", "bladder": "normal", "pain_score": 7}'
    assert loads_findings(text) == json.loads(text)
    assert loads_findings(text.encode()) == json.loads(text)


@pytest.mark.parametrize("prefix", ["\ufeff", b"\xef\xbb\xbf"])
def test_utf8_bom_is_accepted(prefix: str | bytes) -> None:
    body = '{"age_years": 30}'
    text = prefix + body.encode() if isinstance(prefix, bytes) else prefix + body
    assert loads_findings(text) == {"age_years": 30}


def test_nesting_up_to_the_limit_is_accepted_and_beyond_is_refused() -> None:
    assert loads_findings("[" * 8 + "]" * 8) == json.loads("[" * 8 + "]" * 8)
    field, problem = _problem("[" * 9 + "]" * 9)
    assert field == "(document)" and "nested" in problem


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert loads_findings('{"a": "[[[[[[[[[[{{{{{{{{\\"]]"}') == {"a": '[[[[[[[[[[{{{{{{{{"]]'}


def test_hostile_depth_is_refused_quickly_without_recursion_error() -> None:
    start = time.perf_counter()
    field, _ = _problem("[" * 200_000 + "]" * 200_000)
    assert field == "(document)"
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"age_years": NaN}', "age_years"),
        ('{"age_years": 30, "pain_score": Infinity}', "pain_score"),
        ('{"age_years": -Infinity}', "age_years"),
        ('{"age_years": 1e999}', "age_years"),
        ("[1, NaN]", "(document)"),
        ("NaN", "(document)"),
    ],
)
def test_non_finite_numbers_are_refused(text: str, field: str) -> None:
    got, problem = _problem(text)
    assert got == field
    assert "finite" in problem


@pytest.mark.parametrize("text", ["{", "", "{'a': 1}", b"\xff\xfe{}", "1" * 5000])
def test_broken_input_is_a_findings_error(text: str | bytes) -> None:
    field, problem = _problem(text)
    assert field == "(document)" and problem


# ---- the CLI ---------------------------------------------------------------------------------------


def test_cli_refuses_a_duplicate_key_with_exit_2_naming_it() -> None:
    code, out, err = _cli('{"age_years":30,"saddle_numbness":true,"saddle_numbness":false}')
    assert code == 2
    assert out == ""
    assert "saddle_numbness" in err and "duplicate" in err


def test_cli_refuses_a_duplicate_key_on_one_json_line() -> None:
    stdin = '{"age_years": 30}\n{"id": "b", "findings": {"age_years": 30, "fever": true, "fever": false}}\n'
    code, out, err = _cli(stdin)
    assert code == 2 and out == ""
    assert "line 2" in err and "fever" in err


def test_cli_refuses_a_pretty_printed_document_with_a_duplicate_key() -> None:
    code, _, err = _cli('{\n  "age_years": 30,\n  "fever": true,\n  "fever": false\n}\n')
    assert code == 2
    assert "fever" in err and "duplicate" in err


@pytest.mark.parametrize("depth", [50, 1000, 100_000])
def test_cli_deeply_nested_json_is_invalid_input_not_the_safety_net(depth: int) -> None:
    code, out, err = _cli("[" * depth + "]" * depth)
    assert code == 2
    assert out == ""
    assert "nested" in err


def test_cli_non_finite_number_is_invalid_input() -> None:
    code, _, err = _cli('{"age_years": 30, "pain_score": 1e999}')
    assert code == 2
    assert "pain_score" in err


def test_cli_accepts_a_file_with_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"age_years": 30, "saddle_numbness": True}).encode())
    result = runner.invoke(app, ["triage", "-f", str(path), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["disposition"] == "emergency"


def test_cli_accepts_json_lines_with_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_text("\ufeff" + '{"age_years": 30}\n{"age_years": 30, "fever": true}\n', encoding="utf-8")
    result = runner.invoke(app, ["triage", "-f", str(path), "--format", "json"])
    assert result.exit_code == 0
    dispositions = [json.loads(line)["disposition"] for line in result.stdout.splitlines()]
    assert dispositions == ["telemedicine", "prompt"]


def test_cli_keeps_a_null_id() -> None:
    docs = [
        {"id": None, "findings": {"age_years": 30}},
        {"findings": {"age_years": 30}},
        {"id": 0, "findings": {"age_years": 30}},
    ]
    stdin = "".join(json.dumps(d) + "\n" for d in docs)
    code, out, _ = _cli(stdin)
    assert code == 0
    items = [json.loads(line) for line in out.splitlines()]
    assert "id" in items[0] and items[0]["id"] is None
    assert "id" not in items[1]
    assert items[2]["id"] == 0
