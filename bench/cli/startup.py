"""Benchmark `telespine triage` on one document against `python -c pass` (not part of pytest).

Usage: .venv/bin/python bench/cli/startup.py [--repeat 15] [--trees before=/tmp/old/src,after=src]

Runs both commands alternately --repeat times each, and prints the median and the best wall time
of each with their ratio (aim: <= 15x). Both are fresh processes of the same interpreter; the
ratio is what starting the command line costs on top of starting Python. With --trees, the
command runs once per tree in every round (PYTHONPATH=<tree>, in front of the installed
package), so trees measured in the same run share the machine's load.
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


def _time(cmd: list[str], tree: str | None = None) -> float:
    """Wall time of one run; its CPU time (user + system of the child) goes to CPU[(tree, *cmd)]."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault((tree or "", *cmd), []).append(cpu)
    return wall


def _trees(spec: str | None) -> dict[str, str | None]:
    """label -> src folder from "a=path,b=path"; the installed package alone when spec is None."""
    if spec is None:
        return {"": None}
    out: dict[str, str | None] = {}
    for item in spec.split(","):
        label, _, src = item.partition("=")
        out[label] = src
    return out


def main() -> None:
    """Time both commands and print the ratio with the machine's load."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--trees", default=None, help="label=src folder, comma separated")
    args = parser.parse_args()
    trees = _trees(args.trees)
    exe = str(Path(sys.executable).parent / "telespine")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "one.json"
        doc.write_text('{"age_years": 40, "fever": true, "leg_weakness": "stable", "bladder": "unknown"}\n')
        cli_cmd = [exe, "triage", "--findings", str(doc), "--format", "json"]
        text_cmd = [exe, "triage", "--findings", str(doc)]
        base_cmd = [sys.executable, "-c", "pass"]
        for tree in trees.values():
            _time(cli_cmd, tree)
        _time(base_cmd)  # warm the file cache
        base: list[float] = []
        cli: dict[str, list[float]] = {label: [] for label in trees}
        text: dict[str, list[float]] = {label: [] for label in trees}
        for _ in range(args.repeat):
            base.append(_time(base_cmd))
            for label, tree in trees.items():
                cli[label].append(_time(cli_cmd, tree))
                text[label].append(_time(text_cmd, tree))
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in load_before)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; runs: {args.repeat} each"
    )
    print(f"python -c pass: median {statistics.median(base) * 1e3:.0f} ms, best {min(base) * 1e3:.0f} ms")
    cpu_base = statistics.median(CPU[("", *base_cmd)])
    for label, tree in trees.items():
        name = f"[{label}] " if label else ""
        for kind, times in (("json", cli[label]), ("text", text[label])):
            print(
                f"{name}telespine triage ({kind}): median {statistics.median(times) * 1e3:.0f} ms, "
                f"best {min(times) * 1e3:.0f} ms"
            )
        print(
            f"{name}ratio (json): median {statistics.median(cli[label]) / statistics.median(base):.1f}x, "
            f"best {min(cli[label]) / min(base):.1f}x (aim <= 15x)"
        )
        print(
            f"{name}ratio (text): median {statistics.median(text[label]) / statistics.median(base):.1f}x, "
            f"best {min(text[label]) / min(base):.1f}x"
        )
        # CPU time (user + system) of each process: what the command costs, less swayed by the
        # other processes that share the machine than wall time is
        cpu_json = statistics.median(CPU[(tree or "", *cli_cmd)])
        cpu_text = statistics.median(CPU[(tree or "", *text_cmd)])
        print(
            f"{name}CPU time: python -c pass {cpu_base * 1e3:.0f} ms, json {cpu_json * 1e3:.0f} ms, "
            f"text {cpu_text * 1e3:.0f} ms; ratio (json) {cpu_json / cpu_base:.1f}x, "
            f"(text) {cpu_text / cpu_base:.1f}x (medians)"
        )


if __name__ == "__main__":
    main()
