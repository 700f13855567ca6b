"""Train the learned review layer of screening (telespine.care.screening.learned).

    .venv/bin/python scripts/train_review_model.py     # the packaged model's files again (check)
    .venv/bin/python scripts/train_review_model.py --files dev_*.jsonl --install   # a new model

A spaCy bag-of-words text classifier (TextCatBOW, word sequences up to 3) learns `must_see` from
the labelled development texts; the audience and kind go in front as two marker words. The
threshold is chosen by 5-fold cross-validation on the training texts only: the lowest one whose
added over-flags (harmless texts the rules leave alone but the model would send to a person) stay
at or below 6% of the harmless texts. The held-out test part (test.jsonl) is never read.

Without --files it trains on the files named in data/screening.yaml (`review_model.trained_on`),
refusing any whose SHA-256 changed. The model goes to --out (default: a new temporary folder);
only --install replaces the package's care/data/review_model/ (then paste the printed block into
data/screening.yaml, or every screening fails safe on the hash). Same files, rules and seed give a
byte-identical model: with no options, the printed sha256 equals the packaged one (the weights
depend on the files and the seed only; the threshold also on what the rules already flag, so it
may move after a rule change). Retrain after a rule change, then score the new model once on a
clean held-out part.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "screening" / "data"
PACKAGE_MODEL = ROOT / "src" / "telespine" / "care" / "data" / "review_model"
LABEL = "MUST_SEE"
BUDGET = 0.06
FOLDS = 5


def build(ngram: int, length: int) -> Any:
    import spacy

    nlp = spacy.blank("en")
    config = {
        "threshold": 0.5,
        "model": {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": False,
            "ngram_size": ngram,
            "no_output_layer": False,
            "length": length,
        },
    }
    nlp.add_pipe("textcat_multilabel", config=config)
    nlp.get_pipe("textcat_multilabel").add_label(LABEL)
    return nlp


def train(rows: list[dict[str, Any]], ngram: int, epochs: int, length: int, seed: int) -> Any:
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    from telespine.care.screening.learned import model_text

    fix_random_seed(seed)
    nlp = build(ngram, length)
    examples = [
        Example.from_dict(
            nlp.make_doc(model_text(r["text"], r["audience"], r.get("kind", "message"))),
            {"cats": {LABEL: float(r["must_see"])}},
        )
        for r in rows
    ]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)  # noqa: S311 - shuffling training examples, not security
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.2)
    return nlp


def predict(nlp: Any, rows: list[dict[str, Any]]) -> list[float]:
    from telespine.care.screening.learned import model_text

    pipe = nlp.get_pipe("textcat_multilabel")
    docs = (nlp.make_doc(model_text(r["text"], r["audience"], r.get("kind", "message"))) for r in rows)
    return [d.cats[LABEL] for d in pipe.pipe(docs)]


def fold_of(row_id: str) -> int:
    return hashlib.sha256(f"learned-cv:{row_id}".encode()).digest()[0] % FOLDS


def threshold(rows: list[dict[str, Any]], rules: list[bool], probs: list[float]) -> float:
    harmless = [i for i, r in enumerate(rows) if not r["must_see"]]
    for t in sorted({round(p, 6) for p in probs}):
        added = sum(1 for i in harmless if not rules[i] and probs[i] >= t)
        if added / len(harmless) <= BUDGET:
            return t
    raise SystemExit("no threshold meets the budget")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", nargs="*", help="development files (default: the packaged model's)")
    parser.add_argument("--out", type=Path, help="where to write the model (default: a temporary folder)")
    parser.add_argument("--install", action="store_true", help="write it into care/data/review_model")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--ngram", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--length", type=int, default=2**18)
    args = parser.parse_args()
    from telespine.care.screening.rules import load_screening_rules

    spec = load_screening_rules().review_model
    recorded = {f.file: f.sha256 for f in spec.trained_on} if spec is not None else {}
    names = [Path(n).name for n in args.files] if args.files else sorted(recorded)
    if not names:
        raise SystemExit("no files: name them with --files")
    if any(not n.startswith("dev_") for n in names):
        raise SystemExit("train on development files (dev_*.jsonl) only, never the held-out test part")

    import spacy

    from telespine.care.screening import screen_message
    from telespine.care.screening.learned import files_sha256
    from telespine.care.screening.matching import get_pipeline

    rows: list[dict[str, Any]] = []
    trained_on = []
    for name in names:
        raw = (DATA / name).read_bytes()
        if not args.files and hashlib.sha256(raw).hexdigest() != recorded[name]:
            raise SystemExit(f"{name} changed since the packaged model was trained: use --files")
        part = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
        rows += part
        trained_on.append({"file": name, "sha256": hashlib.sha256(raw).hexdigest(), "rows": len(part)})
    rules_only = dataclasses.replace(get_pipeline(), review=None)
    rules = [
        screen_message(r["text"], r["audience"], rules_only, r.get("kind", "message")).needs_review
        for r in rows
    ]
    out_of_fold = [0.0] * len(rows)
    for k in range(FOLDS):
        fold = [i for i, r in enumerate(rows) if fold_of(r["id"]) == k]
        rest = [r for r in rows if fold_of(r["id"]) != k]
        model = train(rest, args.ngram, args.epochs, args.length, args.seed + k)
        for i, p in zip(fold, predict(model, [rows[i] for i in fold]), strict=True):
            out_of_fold[i] = p
        print(f"fold {k + 1}/{FOLDS} done", file=sys.stderr)
    chosen = threshold(rows, rules, out_of_fold)
    model = train(rows, args.ngram, args.epochs, args.length, args.seed)
    if args.install:
        out = PACKAGE_MODEL
    elif args.out is not None:
        out = args.out
    else:
        out = Path(tempfile.mkdtemp(prefix="telespine-review-model-")) / "review_model"
    if out.exists():
        shutil.rmtree(out)
    model.to_disk(out)
    print(f"model written to {out}", file=sys.stderr)
    block = {
        "sha256": files_sha256(out),
        "threshold": chosen,
        "trained_on": trained_on,
        "seed": args.seed,
        "ngram_size": args.ngram,
        "epochs": args.epochs,
        "length": args.length,
        "spacy_version": spacy.__version__,
    }
    print(json.dumps(block, indent=2))


if __name__ == "__main__":
    main()
