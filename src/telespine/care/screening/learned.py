"""The learned review layer (rules 2.4.0 on): a small bag-of-words text classifier that can only
send a message to a person at normal priority, never lower or replace what the rules found.

The phrase rules miss wordings nobody has written down yet; on two independent writers' held-out
parts (docs/care.md, "Rules 2.4.0") a spaCy TextCatBOW model trained on the development texts
caught most of what the rules missed. Its settings are part of the rule file (`review_model` in
data/screening.yaml: version, threshold, the training files and their SHA-256, the SHA-256 of
the model files); the model itself is `data/review_model/` (spaCy's own format, 1.2 MB), made
by `scripts/train_review_model.py`. A model whose files do not match the recorded hash is never
used: loading fails, and screening then fails safe (status "error", the emergency net).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal

from telespine.care.screening.rules import ReviewModelSpec

TextKind = Literal["message", "diary"]
LABEL = "MUST_SEE"


def model_text(text: str, audience: str, kind: str) -> str:
    """The model's input: the lower-cased text after two marker words for audience and kind."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return f"zzaud{audience} zzkind{kind} {text}"


def files_sha256(directory: Path) -> str:
    """One SHA-256 over every file of the model directory (relative path and bytes, sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_dir(spec: ReviewModelSpec) -> Path:
    """The packaged model directory named by the rule file."""
    return Path(str(resources.files("telespine.care").joinpath(f"data/{spec.directory}")))


@dataclass(frozen=True)
class ReviewModel:
    """A loaded review model and the settings it was checked against."""

    spec: ReviewModelSpec
    nlp: Any
    lock: threading.Lock

    @property
    def label(self) -> str:
        """What a screening records: the model's version and the first 12 hex of its hash."""
        return f"{self.spec.version}+{self.spec.sha256[:12]}"

    def probability(self, text: str, audience: str, kind: TextKind) -> float:
        """The model's probability that a clinician must see this text."""
        with self.lock:  # spaCy pipelines are not documented as thread-safe
            doc = self.nlp(model_text(text, audience, kind))
        return float(doc.cats[LABEL])


def load_review_model(spec: ReviewModelSpec) -> ReviewModel:
    """Load and check the packaged model; raises if its files are not the ones recorded."""
    import spacy

    running = metadata.version("spacy")
    if running.split(".")[:2] != spec.spacy_version.split(".")[:2]:
        # another spaCy may read the same weights differently: retrain (scripts/train_review_model.py)
        raise ValueError(f"review model made with spaCy {spec.spacy_version}, this is spaCy {running}")
    directory = model_dir(spec)
    found = files_sha256(directory)
    if found != spec.sha256:
        raise ValueError(f"review model files changed: sha256 {found[:12]}, rules say {spec.sha256[:12]}")
    nlp: Any = spacy.load(directory)
    if nlp.pipe_names != ["textcat_multilabel"] or LABEL not in nlp.get_pipe("textcat_multilabel").labels:
        raise ValueError("review model: expected one textcat_multilabel component with the label MUST_SEE")
    return ReviewModel(spec=spec, nlp=nlp, lock=threading.Lock())
