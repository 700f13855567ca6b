#!/usr/bin/env python3
"""Run every case of a vignettes.jsonl through `telespine triage` and report agreement.

Usage: scripts/check_vignettes.py PATH [--telespine EXE]

One subprocess (`telespine triage --findings - --format json`) gets all cases as JSON lines.
Prints exact agreement, under-triage (must be 0), emergency sensitivity (must be 100%) and
over-triage of telemedicine cases; exits 1 on any disagreement or failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

LEVELS = {"emergency": 1, "urgent": 2, "prompt": 3, "routine": 4, "telemedicine": 5}


def _default_exe() -> str:
    beside = Path(sys.executable).parent / "telespine"
    if beside.exists():
        return str(beside)
    found = shutil.which("telespine")
    if found is None:
        raise SystemExit("telespine executable not found; pass --telespine")
    return found


def main(argv: list[str] | None = None) -> int:
    """Check the vignettes; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", type=Path)
    parser.add_argument("--telespine", default=None, help="the telespine executable")
    args = parser.parse_args(argv)
    cases = [json.loads(line) for line in args.path.read_text("utf-8").splitlines() if line.strip()]
    if not cases:
        print(f"{args.path}: no cases", file=sys.stderr)
        return 1
    payload = "".join(json.dumps({"id": c["id"], "findings": c["findings"]}) + "\n" for c in cases)
    proc = subprocess.run(
        [args.telespine or _default_exe(), "triage", "--findings", "-", "--format", "json"],
        input=payload, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        print(f"telespine triage exited {proc.returncode}:\n{proc.stderr}", file=sys.stderr)
        return 1
    got = {}
    for line in proc.stdout.splitlines():
        if line.strip():
            item = json.loads(line)
            got[item["id"]] = item["disposition"]
    agree = under = 0
    emergencies = emergencies_found = 0
    tele = tele_over = 0
    for case in cases:
        expected, actual = case["expected"], got.get(case["id"])
        if actual is None:
            print(f"{case['id']}: no result", file=sys.stderr)
            under += 1
            continue
        if actual == expected:
            agree += 1
        else:
            print(f"DISAGREE {case['id']}: expected {expected}, got {actual} -- {case.get('narrative', '')}")
        if LEVELS[actual] > LEVELS[expected]:
            under += 1
        if expected == "emergency":
            emergencies += 1
            emergencies_found += actual == "emergency"
        if expected == "telemedicine":
            tele += 1
            tele_over += actual != "telemedicine"
    n = len(cases)
    sensitivity = 100.0 * emergencies_found / emergencies if emergencies else 100.0
    print(f"cases: {n}")
    print(f"exact agreement: {agree}/{n} ({100.0 * agree / n:.1f}%)")
    print(f"under-triage: {under} (must be 0)")
    print(f"emergency sensitivity: {emergencies_found}/{emergencies} ({sensitivity:.1f}%, must be 100%)")
    print(f"over-triage of telemedicine cases: {tele_over}/{tele}"
          + (f" ({100.0 * tele_over / tele:.1f}%)" if tele else ""))
    return 0 if agree == n and under == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
