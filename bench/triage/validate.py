"""Benchmark findings validation against json.loads of the same documents (not part of pytest).

Usage: .venv/bin/python bench/triage/validate.py [--n 20000] [--seed 1] [--repeat 5]

Prints, per document, json.loads, then validate_findings (jsonschema-rs fast path) and the
reference path alone (Python jsonschema, what validate_findings did before), each as a ratio to
json.loads measured in the same run, best of --repeat. Aim: validate_findings <= 2x json.loads.
Also times the error path (invalid documents: the reference validator words the message).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import generate  # bench/triage/run.py: the same generated documents

from telespine.triage import FindingsError, validate_findings
from telespine.triage import findings as fm


def _best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Time the three loops and print the ratios with the machine's load."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    texts = generate(args.n, args.seed)
    docs = [json.loads(t) for t in texts]
    bad = [{**d, "fevr": True} for d in docs[: max(1, args.n // 20)]]

    def loads() -> None:
        for t in texts:
            json.loads(t)

    def fast() -> None:
        for d in docs:
            validate_findings(d)

    def reference() -> None:
        for d in docs:
            fm._validate_reference(d)

    def errors() -> None:
        for d in bad:
            with contextlib.suppress(FindingsError):
                validate_findings(d)

    validate_findings(docs[0])
    fm._validate_reference(docs[0])  # both validators built before timing
    t_loads = _best(loads, args.repeat)
    t_fast = _best(fast, args.repeat)
    t_ref = _best(reference, args.repeat)
    t_err = _best(errors, args.repeat)
    n = len(docs)
    per = t_loads / n
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; documents: {n}")
    print(f"json.loads: {per * 1e6:.2f} us/doc")
    print(f"validate_findings (jsonschema-rs, fallback on error): {t_fast / n * 1e6:.2f} us/doc; "
          f"ratio {t_fast / t_loads:.2f}x json.loads (aim <= 2x)")
    print(f"reference path (Python jsonschema, the code before): {t_ref / n * 1e6:.2f} us/doc; "
          f"ratio {t_ref / t_loads:.2f}x json.loads")
    from run import paired_ratios

    fast_r = paired_ratios(texts, docs, validate_findings)
    ref_r = paired_ratios(texts[:4000], docs[:4000], fm._validate_reference, block=500)
    print(f"paired blocks, CPU time: validate_findings median {statistics.median(fast_r):.2f}x "
          f"(range {min(fast_r):.2f}-{max(fast_r):.2f}); reference median {statistics.median(ref_r):.1f}x "
          f"(range {min(ref_r):.1f}-{max(ref_r):.1f})")
    print(f"invalid document (fast check, then the detailed message): "
          f"{t_err / len(bad) * 1e6:.2f} us/doc; ratio {t_err / len(bad) / per:.2f}x json.loads")


if __name__ == "__main__":
    main()
