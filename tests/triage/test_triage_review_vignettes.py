"""Independent policy v2 review: every vignette in data/review_v2_vignettes.jsonl, written from
POLICY.md alone, gets its expected disposition, and every "unknown" answer is listed as unresolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from telespine.triage import triage

DATA = Path(__file__).parent / "data" / "review_v2_vignettes.jsonl"
LEVELS = ("emergency", "urgent", "prompt", "routine", "telemedicine")


def _cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]


CASES = _cases()


def test_file_is_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 220
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert set(case) == {"id", "narrative", "findings", "expected", "tests"}, case["id"]
        assert case["expected"] in LEVELS, case["id"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_review_vignette(case: dict[str, Any]) -> None:
    result = triage(case["findings"])
    fired = [rule.id for rule in result.rules]
    assert not result.safety_net, (case["id"], result.error)
    assert result.disposition == case["expected"], (case["id"], case["tests"], fired, result.unresolved)
    unknown = sorted(key for key, value in case["findings"].items() if value == "unknown")
    assert sorted(result.unresolved) == unknown, (case["id"], result.unresolved)
