"""`telespine triage` imports only what it needs (issue 16: the CLI started in 76x `python -c pass`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = """
import gc, json, sys
sys.argv = ["telespine", *sys.argv[1:]]
from telespine.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
report = {"code": code, "modules": sorted(sys.modules), "gc": gc.isenabled(), "frozen": gc.get_freeze_count()}
sys.stderr.write(json.dumps(report))
"""

NEVER = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "telespine.store",
    "telespine.web",
    "telespine.settings",
    "telespine.program",
    "telespine.care",
    "weasyprint",
    "spacy",
    "medspacy",
    "telespine.content",
    "jinja2",
    "rich",
    "typer",
    "click",
)  # JSON output: no guide renderers, no Rich, no typer (cli.main's fast path)


def _probe(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    report: dict[str, Any] = json.loads(proc.stderr[proc.stderr.rindex('{"code"') :])
    return report, proc.stdout


def _run(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    report, out = _probe(tmp_path, *args)
    return report["code"], set(report["modules"]), out


def _loaded(modules: set[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


def test_triage_of_one_document_loads_no_database_web_or_program_code(tmp_path: Path) -> None:
    doc = tmp_path / "one.json"
    doc.write_text('{"age_years": 40, "fever": true}')
    code, modules, out = _run(tmp_path, "triage", "-f", str(doc), "--format", "json")
    assert code in (0, None)
    assert json.loads(out)["disposition"] == "prompt"
    assert [p for p in NEVER if _loaded(modules, p)] == []
    assert "jsonschema" not in modules  # a valid document never needs the detailed validator
    assert not _loaded(modules, "telespine.triage.questionnaire")


def test_the_fast_path_turns_the_garbage_collector_back_on_after_its_imports(tmp_path: Path) -> None:
    # the imports run with gc off (start-up time); the rule set and the documents with it on,
    # the imported objects frozen out of its generations
    doc = tmp_path / "one.json"
    doc.write_text('{"age_years": 40, "fever": true}')
    for fmt in ("json", "text"):
        report, out = _probe(tmp_path, "triage", "-f", str(doc), "--format", fmt)
        assert report["code"] in (0, None)
        assert out
        assert report["gc"] is True
        assert report["frozen"] > 10_000


def test_an_invalid_document_still_gets_the_detailed_message(tmp_path: Path) -> None:
    doc = tmp_path / "bad.json"
    doc.write_text('{"age_years": 40, "fevr": true}')
    proc = subprocess.run(
        [sys.executable, "-m", "telespine.cli", "triage", "-f", str(doc)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "fevr: unknown finding (not in the findings schema)" in proc.stderr


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    code, _, out = _run(tmp_path, "--help")
    assert code in (0, None)
    for name in ("guide", "triage", "assess", "plan", "serve", "db", "demo", "worker"):
        assert f" {name} " in out


def test_the_fast_path_reads_only_plain_command_lines() -> None:
    from telespine.commands.triage import OutputFormat, fast_arguments

    json_ = OutputFormat.json
    assert fast_arguments(["--findings", "a.json", "--format", "json"]) == ("a.json", json_)
    assert fast_arguments(["--format=json", "-f", "-"]) == ("-", json_)
    assert fast_arguments(["--findings=a.json"]) == ("a.json", OutputFormat.text)
    for typer_decides in (
        [],
        ["--help"],
        ["-f", "a.json", "--help"],
        ["-f", "a.json", "-f", "b.json"],
        ["-f", "--format", "json"],
        ["-f"],
        ["-f=a.json"],
        ["-f", "a.json", "--format", "yaml"],
        ["a.json"],
        ["--findings", "a.json", "--verbose"],
    ):
        assert fast_arguments(typer_decides) is None, typer_decides


def test_the_fast_path_answers_as_the_typer_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from telespine.cli import app

    good = tmp_path / "good.json"
    good.write_text('{"age_years": 8, "fever": "unknown", "night_pain": true}')
    lines = tmp_path / "lines.jsonl"
    lines.write_text('{"id": 1, "findings": {"age_years": 70}}\n{"age_years": 40, "saddle_numbness": true}\n')
    bad = tmp_path / "bad.json"
    bad.write_text('{"age_years": 40, "fevr": true}')
    missing = tmp_path / "missing.json"
    runner = CliRunner()
    for path in (good, lines, bad, missing):
        for fmt in ("json", "text"):
            args = ["triage", "--findings", str(path), "--format", fmt]
            proc = subprocess.run(
                [sys.executable, "-m", "telespine.cli", *args], capture_output=True, text=True, timeout=120
            )
            typed = runner.invoke(app, args)
            assert (proc.returncode, proc.stdout) == (typed.exit_code, typed.stdout), (path.name, fmt)
            assert proc.stderr.strip() == typed.stderr.strip(), (path.name, fmt)
