"""Benchmark the triage engine and `telespine triage` (not part of pytest).

Usage: .venv/bin/python bench/triage/run.py [--n 100000] [--seed 1] [--skip-cli]

1. Engine: evaluate N generated valid findings documents in one process; report the cost per
   document as a ratio to json.loads of the same documents, measured in the same run.
2. CLI: the whole `telespine triage --findings FILE --format json` on an N-line file, against
   bench/triage/baseline.py, which only parses and validates the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from telespine.triage import evaluate, load_ruleset
from telespine.triage.findings import finding_specs

HERE = Path(__file__).resolve().parent
NUMBERS = {"age_years": (0, 100), "pain_score": (0, 10), "duration_days": (0, 400),
           "weeks_on_treatment_without_improvement": (0, 30)}


def generate(n: int, seed: int) -> list[str]:
    """N valid findings documents as JSON text: a handful of findings each, like real assessments."""
    rng = random.Random(seed)
    specs = [s for s in finding_specs().values() if s.name != "age_years"]
    docs = []
    for _ in range(n):
        doc: dict[str, Any] = {"age_years": rng.randint(*NUMBERS["age_years"])}
        for spec in rng.sample(specs, rng.randint(3, 12)):
            if spec.kind == "flag":
                doc[spec.name] = rng.choice([True, False, False, "unknown"])
            elif spec.kind in {"course", "enum"}:
                doc[spec.name] = rng.choice(spec.values)
            else:
                doc[spec.name] = rng.randint(*NUMBERS[spec.name])
        docs.append(json.dumps(doc))
    return docs


def _best(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_engine(texts: list[str]) -> dict[str, float]:
    """Engine cost per document against json.loads of the same documents."""
    rs = load_ruleset()
    docs = [json.loads(t) for t in texts]

    # Both loops discard their results the same way, so neither pays for keeping 100,000 objects.
    def run_loads() -> None:
        for t in texts:
            json.loads(t)

    def run_engine() -> None:
        for d in docs:
            evaluate(d, rs)

    loads = _best(run_loads)
    engine = _best(run_engine)
    n = len(texts)
    ratios = paired_ratios(texts, docs, lambda d: evaluate(d, rs))
    return {"json_loads_us": loads / n * 1e6, "engine_us": engine / n * 1e6, "ratio": engine / loads,
            "median": statistics.median(ratios), "low": min(ratios), "high": max(ratios)}


def paired_ratios(texts: list[str], docs: list[Any], fn: Any, block: int = 1000) -> list[float]:
    """Ratios of fn to json.loads over the same block of documents, timed back to back.

    On a shared, busy machine the load changes within a run; pairing each block of fn with
    json.loads of the same block, run right before it, keeps both under the same load, and
    process CPU time (not wall time) leaves out the time other processes hold the CPU.
    """
    out = []
    for start in range(0, len(texts) - block + 1, block):
        part, objs = texts[start : start + block], docs[start : start + block]
        t0 = time.process_time()
        for t in part:
            json.loads(t)
        t1 = time.process_time()
        for d in objs:
            fn(d)
        t2 = time.process_time()
        out.append((t2 - t1) / (t1 - t0))
    return out


def bench_cli(texts: list[str]) -> dict[str, float]:
    """Whole `telespine triage` run against a parse-and-validate-only baseline on the same file."""
    exe = Path(sys.executable).parent / "telespine"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "findings.jsonl"
        path.write_text("".join(t + "\n" for t in texts))

        def run(cmd: list[str]) -> float:
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - start

        cli = min(run([str(exe), "triage", "--findings", str(path), "--format", "json"]) for _ in range(2))
        base = min(run([sys.executable, str(HERE / "baseline.py"), str(path)]) for _ in range(2))
    return {"cli_s": cli, "baseline_s": base, "ratio": cli / base}


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    texts = generate(args.n, args.seed)
    e = bench_engine(texts)
    print(f"documents: {args.n}")
    print(f"json.loads: {e['json_loads_us']:.2f} us/doc; engine (evaluate): {e['engine_us']:.2f} us/doc; "
          f"ratio {e['ratio']:.2f}x (aim <= 2x)")
    print(f"paired blocks of 1,000, CPU time: median {e['median']:.2f}x, "
          f"range {e['low']:.2f}-{e['high']:.2f}x")
    if not args.skip_cli:
        c = bench_cli(texts)
        print(f"telespine triage --format json: {c['cli_s']:.2f} s; parse+validate baseline: "
              f"{c['baseline_s']:.2f} s; ratio {c['ratio']:.2f}x")


if __name__ == "__main__":
    main()
