"""Benchmark `telespine triage` on one document against `python -c pass` (not part of pytest).

Usage: .venv/bin/python bench/cli/startup.py [--repeat 15]

Runs both commands alternately --repeat times each, and prints the median and the best wall time
of each with their ratio (aim: <= 15x). Both are fresh processes of the same interpreter; the
ratio is what starting the command line costs on top of starting Python.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    """Time both commands and print the ratio with the machine's load."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "telespine")
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "one.json"
        doc.write_text('{"age_years": 40, "fever": true, "leg_weakness": "stable", "bladder": "unknown"}\n')
        cli_cmd = [exe, "triage", "--findings", str(doc), "--format", "json"]
        text_cmd = [exe, "triage", "--findings", str(doc)]
        base_cmd = [sys.executable, "-c", "pass"]
        _time(cli_cmd)
        _time(base_cmd)  # warm the file cache
        cli, text, base = [], [], []
        for _ in range(args.repeat):
            base.append(_time(base_cmd))
            cli.append(_time(cli_cmd))
            text.append(_time(text_cmd))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; runs: {args.repeat} each")
    for name, times in (("python -c pass", base), ("telespine triage --format json", cli),
                        ("telespine triage (text)", text)):
        print(f"{name}: median {statistics.median(times) * 1e3:.0f} ms, best {min(times) * 1e3:.0f} ms")
    print(f"ratio (json): median {statistics.median(cli) / statistics.median(base):.1f}x, "
          f"best {min(cli) / min(base):.1f}x (aim <= 15x)")
    print(f"ratio (text): median {statistics.median(text) / statistics.median(base):.1f}x, "
          f"best {min(text) / min(base):.1f}x")


if __name__ == "__main__":
    main()
