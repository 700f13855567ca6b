"""Benchmark red-flag screening (telespine.care.screening) on labelled messages (not part of pytest).

Usage:
    .venv/bin/python bench/screening/run.py                  # the development part (dev_*.jsonl)
    .venv/bin/python bench/screening/run.py --show-misses    # dev only: list each miss and over-flag
    .venv/bin/python bench/screening/run.py --part test      # the held-out part: figures only
    .venv/bin/python bench/screening/run.py --part holdout   # the 20% dev hold-out: figures only
    .venv/bin/python bench/screening/run.py --part dev-all   # every dev row, hold-out included
    .venv/bin/python bench/screening/run.py --part holdout-f # the 30% dev_f check part: figures only
    .venv/bin/python bench/screening/run.py --show-misses --file dev_f.jsonl  # one file's rows of the part
    .venv/bin/python bench/screening/run.py --part test --rules-only  # the phrase rules alone
    .venv/bin/python bench/screening/run.py --part test-next # the second held-out part (test_next.jsonl)
    .venv/bin/python bench/screening/run.py --part next-a    # the next round's held-out parts (next_a.jsonl,
    .venv/bin/python bench/screening/run.py --part next-b    #   next_b.jsonl): once, at that round's end

The dev hold-out (rules 2.2.0 on): a fixed 20% of the rows of dev_a to dev_d, chosen by a hash
of each row's id with a fixed seed (`in_holdout`), is left out of `--part dev` and scored only
with `--part holdout`, at the end of a round of tuning. dev_e (written after the split) is
never held out.

The dev_f check part (from rules 2.3.0): dev_f was a fifth writer's held-out part, scored once
with rules 2.2.1; before anyone tuned on it, a fixed 30% of its rows (`in_holdout_f`: a hash of
another fixed seed and the id) was set apart as a check. `--part dev` keeps only the other 70%
of dev_f (the tuning share); `--part holdout-f` scores the 30% only, with aggregate figures.

Each line of a data file: {"id", "text", "audience", "kind": "message"|"diary", "voice",
"must_see", "level", "findings", "note"}. The figures:

- sensitivity: must_see texts with needs_review=True;
- emergency misses: level "emergency" texts with needs_review=False (target 0);
- emergency read below the net: level "emergency" texts reviewed at normal priority only
  (needs_review without safety_net; a person reads them, the emergency signs are not shown);
- over-flags: harmless texts (must_see false) with needs_review=True (target <= 15%);
- diary-note emergency nets: everyday diary notes (kind "diary", must_see false) whose screening
  raises the emergency safety net (Screening.safety_net; target 0);
- latency of 4,000-character messages built from the part's own texts (p50, p99; target p99
  <= 50 ms), with the ratio to plain spaCy tokenisation (spacy.blank("en")) of the same
  messages measured in the same run, and the CPU time of the screening thread (p50, p99),
  which a loaded, shared machine inflates much less than wall time.

The test part is scored once, at the end: this script prints only aggregate figures for it,
never a line, an id or a text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telespine.triage.types import Audience

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MESSAGE_CHARS = 4000
HOLDOUT_SEED = "telespine-screening-holdout-2026-12-02"
HOLDOUT_FILES = ("dev_a.jsonl", "dev_b.jsonl", "dev_c.jsonl", "dev_d.jsonl")  # split before dev_e
HOLDOUT_F_SEED = "telespine-screening-dev-f-check-2026-12-02"
HOLDOUT_F_FILE = "dev_f.jsonl"  # split 70/30 before tuning on it (rules 2.3.0)


def in_holdout(row_id: str) -> bool:
    """True for the fixed 20% of dev_a..dev_d rows held out of tuning (hash of seed and id)."""
    digest = hashlib.sha256(f"{HOLDOUT_SEED}:{row_id}".encode()).digest()
    return digest[0] % 5 == 0


def in_holdout_f(row_id: str) -> bool:
    """True for the fixed 30% of dev_f rows kept as a check, never tuned on (hash of seed and id)."""
    digest = hashlib.sha256(f"{HOLDOUT_F_SEED}:{row_id}".encode()).digest()
    return digest[0] % 10 < 3


def load(part: str, only: str | None = None) -> list[dict[str, Any]]:
    """The labelled rows of a part: dev (dev_*.jsonl less both hold-outs), holdout, holdout-f,
    dev-all, test; with only, the rows of that one file."""
    held_out = {
        "test": "test.jsonl",
        "test-next": "test_next.jsonl",
        "next-a": "next_a.jsonl",  # the round after rules 2.6.0: never scored in that round
        "next-b": "next_b.jsonl",
    }
    files = [DATA / held_out[part]] if part in held_out else sorted(DATA.glob("dev_*.jsonl"))
    if only is not None:
        files = [f for f in files if f.name == only]
    rows: list[dict[str, Any]] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row = json.loads(line)
                held = path.name in HOLDOUT_FILES and in_holdout(row["id"])
                held_f = path.name == HOLDOUT_F_FILE and in_holdout_f(row["id"])
                if part == "dev" and (held or held_f):
                    continue
                if (part == "holdout" and not held) or (part == "holdout-f" and not held_f):
                    continue
                rows.append(row)
    if not rows:
        raise SystemExit(f"no data for part {part!r} in {DATA}")
    return rows


_AUDIENCES: tuple[Audience, ...] = ("adult", "pediatric")


def long_messages(rows: list[dict[str, Any]], n: int, seed: int) -> list[tuple[str, Audience]]:
    """n messages of 4,000 characters, each made of the part's texts joined in a random order."""
    rng = random.Random(seed)
    texts = [r["text"] for r in rows if r["text"].strip()]
    out: list[tuple[str, Audience]] = []
    for _ in range(n):
        parts: list[str] = []
        size = 0
        while size < MESSAGE_CHARS:
            text = rng.choice(texts)
            parts.append(text)
            size += len(text) + 1
        message = " ".join(parts)[:MESSAGE_CHARS]
        out.append((message, rng.choice(_AUDIENCES)))
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else f"{part}/0"


