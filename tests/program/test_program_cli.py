"""`telespine plan` from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

import telespine.commands.plan as plan_command
from telespine.cli import app

runner = CliRunner()
ADULT = {"age_years": 45, "location": "low_back", "onset": "gradual", "duration_days": 10, "pain_score": 4}


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_plan_pdf(tmp_path: Path) -> None:
    findings = write(tmp_path, "f.json", ADULT)
    answers = write(tmp_path, "a.json", {"choices": {"goal": "Lift my toddler"}})
    out = tmp_path / "plan.pdf"
    res = runner.invoke(
        app, ["plan", "--findings", str(findings), "--answers", str(answers), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "telemedicine" in res.output
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages).split())
    assert "Lift my toddler" in text
    # No medicine answers given: every answer is unknown, so no NSAID dose.
    assert "1,200 mg" not in text and "Not sure about kidney disease" in text


def test_plan_html_and_yaml_answers(tmp_path: Path) -> None:
    findings = write(tmp_path, "f.json", {"age_years": 9, "location": "low_back"})
    answers = tmp_path / "a.yaml"
    answers.write_text("choices:\n  favourite_activities: [football]\n", encoding="utf-8")
    out = tmp_path / "plan.html"
    res = runner.invoke(
        app, ["plan", "--findings", str(findings), "--answers", str(answers), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "Your child&#39;s back pain plan" in html
    assert "football" in html


def test_invalid_findings_give_an_error_and_no_plan(tmp_path: Path) -> None:
    findings = write(tmp_path, "f.json", {"age_years": 40, "saddle_numbness": "maybe"})
    out = tmp_path / "plan.pdf"
    res = runner.invoke(app, ["plan", "--findings", str(findings), "--out", str(out)])
    assert res.exit_code == 2 and "saddle_numbness" in res.output
    assert not out.exists()


def test_invalid_answers_give_an_error(tmp_path: Path) -> None:
    findings = write(tmp_path, "f.json", ADULT)
    answers = write(tmp_path, "a.json", {"medicines": {"kidney": "no"}})
    res = runner.invoke(
        app,
        ["plan", "--findings", str(findings), "--answers", str(answers), "--out", str(tmp_path / "p.html")],
    )
    assert res.exit_code == 2 and "kidney" in res.output


def test_disabled_instrument(tmp_path: Path) -> None:
    findings = write(tmp_path, "f.json", ADULT)
    answers = write(tmp_path, "a.json", {"questionnaires": [{"instrument": "startback", "responses": {}}]})
    res = runner.invoke(
        app,
        [
            "plan",
            "--findings",
            str(findings),
            "--answers",
            str(answers),
            "--out",
            str(tmp_path / "p.html"),
            "--disable-instrument",
            "startback",
        ],
    )
    assert res.exit_code == 2 and "switched off" in res.output
    res = runner.invoke(
        app,
        [
            "plan",
            "--findings",
            str(findings),
            "--out",
            str(tmp_path / "p.html"),
            "--disable-instrument",
            "nope",
        ],
    )
    assert res.exit_code == 2


def test_a_crash_while_building_gives_the_emergency_safety_net(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(plan_command, "build_plan", broken)
    findings = write(tmp_path, "f.json", ADULT)
    out = tmp_path / "p.html"
    res = runner.invoke(app, ["plan", "--findings", str(findings), "--out", str(out)])
    assert res.exit_code == 1
    html = out.read_text(encoding="utf-8")
    assert "Go to an emergency department now" in html and "self-care plan" not in html.lower()
