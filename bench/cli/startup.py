"""Benchmark `telespine triage` on one document against `python -c pass` (not part of pytest).

Usage: .venv/bin/python bench/cli/startup.py [--repeat 15]

Runs both commands alternately --repeat times each, and prints the median and the best wall time
of each with their ratio (aim: <= 15x). Both are fresh processes of the same interpreter; the
ratio is what starting the command line costs on top of starting Python.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CPU: dict[tuple[str, ...], list[float]] = {}


def _time(cmd: list[str]) -> float:
    """Wall time of one run; its CPU time (user + system of the child) goes to CPU[cmd]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(tuple(cmd), []).append(cpu)
    return wall


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
    # CPU time (user + system) of each process: what the command costs, less swayed by the
    # other processes that share the machine than wall time is
    cpu = {name: statistics.median(CPU[tuple(cmd)]) for name, cmd in
           (("base", base_cmd), ("json", cli_cmd), ("text", text_cmd))}
    print(f"CPU time: python -c pass {cpu['base'] * 1e3:.0f} ms, json {cpu['json'] * 1e3:.0f} ms, "
          f"text {cpu['text'] * 1e3:.0f} ms; ratio (json) {cpu['json'] / cpu['base']:.1f}x, "
          f"(text) {cpu['text'] / cpu['base']:.1f}x (medians)")


if __name__ == "__main__":
    main()