def score(rows: list[dict[str, Any]], show: bool, rules_only: bool = False) -> dict[str, Any]:
    """Screen every row and count; with show, print each miss and over-flag (dev only); with
    rules_only, the learned review layer is off (the phrase rules alone)."""
    import dataclasses

    from telespine.care.screening import get_pipeline, screen_message

    pipeline = dataclasses.replace(get_pipeline(), review=None) if rules_only else None

    must = caught = emergency = emergency_missed = emergency_low = 0
    harmless = over = diary_everyday = diary_nets = errors = unread = 0
    for row in rows:
        result = screen_message(row["text"], row["audience"], pipeline, kind=row.get("kind", "message"))
        review = result.needs_review
        net = result.safety_net
        errors += result.status == "error"
        unread += result.status == "unrecognised_language"
        tag = ""
        if row["must_see"]:
            must += 1
            caught += review
            if not review:
                tag = "MISS"
            if row["level"] == "emergency":
                emergency += 1
                emergency_missed += not review
                if review and not net:
                    emergency_low += 1
                    tag = tag or "LOW"
        else:
            harmless += 1
            over += review
            if review:
                tag = "OVER"
            if row["kind"] == "diary":
                diary_everyday += 1
                diary_nets += net
                if net:
                    tag = "NET"
        if show and tag:
            said = [m.concept for m in [*result.flags, *result.review]]
            print(f"{tag:4} {row['id']} [{row['level']}] {row['text']!r} -> {said} {result.status}")
            if row.get("findings"):
                print(f"     wanted {row['findings']}")
    return {
        "rows": len(rows),
        "sensitivity": _pct(caught, must),
        "emergency_missed": _pct(emergency_missed, emergency),
        "emergency_reviewed_below_net": _pct(emergency_low, emergency),
        "over_flags": _pct(over, harmless),
        "diary_emergency_nets": _pct(diary_nets, diary_everyday),
        "status_error": errors,
        "status_unrecognised_language": unread,
    }


def latency(rows: list[dict[str, Any]], n: int, seed: int) -> dict[str, Any]:
    """p50 and p99 of screen_message on 4,000-character messages, and plain spaCy tokenisation."""
    import spacy

    from telespine.care.screening import get_pipeline, screen_message

    get_pipeline()
    messages = long_messages(rows, n, seed)
    for text, audience in messages[:5]:
        screen_message(text, audience)  # warm up
    times: list[float] = []
    cpu: list[float] = []  # CPU time of this thread: what a loaded, shared machine does not inflate
    for text, audience in messages:
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = screen_message(text, audience)
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        if result.status == "error":
            raise SystemExit(f"screening failed on a long message: {result.error}")
    blank = spacy.blank("en")
    base: list[float] = []
    for text, _ in messages:
        start = time.perf_counter()
        blank(text)
        base.append(time.perf_counter() - start)
    p50, p99 = statistics.median(times), _percentile(times, 0.99)
    b50 = statistics.median(base)
    return {
        "messages": n,
        "chars": MESSAGE_CHARS,
        "p50_ms": round(1000 * p50, 1),
        "p99_ms": round(1000 * p99, 1),
        "max_ms": round(1000 * max(times), 1),
        "cpu_p50_ms": round(1000 * statistics.median(cpu), 1),
        "cpu_p99_ms": round(1000 * _percentile(cpu, 0.99), 1),
        "baseline_spacy_tokenise_p50_ms": round(1000 * b50, 2),
        "ratio_p50_to_baseline": round(p50 / b50, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part",
        choices=["dev", "holdout", "holdout-f", "dev-all", "test", "test-next", "next-a", "next-b"],
        default="dev",
    )
    parser.add_argument("--file", help="only the rows of this data file (e.g. dev_f.jsonl)")
    parser.add_argument("--show-misses", action="store_true", help="dev only: print each miss")
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument(
        "--rules-only", action="store_true", help="the phrase rules alone (learned review layer off)"
    )
    args = parser.parse_args()
    if args.part in ("test", "test-next", "next-a", "next-b", "holdout", "holdout-f") and args.show_misses:
        raise SystemExit(f"the {args.part} part prints aggregate figures only")
    from telespine.care.screening import load_screening_rules

    if args.part in ("test", "test-next", "next-a", "next-b") and args.file is not None:
        raise SystemExit("the test part is scored whole")
    rows = load(args.part, args.file)
    report: dict[str, Any] = {"part": args.part, "rules_version": load_screening_rules().version}
    if args.part in ("holdout", "holdout-f"):
        # the review model (rules 2.4.0) was trained on these rows: they check the rules, not it
        report["note"] = "the review model was trained on this part: not a clean check of rules + model"
    if args.file is not None:
        report["file"] = args.file
    if args.rules_only:
        report["screening"] = "rules only (learned review layer off)"
    report.update(
        score(rows, show=args.show_misses and args.part in ("dev", "dev-all"), rules_only=args.rules_only)
    )
    if not args.no_latency:
        report["latency"] = latency(rows, args.latency_n, args.seed)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
