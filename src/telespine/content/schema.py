"""The JSON Schema of a guide file, exported from the pydantic model.

Regenerate after changing the model: python -m telespine.content.schema
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import Guide

SCHEMA_FILE = Path(__file__).resolve().parent / "guide.schema.json"


def guide_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a guide document."""
    schema = Guide.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as the exact text stored in guide.schema.json."""
    return json.dumps(guide_json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write guide.schema.json next to this module."""
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    main()
