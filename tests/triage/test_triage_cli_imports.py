"""`telespine triage` imports only what it needs (issue 16: the CLI started in 76x `python -c pass`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
sys.argv = ["telespine", *sys.argv[1:]]
from telespine.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
sys.stderr.write(json.dumps({"code": code, "modules": sorted(sys.modules)}))
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
)  # JSON output: no guide renderers, no Rich


def _run(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    report = json.loads(proc.stderr[proc.stderr.rindex('{"code"') :])
    return report["code"], set(report["modules"]), proc.stdout


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
