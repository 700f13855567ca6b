"""The JSON Schema of the screening rule file (data/screening.yaml), exported from its model.

Regenerate after changing `ScreeningRules`: python -m telespine.care.screening.schema
A test fails when data/screening.schema.json is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from telespine.care.screening.rules import ScreeningRules

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "screening.schema.json"


def screening_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the screening rule file."""
    schema = ScreeningRules.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as the exact text stored in data/screening.schema.json."""
    return json.dumps(screening_json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write data/screening.schema.json."""
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    main()
