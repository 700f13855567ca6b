"""A second independent validator: FHIR.js (npm fhir 4.12, FHIR 4.0 StructureDefinitions) run by node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from telespine.fhir.questionnaires import assessment_questionnaire, instrument_questionnaire, to_json
from telespine.instruments import INSTRUMENT_IDS

ROOT = Path(__file__).resolve().parents[2]
FHIRJS = ROOT / ".venv/npm/node_modules/fhir"
SCRIPT = Path(__file__).parent / "peers" / "fhirjs_validate.js"


def _validate(files: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (FHIRJS / "package.json").exists():
        pytest.fail("node and .venv/npm/node_modules/fhir are needed: run scripts/fhir_peers.sh")
    out = subprocess.run(
        [node, str(SCRIPT), str(FHIRJS), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_fhirjs_accepts_every_questionnaire_and_export(tmp_path: Path, store: Any) -> None:
    from telespine.fhir.export import all_bundles
    from telespine.store.db import make_engine, make_sessionmaker

    files = []
    for name, q in [
        ("adult", assessment_questionnaire("adult")),
        ("pediatric", assessment_questionnaire("pediatric")),
    ] + [(i, instrument_questionnaire(i)) for i in sorted(INSTRUMENT_IDS)]:
        path = tmp_path / f"q-{name}.json"
        path.write_text(to_json(q))
        files.append(path)
    engine = make_engine(store.url)
    try:
        with make_sessionmaker(engine)() as db:
            for aid, bundle in all_bundles(db):
                path = tmp_path / f"b-{aid}.json"
                path.write_text(to_json(bundle))
                files.append(path)
    finally:
        engine.dispose()
    results = _validate(files)
    assert len(results) == len(files) == 2 + len(INSTRUMENT_IDS) + 2
    assert [r for r in results if not r["valid"] or r["errors"]] == []


def test_fhirjs_catches_a_broken_bundle(tmp_path: Path) -> None:
    doc = json.loads(to_json(instrument_questionnaire("phq2")))
    doc.pop("status")
    doc["madeUp"] = 1
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    (result,) = _validate([path])
    assert result["valid"] is False
    assert any("status" in e for e in result["errors"]) and any("madeUp" in e for e in result["errors"])
