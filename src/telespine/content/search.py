"""Full-text search over the guides: an in-memory SQLite FTS5 index with porter stemming and bm25."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from telespine.triage.types import Audience

from .emergency import DEFAULT_EMERGENCY_NUMBER
from .loader import load_all
from .model import Guide
from .text import section_plain_text

HIGHLIGHT_START = "["
HIGHLIGHT_END = "]"


class SearchHit(BaseModel):
    """One matching guide section, best first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    condition: str
    audience: Audience
    section_id: str
    section_title: str
    snippet: str
    score: float  # higher is better (the negated bm25 rank)


def _terms(query: str) -> list[str]:
    """Split a user query into plain words; every other character is a separator."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in query.lower())
    return cleaned.split()


def build_index(guides: Iterable[Guide]) -> sqlite3.Connection:
    """An in-memory FTS5 table with one row per guide section."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE guide_fts USING fts5("
        "condition UNINDEXED, audience UNINDEXED, section_id UNINDEXED, title, body, "
        "tokenize='porter unicode61')"
    )
    rows = [
        (g.condition, g.audience, s.id, s.title, section_plain_text(g, s)) for g in guides for s in g.sections
    ]
    db.executemany("INSERT INTO guide_fts VALUES (?, ?, ?, ?, ?)", rows)
    return db


def _run(db: sqlite3.Connection, match: str, limit: int) -> list[SearchHit]:
    # Titles weigh more than bodies: a hit in "Red flags" outranks a passing mention.
    cur = db.execute(
        "SELECT condition, audience, section_id, title, "
        "snippet(guide_fts, 4, ?, ?, '...', 14), bm25(guide_fts, 3.0, 1.0) AS rank "
        "FROM guide_fts WHERE guide_fts MATCH ? ORDER BY rank LIMIT ?",
        (HIGHLIGHT_START, HIGHLIGHT_END, match, limit),
    )
    return [
        SearchHit(condition=c, audience=a, section_id=sid, section_title=title, snippet=snip, score=-rank)
        for c, a, sid, title, snip, rank in cur.fetchall()
    ]


def search_index(db: sqlite3.Connection, query: str, limit: int = 10) -> list[SearchHit]:
    """Ranked hits: all words must match; if nothing does, any word may."""
    terms = _terms(query)
    if not terms:
        return []
    # Each term is quoted so that FTS5 operators typed by a user (AND, NEAR, *) stay plain words.
    quoted = [f'"{t}"' for t in terms]
    hits = _run(db, " ".join(quoted), limit)
    if not hits and len(quoted) > 1:
        hits = _run(db, " OR ".join(quoted), limit)
    return hits


def search_guides(
    query: str,
    guides_dir: Path | None = None,
    limit: int = 10,
    audience: Audience | None = None,
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER,
    condition: str | None = None,
) -> list[SearchHit]:
    """Search every discovered guide, or only one audience's and/or one condition's; best hit first."""
    guides = [
        g
        for g in load_all(guides_dir, emergency_number)
        if (audience is None or g.audience == audience) and (condition is None or g.condition == condition)
    ]
    db = build_index(guides)
    try:
        return search_index(db, query, limit)
    finally:
        db.close()
