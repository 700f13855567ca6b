"""Plan PDFs: memory over many PDFs, in process against the recycled helper (not part of pytest).

Usage: .venv/bin/python bench/pdf/memory.py [--n 200] [--mode inprocess,helper]

Builds one written plan (calm adult findings) and makes --n PDFs of it, first in this process
(what a web worker did), then through program/pdf_pool.py's helper process (what the served
app does). Prints this process's resident memory (VmRSS) after the first PDF and at the end,
the growth per PDF after the first, the helper's memory, and the time of a PDF against the
plan's HTML in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path


def rss_mb(pid: int | None = None) -> float:
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from telespine.program import PlanAnswers, build_plan, pdf_pool, render_html, render_pdf
    from telespine.triage import triage

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--mode", default="inprocess,helper")
    args = parser.parse_args()
    findings = {
        "age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 4
    }
    plan = build_plan(findings, triage(findings), PlanAnswers(), dt.datetime.now(dt.UTC))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.n} PDFs per mode")
    t = time.perf_counter()
    for _ in range(20):
        render_html(plan)
    html_s = (time.perf_counter() - t) / 20
    for mode in args.mode.split(","):
        pdf_pool.use_helper_process(mode == "helper")
        render_pdf(plan)
        first = rss_mb()
        t = time.perf_counter()
        for _ in range(args.n - 1):
            render_pdf(plan)
        per_pdf = (time.perf_counter() - t) / max(1, args.n - 1)
        last = rss_mb()
        helper = ""
        pool = pdf_pool._pool
        if pool is not None:
            pids = list(getattr(pool, "_processes", {}) or {})
            helper = "; helper " + ", ".join(f"{rss_mb(p):.0f} MB" for p in pids)
        print(
            f"{mode}: this process {first:.0f} MB after the first PDF, {last:.0f} MB after {args.n} "
            f"({(last - first) / max(1, args.n - 1) * 1e3:.0f} kB per PDF){helper}; "
            f"a PDF {per_pdf * 1e3:.0f} ms = {per_pdf / html_s:.0f}x its HTML ({html_s * 1e3:.1f} ms)"
        )
    pdf_pool.use_helper_process(False)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
