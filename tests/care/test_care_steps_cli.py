"""`telespine steps FILE`: daily steps from an export, or a clear error and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from telespine.cli import app

runner = CliRunner()
EXPORT = (
    '<?xml version="1.0"?><HealthData locale="en">'
    '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="iPhone" '
    'startDate="2026-05-04 23:30:00 +0000" endDate="2026-05-04 23:40:00 +0000" value="250"/></HealthData>'
)


def test_prints_days_as_json_in_the_given_zone(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(EXPORT, encoding="utf-8")
    res = runner.invoke(app, ["steps", str(path), "--json", "--timezone", "Asia/Tokyo"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["source"] == "apple_health" and doc["days"] == [{"day": "2026-05-05", "steps": 250}]
    res = runner.invoke(app, ["steps", str(path)])
    assert res.exit_code == 0 and "2026-05-04" in res.output and "250" in res.output


def test_foreign_file_or_zone_exits_2_with_the_message(tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(b"%PDF-1.7 not an export")
    res = runner.invoke(app, ["steps", str(path)])
    assert res.exit_code == 2 and "foreign" in res.output
    good = tmp_path / "export.xml"
    good.write_text(EXPORT, encoding="utf-8")
    res = runner.invoke(app, ["steps", str(good), "--timezone", "Mars/Olympus"])
    assert res.exit_code == 2 and "time zone" in res.output
