"""Baseline for the CLI benchmark: only parse and validate each line of a findings file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from telespine.triage import validate_findings


def main() -> None:
    """Parse and validate every line; print nothing but a count."""
    count = 0
    with Path(sys.argv[1]).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                validate_findings(json.loads(line))
                count += 1
    print(count)


if __name__ == "__main__":
    main()
